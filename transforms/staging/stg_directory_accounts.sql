-- grain: one row per Active Directory user
-- key: source_file, source_line
-- materialized: view
with source as (
    select * from raw_directory_accounts
),

renamed as (
    select
        -- ids
        lower(trim(sam_account_name)) as lan_id,
        -- the account's key: its UPN, or (none, or one that is not an address) the
        -- implicit UPN Windows accepts at sign-in, LAN ID@its DN's domain
        lower(coalesce(
            case when valid_email(user_principal_name) then trim(user_principal_name) end,
            implicit_upn(sam_account_name, distinguished_name)
        )) as upn,
        lower(trim(mail)) as mail,
        upper(trim(department)) as department,
        -- person
        given_name,
        surname,
        display_name,
        company,
        -- flags
        enabled,
        account_expires_at,
        -- accountExpires reached when the review date began on the hospital's clock (as a
        -- DAA lapses at the start of its lapse date): the account grants no access
        coalesce(account_expires_at <= (select as_of_start_ts from run_parameters), false)
            as expired,
        -- dates
        created_at,
        last_logon_at,
        password_last_set_at,
        -- lineage
        source_file,
        source_line,
    from source
)

select * from renamed
