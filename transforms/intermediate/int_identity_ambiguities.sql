-- grain: one row per account whose identity evidence points at more than one person; such
-- accounts are neither matched nor reported as orphans: a person must decide
-- key: account_kind, account, application?
with directory as (
    select
        'directory' as account_kind,
        c.upn as account,
        null as application,
        string_agg(c.email || ' (' || c.match_method || ')', '; ' order by c.email)
            as evidence,
    from int_identity_candidates as c
    group by c.upn
    having count(distinct c.email) > 1
),

applications as (
    select
        'application' as account_kind,
        a.username as account,
        a.application,
        printf('username resolves to directory identity %s; email %s is another enrolled '
               'member', coalesce(a.upn, a.username), a.email) as evidence,
    from int_application_accounts as a
    where a.match_method = 'ambiguous'
)

select * from directory
union all
select * from applications
