-- grain: one row per group of the latest attestation period before this review (this
-- review's own groups when it is the first): what `ccreview attest` recorded for it, else
-- overdue once past its due date, else not returned
-- key: request_number
with this_period as (
    select g.request_number, p.as_of, p.as_of + p.attestation_due_days as due_on
    from attestation_groups as g
    cross join run_parameters as p
),

period as (
    select as_of, request_number, due_on from history_attestation_groups
    union all
    select as_of, request_number, due_on from this_period
    where not exists (select 1 from history_attestation_groups)
)

select
    g.request_number,
    g.as_of as attestation_of,
    g.due_on as attestation_due,
    coalesce(s.status,
             case when p.as_of > g.due_on then 'overdue' else 'not returned' end)
        as attestation_status,
from period as g
cross join run_parameters as p
left join history_attestation_status as s
    on s.as_of = g.as_of and s.request_number = g.request_number
order by g.request_number
