-- grain: one row per submission document (registration or change request) in effect: not
-- one ServiceNow closed unfulfilled (stg_enrollment_withdrawals)
-- key: source_file, source_line
-- materialized: view
with source as (
    select s.* from raw_enrollment_submissions as s
    -- a submission ServiceNow closed unfulfilled took no effect (listed in review_notes)
    anti join stg_enrollment_withdrawals as w
        on w.request_number = upper(trim(s.request_number))
        and w.submitted_at = s.submitted_at
),

renamed as (
    select
        -- ids
        upper(trim(request_number)) as request_number,
        upper(trim(group_request_number)) as group_request_number,
        request_type,
        -- group
        trim(group_name) as group_name,
        practice_fax,
        upper(trim(corporate_rep_answer)) = 'YES' as has_corporate_rep,
        trim(corporate_rep_name) as corporate_rep_name,
        -- an address that is none was kept with a warning: no email (GROUP_ROLES_INVALID)
        case when valid_email(corporate_rep_email) then lower(trim(corporate_rep_email)) end
            as corporate_rep_email,
        r2w_privacy_accepted,
        -- dates
        submitted_at,
        -- lineage
        source_file,
        source_line,
    from source
)

select * from renamed
