-- grain: one row per person named in a submission in effect (an addition, change or removal)
-- key: source_file, source_line, source_path, email?
-- materialized: view
with source as (
    select s.* from raw_enrollment_people as s
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
        lower(trim(email)) as email,
        -- ten digits however separated (`123-456-7893`), else as given for the check
        npi_digits(npi) as npi,
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
        -- contact: ten-digit North American numbers as NNN-NNN-NNNN (NULL when not one: the
        -- row was kept with a warning); an extension written after the number is the
        -- extension when the form's own field is empty
        phone as phone_as_entered,
        nanp_phone(phone) as phone,
        coalesce(nullif(trim(phone_extension), ''), phone_extension_part(phone))
            as phone_extension,
        -- lineage
        source_file,
        source_line,
        source_path,
    from source
)

select * from renamed
