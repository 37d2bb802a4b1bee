-- grain: one row per person named in a submission (an addition, change or removal)
-- key: source_file, source_line, source_path, email?
-- materialized: view
with source as (
    select * from raw_enrollment_people
),

renamed as (
    select
        -- ids
        upper(trim(request_number)) as request_number,
        upper(trim(group_request_number)) as group_request_number,
        lower(trim(email)) as email,
        trim(npi) as npi,
        -- event
        request_type,
        action,
        form_section,
        is_group_admin,
        -- a portal member list is undated: it states the membership as of the review
        coalesce(submitted_at, (select as_of_ts from run_parameters)) as submitted_at,
        -- person
        trim(first_name) as first_name,
        nullif(trim(middle_initial), '') as middle_initial,
        no_middle_initial,
        trim(last_name) as last_name,
        trim(staff_type) as staff_type,
        trim(suffix) as suffix,
        trim(title) as title,
        trim(specialty) as specialty,
        upper(trim(licensed_state)) as licensed_state,
        trim(state_license_number) as state_license_number,
        -- contact: ten-digit North American numbers as NNN-NNN-NNNN
        phone as phone_as_entered,
        case
            when length(regexp_replace(phone, '\D', '', 'g')) = 10
                then regexp_replace(regexp_replace(phone, '\D', '', 'g'),
                                    '^(\d{3})(\d{3})(\d{4})$', '\1-\2-\3')
            when regexp_full_match(regexp_replace(phone, '\D', '', 'g'), '1\d{10}')
                then regexp_replace(regexp_replace(phone, '\D', '', 'g'),
                                    '^1(\d{3})(\d{3})(\d{4})$', '\1-\2-\3')
        end as phone,
        phone_extension,
        -- lineage
        source_file,
        source_line,
        source_path,
    from source
)

select * from renamed
