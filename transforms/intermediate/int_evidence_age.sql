-- grain: one row: the latest sign-in among the inputs, anyone's (int_member_activity:
-- every source, AD's as recorded), how many days before the as-of date it is, and whether
-- that is more than `evidence_age_days`: exports taken long before the as-of date (or a
-- date mistyped), whose following days inactivity would count as days without use. No
-- row's date when the inputs hold no sign-in at all (review_notes: no sign-in evidence).
-- Also how far back the evidence reaches: the sign-in and access logs' first event (Entra
-- keeps 30 days; before it their silence says nothing), and whether any export gives a
-- last sign-in as an attribute (Entra signInActivity, AD lastLogonTimestamp, an
-- application list's last access), which covers an account's whole life.
-- key: as_of
select
    p.as_of,
    max(a.last_sign_in_at) as latest_sign_in_at,
    p.as_of - max(a.last_sign_in_at)::date as days_before_as_of,
    coalesce(p.as_of - max(a.last_sign_in_at)::date > p.evidence_age_days, false)
        as ends_early,
    (select min(occurred_at) from stg_sign_in_events) as logs_begin_at,
    exists (select 1 from stg_entra_users where last_successful_sign_in_at is not null)
        or exists (select 1 from stg_directory_accounts where last_logon_at is not null)
        or exists (select 1 from stg_application_accounts where last_access_at is not null)
        as attribute_reported,
from run_parameters as p
left join int_member_activity as a on true
group by p.as_of, p.evidence_age_days
