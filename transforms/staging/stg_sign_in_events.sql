-- grain: one row per sign-in (Entra sign-in log) or application access event
-- key: source_file, source_line
-- materialized: view
with source as (
    select * from raw_sign_in_events
),

renamed as (
    select
        lower(trim("user")) as user_name,
        application,
        occurred_at,
        success,
        source,
        source_file,
        source_line,
    from source
)

select * from renamed
