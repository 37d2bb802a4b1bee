-- grain: one row per ADT message, each message control id once (a resent message is the
-- same message), with the time the event happened (EVN-2, else MSH-7). PHI.
-- key: source_file, source_line
with source as (
    select * from raw_adt_events
),

deduplicated as (
    select *
    from source
    qualify row_number() over (
        partition by message_control_id order by message_at, source_file, source_line
    ) = 1
)

select
    -- ids
    message_control_id,
    fin,
    mrn,
    -- event
    event_type,
    coalesce(recorded_at, message_at) as event_at,
    message_at,
    -- patient
    patient_family_name,
    patient_given_name,
    birth_date,
    patient_phone,
    chief_complaint,
    -- care
    nullif(trim(pcp_npi), '') as pcp_npi,
    pcp_name,
    patient_class,
    unit,
    room,
    bed,
    facility,
    attending_name,
    admit_at,
    discharge_at,
    -- lineage
    source_file,
    source_line,
from deduplicated
