-- grain: one submission (request number and submission time) that ServiceNow closed without
-- fulfilling it: rejected, cancelled, closed incomplete or skipped. A closed state is final,
-- so an export that shows it closed decides, whatever an earlier export of it said; the
-- other staging models of the enrollment leave such a submission out (it took no effect)
-- key: request_number, submitted_at
-- materialized: view
with source as (
    select * from raw_enrollment_submissions
),

closed as (
    select
        upper(trim(request_number)) as request_number,
        request_type,
        upper(trim(group_request_number)) as group_request_number,
        submitted_at,
        closed_as,
        source_file,
        source_line,
    from source
    where closed_as in (select closed_as from servicenow_closed_as)
    -- the first export that says so
    qualify row_number() over (
        partition by upper(trim(request_number)), submitted_at
        order by source_file, source_line
    ) = 1
)

select * from closed
