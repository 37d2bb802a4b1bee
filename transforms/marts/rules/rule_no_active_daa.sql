-- rule: NO_ACTIVE_DAA
-- grain: one row per active member x application with an active account while the
-- group's DAA is not in force (never completed, declined, voided or lapsed)
-- key: rule, request_number?, email?, application?
with entitlements as (
    select * from int_entitlements
    where member_status = 'active' and account_active and not coalesce(daa_active, false)
)

select
    'NO_ACTIVE_DAA' as rule,
    e.request_number,
    e.email,
    e.application,
    e.person_name,
    e.usernames as lan_id,
    printf('Active %s account while the group''s DAA is %s', e.application, e.daa_state)
        as detail,
from entitlements as e
