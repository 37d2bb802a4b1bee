-- rule: DORMANT_ACCOUNT
-- grain: one row per active member with an enabled account whose latest successful sign-in
-- (any source; AD counted with its lag margin) is more than the dormancy threshold ago
-- key: rule, request_number?, email?, application?
with activity as (
    select * from int_member_activity where is_dormant
),

members as (
    select * from int_members where member_status = 'active'
)

select
    'DORMANT_ACCOUNT' as rule,
    m.request_number,
    m.email,
    null as application,
    m.person_name,
    a.lan_ids as lan_id,
    printf(
        'No successful sign-in for %d days (last %s, %s); threshold %d days',
        p.as_of - a.last_sign_in_at::date,
        strftime(a.last_sign_in_at, '%Y-%m-%d'),
        a.last_sign_in_source,
        p.dormancy_days
    ) as detail,
from activity as a
inner join members as m using (request_number, email)
cross join run_parameters as p
