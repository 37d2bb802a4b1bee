-- grain: one row per directory identity x member it belongs to, with how it was matched
-- Matched by the directory mail attribute against the enrolled email, else by the UPN
-- against it (a returning user enrolled with their UPN); case- and whitespace-insensitive.
-- Members include removed ones: their accounts are not orphans.
with identities as (
    select * from int_directory_identities
),

members as (
    select * from int_members
),

by_mail as (
    select
        i.upn,
        m.request_number,
        m.email,
        'mail = enrolled email' as match_method,
    from identities as i
    inner join members as m on i.mail = m.email
),

by_upn as (
    select
        i.upn,
        m.request_number,
        m.email,
        'UPN = enrolled email' as match_method,
    from identities as i
    inner join members as m on i.upn = m.email
    where i.upn not in (select upn from by_mail)
)

select * from by_mail
union all
select * from by_upn
