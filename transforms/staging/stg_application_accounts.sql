-- grain: one row per application account
-- key: source_file, source_line
-- materialized: view
with source as (
    select * from raw_application_accounts
),

renamed as (
    select
        application,
        lower(trim(username)) as username,
        -- the LAN ID of a down-level logon name (`CC\jdoe`: applications signing in with
        -- Windows accounts list users so); otherwise the username
        logon_lan_id(lower(trim(username))) as login_name,
        lower(trim(email)) as email,
        display_name,
        role,
        active,
        created_at,
        last_access_at,
        source_file,
        source_line,
    from source
)

select * from renamed
