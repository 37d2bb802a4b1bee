-- rule: NOT_REQUESTED
-- grain: one row per active member x application with an active account but no request
-- key: rule, request_number?, email?, application?
with entitlements as (
    select * from int_entitlements
    where member_status = 'active' and account_active and not is_requested
)

select
    'NOT_REQUESTED' as rule,
    e.request_number,
    e.email,
    e.application,
    e.person_name,
    e.usernames as lan_id,
    printf('Active %s account (%s) with no request for it', e.application, e.usernames)
        as detail,
from entitlements as e
