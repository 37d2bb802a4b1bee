-- grain: one row per directory identity (UPN): the AD user and its synced Entra ID user;
-- Entra's latest successful sign-in is the later of signInActivity and the sign-in log
-- A user listed twice (two exports that overlap) is read from the row that grants access
-- (enabled, not expired) when the rows disagree, so the access stays in the review;
-- review_notes lists the disagreement. The latest logon either row records counts.
-- key: upn
with ad as (
    select
        a.* replace (max(a.last_logon_at) over (partition by a.upn) as last_logon_at),
    from stg_directory_accounts as a
    qualify row_number() over (
        partition by a.upn
        order by coalesce(a.enabled and not a.expired, false) desc, a.source_file,
            a.source_line
    ) = 1
),

entra as (
    select
        * replace (max(last_successful_sign_in_at) over (partition by upn)
                   as last_successful_sign_in_at),
    from stg_entra_users
    qualify row_number() over (
        partition by upn order by coalesce(enabled, false) desc, source_file, source_line
    ) = 1
),

joined as (
    select
        -- ids
        coalesce(ad.upn, entra.upn) as upn,
        coalesce(ad.lan_id, entra.lan_id) as lan_id,
        coalesce(ad.mail, entra.mail) as mail,
        coalesce(ad.display_name, entra.display_name) as display_name,
        ad.department as department,
        -- flags
        ad.upn is not null as in_active_directory,
        entra.upn is not null as in_entra,
        ad.enabled as ad_enabled,
        entra.enabled as entra_enabled,
        coalesce(ad.expired, false) as ad_expired,
        case
            when ad.upn is not null
                then ad.enabled and not ad.expired
            else entra.enabled
        end as enabled,
        -- dates
        coalesce(ad.created_at, entra.created_at) as created_at,
        ad.last_logon_at as ad_last_logon_at,
        greatest(entra.last_successful_sign_in_at, log.last_success_at) as entra_last_success_at,
        log.last_success_at as sign_in_log_last_success_at,
    from ad
    full outer join entra on ad.upn = entra.upn
    left join int_last_successful_events as log
        on log.source = 'entra_sign_in_log' and log.user_name = coalesce(ad.upn, entra.upn)
)

select * from joined
