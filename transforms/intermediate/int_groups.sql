-- grain: one row per enrolled group (its registration request number)
-- key: request_number
with registrations as (
    select * from stg_enrollment_submissions
    where request_type = 'new_group'
),

latest as (
    select
        group_request_number as request_number,
        group_name,
        has_corporate_rep,
        corporate_rep_name,
        corporate_rep_email,
        submitted_at as registered_at,
    from registrations
    qualify row_number() over (
        partition by group_request_number order by submitted_at desc, request_number desc
    ) = 1
)

select * from latest
