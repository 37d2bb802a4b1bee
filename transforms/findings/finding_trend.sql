-- grain: one row per recorded run (earlier ones and this one) and rule with open findings
-- key: as_of, rule
select as_of, rule, open_findings from history_finding_counts
union all
select p.as_of, f.rule, count(*)::integer as open_findings
from findings as f
cross join run_parameters as p
group by all
order by as_of, rule
