-- grain: one row: the latest sign-in among the inputs, anyone's (int_member_activity:
-- every source, AD's as recorded), how many days before the as-of date it is, and whether
-- that is more than `evidence_age_days`: exports taken long before the as-of date (or a
-- date mistyped), whose following days inactivity would count as days without use. No
-- row's date when the inputs hold no sign-in at all (review_notes: no sign-in evidence).
-- key: as_of
select
    p.as_of,
    max(a.last_sign_in_at) as latest_sign_in_at,
    p.as_of - max(a.last_sign_in_at)::date as days_before_as_of,
    coalesce(p.as_of - max(a.last_sign_in_at)::date > p.evidence_age_days, false)
        as ends_early,
from run_parameters as p
left join int_member_activity as a on true
group by p.as_of, p.evidence_age_days
