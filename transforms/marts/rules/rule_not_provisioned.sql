-- rule: NOT_PROVISIONED
-- grain: one row per active member x requested application with no active account, more
-- than the provisioning window after both the request and the group's first completed DAA
-- key: rule, request_number?, email?, application?
with entitlements as (
    select * from int_entitlements
    where member_status = 'active' and is_requested and not account_active and daa_active
),

overdue as (
    select
        e.*,
        greatest(e.requested_at::date, e.daa_first_completed_at::date) as due_from,
        p.as_of - greatest(e.requested_at::date, e.daa_first_completed_at::date)
            as days_waiting,
        p.provisioning_window_days,
    from entitlements as e
    cross join run_parameters as p
)

select
    'NOT_PROVISIONED' as rule,
    o.request_number,
    o.email,
    o.application,
    o.person_name,
    null as lan_id,
    -- the window starts at the later of the first request and the first DAA in force: name
    -- the request that asked first (a later restatement does not restart the clock)
    printf(
        'Requested in %s on %s, DAA in force since %s; no active %s account %d days later '
        || '(window %d days)',
        o.first_requested_in, strftime(o.requested_at, '%Y-%m-%d'),
        strftime(o.daa_first_completed_at, '%Y-%m-%d'), o.application, o.days_waiting,
        o.provisioning_window_days
    )
    -- a request the policy does not allow is still overdue, but is not to be provisioned
    || if(o.is_allowed, '', '; the policy does not allow it for this role (ROLE_NOT_ALLOWED): '
                            || 'close the request rather than provision it') as detail,
from overdue as o
where o.days_waiting > o.provisioning_window_days
