-- grain: one row per group x person x application currently requested
-- The latest submission that listed a person's applications states their full set; the
-- details of each are the latest that any submission gave.
-- key: request_number, email, application
with requests as (
    select * from stg_enrollment_app_requests
),

people_listings as (
    -- every submission that stated a person's applications (even an empty list)
    select group_request_number, email, request_number, submitted_at
    from stg_enrollment_people
    where action = 'add'
),

latest_listing as (
    select *
    from people_listings
    qualify row_number() over (
        partition by group_request_number, email order by submitted_at desc, request_number desc
    ) = 1
),

first_requests as (
    -- when each application was first asked for, and the latest form details given for it
    -- (a portal member list restates the applications but carries no details)
    select
        group_request_number,
        email,
        application,
        min(submitted_at) as first_requested_at,
        arg_min(request_number, strftime(submitted_at, '%Y-%m-%dT%H:%M:%S') || request_number)
            as first_requested_in,
        max_by(details, strftime(submitted_at, '%Y-%m-%dT%H:%M:%S') || request_number)
            filter (where details is not null and details::varchar <> '{}') as latest_details,
        -- R2W: the privacy-policy box as the latest form that stated it (checked or not)
        max_by((details ->> 'privacy_policy_accepted')::boolean,
               strftime(submitted_at, '%Y-%m-%dT%H:%M:%S') || request_number)
            filter (where details ->> 'privacy_policy_accepted' is not null)
            as privacy_policy_accepted,
    from requests
    group by all
),

latest_requests as (
    -- each application the latest listing names, once (its first line)
    select r.group_request_number, r.email, r.application, r.request_number, r.details
    from requests as r
    semi join latest_listing as l
        on r.group_request_number = l.group_request_number
        and r.email = l.email
        and r.request_number = l.request_number
    qualify row_number() over (
        partition by r.group_request_number, r.email, r.application order by r.source_line
    ) = 1
),

current_requests as (
    select
        r.group_request_number as request_number,
        r.email,
        r.application,
        r.request_number as requested_in,
        -- first asked for in any submission (a later restatement does not restart the clock)
        first.first_requested_at as requested_at,
        first.first_requested_in,
        coalesce(first.latest_details, r.details) as details,
        first.privacy_policy_accepted,
    from latest_requests as r
    inner join first_requests as first using (group_request_number, email, application)
)

select * from current_requests
