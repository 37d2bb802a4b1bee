-- grain: one row per signer (recipient) of a DocuSign DAA envelope
-- (a signer's place in the envelope; rows an evidence store kept from before it was recorded
-- have none, and are one per signer and role, as they were then)
-- key: source_file, source_line, source_path?, email?, role_name?
-- materialized: view
with source as (
    select * from raw_daa_recipients
),

renamed as (
    select
        envelope_id,
        upper(trim(request_number)) as request_number,
        -- the party the signer stands for, from DocuSign's template role name
        case
            when lower(role_name) like '%sponsor%' then 'Sponsoring Physician'
            when lower(role_name) like '%admin%' then 'Group Administrator'
            when lower(role_name) like '%corporate%' or lower(role_name) like '%legal%'
                then 'Corporate/Legal Representative'
        end as party,
        role_name,
        lower(trim(email)) as email,
        lower(trim(status)) as status,
        signed_at,
        -- DocuSign marks a signer who signed `completed` (`signed` in older accounts)
        coalesce(lower(trim(status)) in ('completed', 'signed'),
                 signed_at is not null) as has_signed,
        source_file,
        source_line,
        source_path,
    from source
)

select * from renamed
