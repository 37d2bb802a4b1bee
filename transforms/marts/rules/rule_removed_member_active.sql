-- rule: REMOVED_MEMBER_ACTIVE
-- grain: one row per removed member x where access remains: the enabled directory account
-- (application empty) and each active application account. A person removed from one
-- group but still an active member of another keeps their access legitimately.
-- key: rule, request_number?, email?, application?
with removed as (
    select m.*
    from int_members as m
    where m.member_status = 'removed'
        -- (a null in a NOT IN list makes it null for every row: this rule would say nothing)
        and m.email not in (select email from int_members
                            where member_status = 'active' and email is not null)
),

directory as (
    select
        r.request_number,
        r.email,
        null as application,
        r.person_name,
        a.lan_ids as lan_id,
        printf('Removed in %s on %s; directory account still enabled',
               r.removed_in_request, strftime(r.removed_at, '%Y-%m-%d')) as detail,
    from removed as r
    inner join int_member_activity as a using (request_number, email)
    where a.has_enabled_account
),

applications as (
    select
        r.request_number,
        r.email,
        e.application,
        r.person_name,
        e.usernames as lan_id,
        printf('Removed in %s on %s; %s account still active',
               r.removed_in_request, strftime(r.removed_at, '%Y-%m-%d'), e.application)
            as detail,
    from removed as r
    inner join int_entitlements as e using (request_number, email)
    where e.account_active
)

select 'REMOVED_MEMBER_ACTIVE' as rule, * from directory
union all
select 'REMOVED_MEMBER_ACTIVE' as rule, * from applications
