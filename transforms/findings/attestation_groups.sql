-- grain: one row per group with rows to attest: who its workbook goes to and how many rows
-- it asks about (all, and those of high severity that need a decision)
-- key: request_number
select
    g.request_number,
    g.group_name,
    g.admin_name,
    g.admin_email,
    g.sponsor,
    g.sponsor_email,
    count(*) as rows,
    count(*) filter (where e.highest_severity = 'high') as rows_needing_decision,
from entitlement_review as e
inner join group_overview as g using (request_number)
group by all
order by g.request_number
