-- grain: one row per member with at least one directory identity or application account:
-- sign-in evidence across sources, and whether the member is dormant or never signed in
-- AD lastLogonTimestamp lags by up to the configured margin, so for judging inactivity it
-- counts as that many days later than recorded (AD evidence alone never makes an account
-- dormant inside the margin). A run none of whose inputs holds a single sign-in (no sign-in
-- or access log, Graph users without signInActivity, AD exports without lastLogonTimestamp,
-- application lists without last access) cannot tell an unused account from an unseen one:
-- nobody is judged never signed in (review_notes says why).
-- key: request_number, email
with identities as (
    select im.request_number, im.email, i.*
    from int_identity_matches as im
    inner join int_directory_identities as i using (upn)
),

apps as (
    select request_number, member_email as email, last_access_at, active
    from int_application_accounts
    where member_email is not null
),

per_member as (
    select request_number, email from identities
    union
    select request_number, email from apps
),

directory as (
    select
        request_number,
        email,
        bool_or(enabled) as has_enabled_account,
        count(*) as directory_accounts,
        max(entra_last_success_at) as entra_last_at,
        max(ad_last_logon_at) as ad_last_at,
        min(created_at) filter (where enabled) as account_created_at,
        string_agg(distinct lan_id, ', ' order by lan_id) as lan_ids,
    from identities
    group by all
),

app_use as (
    select request_number, email, max(last_access_at) as app_last_at
    from apps
    group by all
),

combined as (
    select
        pm.request_number,
        pm.email,
        coalesce(d.has_enabled_account, false) as has_enabled_account,
        d.directory_accounts is not null as has_directory_account,
        d.account_created_at,
        d.lan_ids,
        d.entra_last_at,
        d.ad_last_at,
        a.app_last_at,
        greatest(d.entra_last_at, d.ad_last_at, a.app_last_at) as last_sign_in_at,
        case greatest(d.entra_last_at, d.ad_last_at, a.app_last_at)
            when d.entra_last_at then 'Entra ID'
            when a.app_last_at then 'application'
            when d.ad_last_at then 'Active Directory'
        end as last_sign_in_source,
        greatest(
            d.entra_last_at::date,
            a.app_last_at::date,
            d.ad_last_at::date + p.ad_lastlogon_lag_days
        ) as inactivity_evidence_date,
    from per_member as pm
    left join directory as d using (request_number, email)
    left join app_use as a using (request_number, email)
    cross join run_parameters as p
),

evidence as (
    -- whether any account has any sign-in evidence at all
    select bool_or(last_sign_in_at is not null) as any_sign_in from combined
),

flagged as (
    select
        c.*,
        c.has_enabled_account
            and c.inactivity_evidence_date is not null
            and p.as_of - c.inactivity_evidence_date > p.dormancy_days as is_dormant,
        c.has_enabled_account
            and c.last_sign_in_at is null
            and coalesce(e.any_sign_in, false)
            -- no export gives the creation date (an AD export without whenCreated, Graph
            -- pages without createdDateTime): judged past the grace period, and the finding
            -- says the date is unknown; leaving it out hid every never-used account
            and coalesce(p.as_of - c.account_created_at::date
                         > p.never_signed_in_grace_days, true)
            as is_never_signed_in,
    from combined as c
    cross join run_parameters as p
    cross join evidence as e
)

select * from flagged
