-- grain: one row per DocuSign DAA envelope
-- key: source_file, source_line
-- materialized: view
with source as (
    select * from raw_daa_envelopes
),

renamed as (
    select
        envelope_id,
        upper(trim(request_number)) as request_number,
        status,
        sent_at,
        completed_at,
        declined_at,
        voided_at,
        status_changed_at,
        source_file,
        source_line,
    from source
)

select * from renamed
