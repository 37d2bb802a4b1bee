-- rule: ROLE_NOT_ALLOWED
-- grain: one row per active member x application held or requested that the policy table
-- does not allow for the member's staff type and suffix class
-- key: rule, request_number?, email?, application?
with entitlements as (
    select * from int_entitlements
    where member_status = 'active' and (is_requested or account_active)
),

violations as (
    select
        'ROLE_NOT_ALLOWED' as rule,
        e.request_number,
        e.email,
        e.application,
        e.person_name,
        act.lan_ids as lan_id,
        printf(
            '%s with a %s suffix (%s) may not have %s; %s',
            e.staff_type, e.suffix_class, e.suffix, e.application,
            case
                when e.account_active and e.is_requested then 'requested and held'
                when e.account_active then 'held'
                else 'requested'
            end
        ) as detail,
    from entitlements as e
    left join int_member_activity as act using (request_number, email)
    where not e.is_allowed
)

select * from violations
