-- a finding with a request number names an enrolled group; one without names an account
select f.*
from findings as f
where
    (f.request_number <> '' and f.request_number not in (select request_number from int_groups))
    or (
        f.request_number = ''
        and f.email not in (select coalesce(mail, upn) from int_directory_identities)
        and f.email not in (select coalesce(email, username) from stg_application_accounts)
    )
