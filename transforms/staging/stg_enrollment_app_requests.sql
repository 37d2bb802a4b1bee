-- grain: one row per person x application requested in a submission
-- key: source_file, source_line, email?, application?
-- materialized: view
with source as (
    select * from raw_enrollment_app_requests
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
