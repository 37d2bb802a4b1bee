-- rule: DAA_RENEWAL_DUE
-- grain: one row per group whose DAA is in force but lapses within the notice window
-- key: rule, request_number?, email?, application?
with daa as (
    select d.*, p.as_of, p.daa_notice_days
    from int_group_daa as d
    cross join run_parameters as p
    where d.daa_active
)

select
    'DAA_RENEWAL_DUE' as rule,
    request_number,
    null as email,
    null as application,
    null as person_name,
    null as lan_id,
    printf(
        'DAA signed %s lapses on %s, in %d days (notice %d days); latest envelope %s',
        strftime(last_completed_at, '%Y-%m-%d'), strftime(lapses_on, '%Y-%m-%d'),
        lapses_on - as_of, daa_notice_days, latest_envelope_status
    ) as detail,
from daa
where lapses_on - as_of <= daa_notice_days
