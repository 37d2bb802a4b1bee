-- rule: DISABLED_WITH_ACCESS
-- grain: one row per active member x active application account while every directory
-- account of the member is disabled or expired
-- key: rule, request_number?, email?, application?
with entitlements as (
    select * from int_entitlements
    where member_status = 'active' and account_active
        and has_directory_account and not has_enabled_account
)

select
    'DISABLED_WITH_ACCESS' as rule,
    e.request_number,
    e.email,
    e.application,
    e.person_name,
    e.usernames as lan_id,
    printf('Directory account disabled or expired; %s account still active', e.application)
        as detail,
from entitlements as e
