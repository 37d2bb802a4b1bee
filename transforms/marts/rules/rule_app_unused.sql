-- rule: APP_UNUSED
-- grain: one row per active member x active application account not used (or, never
-- used, created) more than the threshold ago, while the member signs in (not dormant), of
-- an application whose use some source reports
-- key: rule, request_number?, email?, application?
with usage_reported as (
    -- applications a user list with last access or an access log reports the use of, for
    -- any of their accounts: of another, no account is known unused, only unreported (a
    -- list exported without its last access column made every account "never used";
    -- review_notes lists such an application)
    select distinct application from int_application_accounts
    where last_access_at is not null
),

entitlements as (
    select e.*
    from int_entitlements as e
    inner join int_member_activity as a using (request_number, email)
    where e.member_status = 'active' and e.account_active and e.has_enabled_account
        and a.last_sign_in_at is not null and not a.is_dormant
        and e.application in (select application from usage_reported)
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
