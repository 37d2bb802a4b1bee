-- rule: APP_DETAILS_MISSING
-- grain: one row per active member x requested QVENTUS or R2W whose form details are
-- incomplete: Qventus role or facility; R2W fax, lab facility, alert delivery method,
-- recipient or the privacy-policy box (unchecked, or never stated, is not accepted)
-- key: rule, request_number?, email?, application?
with requests as (
    select * from int_entitlements
    where member_status = 'active' and is_requested and application in ('QVENTUS', 'R2W')
),

checked as (
    select
        r.*,
        case r.application
            when 'QVENTUS' then list_filter([
                case when coalesce(trim(r.details ->> 'role'), '') = ''
                    then 'no Qventus role' end,
                case when coalesce(json_array_length(r.details -> 'facilities'), 0) = 0
                    then 'no facility where surgeries are scheduled' end
            ], lambda x: x is not null)
            else list_filter([
                case when coalesce(trim(r.details ->> 'fax_number'), '') = ''
                    then 'no practice fax number'
                when nanp_phone(r.details ->> 'fax_number') is null
                    then 'the practice fax number is not a ten-digit North American number'
                end,
                case when coalesce(json_array_length(r.details -> 'lab_facilities'), 0) = 0
                    then 'no lab facility' end,
                case when len(coalesce(map_values(json_transform(
                        r.details -> 'alerts', '"MAP(VARCHAR, VARCHAR)"')), [])) = 0
                    then 'no alert chosen'
                when not list_bool_and(list_transform(
                        map_values(json_transform(r.details -> 'alerts',
                                                  '"MAP(VARCHAR, VARCHAR)"')),
                        lambda m: delivery_method(m) is not null))
                    then 'an alert without a delivery method (fax, email or both)' end,
                case when coalesce(json_array_length(r.details -> 'recipients'), 0) = 0
                    then 'no recipient chosen' end,
                case when not coalesce(r.privacy_policy_accepted, false)
                    then 'privacy policy box not checked' end
            ], lambda x: x is not null)
        end as problems,
    from requests as r
)

select
    'APP_DETAILS_MISSING' as rule,
    c.request_number,
    c.email,
    c.application,
    c.person_name,
    c.usernames as lan_id,
    printf('%s requested in %s: %s', c.application, c.requested_in,
           array_to_string(c.problems, '; ')) as detail,
from checked as c
where len(c.problems) > 0
