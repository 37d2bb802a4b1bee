-- rule: APP_UNUSED
-- grain: one row per active member x active application account not used (or, never
-- used, created) more than the threshold ago, while the member signs in (not dormant)
-- key: rule, request_number?, email?, application?
with entitlements as (
    select e.*
    from int_entitlements as e
    inner join int_member_activity as a using (request_number, email)
    where e.member_status = 'active' and e.account_active and e.has_enabled_account
        and a.last_sign_in_at is not null and not a.is_dormant
),

unused as (
    select
        e.*,
        p.as_of - coalesce(e.last_access_at, e.account_created_at)::date as days_unused,
        p.app_unused_days,
    from entitlements as e
    cross join run_parameters as p
)

select
    'APP_UNUSED' as rule,
    u.request_number,
    u.email,
    u.application,
    u.person_name,
    u.usernames as lan_id,
    case
        when u.last_access_at is null then printf(
            '%s account created %d days ago, never used; threshold %d days',
            u.application, u.days_unused, u.app_unused_days)
        else printf('%s last used %s, %d days ago; threshold %d days',
            u.application, strftime(u.last_access_at, '%Y-%m-%d'), u.days_unused,
            u.app_unused_days)
    end as detail,
from unused as u
where u.days_unused > u.app_unused_days
