-- no directory identity is both matched to a member and reported as an orphan
select i.upn
from int_directory_identities as i
inner join int_identity_matches as m using (upn)
inner join findings as f
    on f.rule = 'ORPHAN_ACCOUNT' and f.application = '' and f.email = coalesce(i.mail, i.upn)
