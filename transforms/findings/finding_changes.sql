-- grain: one row per finding of this run or of the previous run (the latest recorded
-- as-of before this one), with whether it is new, still open or resolved since then
-- key: finding_key
select
    coalesce(n.finding_key, b.finding_key) as finding_key,
    coalesce(n.rule, b.rule) as rule,
    coalesce(n.severity, b.severity) as severity,
    coalesce(n.request_number, b.request_number) as request_number,
    coalesce(n.email, b.email) as email,
    coalesce(n.application, b.application) as application,
    case
        when b.finding_key is null then 'new'
        when n.finding_key is null then 'resolved'
        else 'still open'
    end as status,
from findings as n
full outer join history_previous_findings as b using (finding_key)
