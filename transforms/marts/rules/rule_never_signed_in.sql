-- rule: NEVER_SIGNED_IN
-- grain: one row per active member with an enabled account never used by any source,
-- created more than the grace period ago, or on a date no export gives
-- key: rule, request_number?, email?, application?
with activity as (
    select * from int_member_activity where is_never_signed_in
),

members as (
    select * from int_members where member_status = 'active'
)

select
    'NEVER_SIGNED_IN' as rule,
    m.request_number,
    m.email,
    null as application,
    m.person_name,
    a.lan_ids as lan_id,
    case
        -- the logs are the only evidence and begin after the account was made: a sign-in
        -- before them would not show (Entra keeps 30 days of them)
        when not x.attribute_reported and a.account_created_at < x.logs_begin_at
            then printf('Account created %s (%d days ago); no sign-in in the sign-in and '
                        'access logs, which begin %s and are the only evidence (an earlier '
                        'sign-in would not show); grace %d days',
                        strftime(a.account_created_at, '%Y-%m-%d'),
                        p.as_of - a.account_created_at::date,
                        strftime(x.logs_begin_at, '%Y-%m-%d'), p.never_signed_in_grace_days)
        else coalesce(printf(
            'Account created %s (%d days ago), never signed in; grace %d days',
            strftime(a.account_created_at, '%Y-%m-%d'),
            p.as_of - a.account_created_at::date,
            p.never_signed_in_grace_days
        ), printf('Account creation date unknown (no directory export gives it), never '
                  'signed in; grace %d days not checked', p.never_signed_in_grace_days))
    end as detail,
from activity as a
inner join members as m using (request_number, email)
cross join run_parameters as p
cross join int_evidence_age as x
