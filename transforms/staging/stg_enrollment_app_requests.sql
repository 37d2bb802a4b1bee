-- grain: one row per person x application requested in a submission in effect
-- key: source_file, source_line, email?, application?
-- materialized: view
with source as (
    select s.* from raw_enrollment_app_requests as s
    -- a submission ServiceNow closed unfulfilled took no effect (listed in review_notes)
    anti join stg_enrollment_withdrawals as w
        on w.request_number = upper(trim(s.request_number))
        and w.submitted_at = s.submitted_at
),

renamed as (
    select
        upper(trim(request_number)) as request_number,
        upper(trim(group_request_number)) as group_request_number,
        lower(trim(email)) as email,
        application,
        request_type,
        -- a portal member list is undated: it states the membership as of the review
        coalesce(submitted_at, (select as_of_ts from run_parameters)) as submitted_at,
        details,
        source_file,
        source_line,
    from source
)

select * from renamed
