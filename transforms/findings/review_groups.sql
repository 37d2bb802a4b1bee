-- grain: one row per group in the overview, with the attestation status of its latest
-- earlier review (the Groups sheet of the access review)
-- key: request_number
select
    g.*,
    s.attestation_of,
    s.attestation_due,
    s.attestation_status,
from group_overview as g
left join group_review_status as s using (request_number)
order by g.request_number
