-- grain: one row per directory identity x enrolled email it could belong to, with the
-- evidence: the directory mail attribute, or the UPN, equal to the enrolled email
-- (case- and whitespace-insensitive). Members include removed ones.
-- key: upn, email, match_method
with identities as (
    select * from int_directory_identities
),

emails as (
    select distinct email from int_members
),

candidates as (
    select i.upn, e.email, 'mail = enrolled email' as match_method
    from identities as i
    inner join emails as e on i.mail = e.email
    union all
    select i.upn, e.email, 'UPN = enrolled email'
    from identities as i
    inner join emails as e on i.upn = e.email
)

select
    upn,
    email,
    string_agg(match_method, ' and ' order by match_method desc) as match_method,
from candidates
group by all
