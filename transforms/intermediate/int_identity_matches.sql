-- grain: one row per directory identity x member (group, email) it belongs to, and how it
-- was matched. An identity whose evidence points at two different people (its mail at one,
-- its UPN at another) is not matched: it is listed in int_identity_ambiguities instead.
-- key: upn, request_number, email
with candidates as (
    select * from int_identity_candidates
),

unambiguous as (
    select upn
    from candidates
    group by upn
    having count(distinct email) = 1
)

select
    c.upn,
    m.request_number,
    m.email,
    c.match_method,
from candidates as c
inner join unambiguous using (upn)
inner join int_members as m using (email)
