-- grain: one row per Entra ID user
-- key: source_file, source_line
-- materialized: view
with source as (
    select * from raw_entra_users
),

renamed as (
    select
        -- ids
        object_id,
        lower(trim(user_principal_name)) as upn,
        lower(trim(mail)) as mail,
        lower(trim(on_premises_sam_account_name)) as lan_id,
        -- person
        given_name,
        surname,
        display_name,
        -- flags
        enabled,
        -- dates
        created_at,
        last_successful_sign_in_at,
        last_sign_in_at,
        -- lineage
        source_file,
        source_line,
    from source
)

select * from renamed
