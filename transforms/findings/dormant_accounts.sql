-- grain: one row per account support must act on: a member's directory account (their
-- enabled one first) concerned by DORMANT_ACCOUNT, NEVER_SIGNED_IN, DISABLED_WITH_ACCESS,
-- REMOVED_MEMBER_ACTIVE or APP_UNUSED, or an orphan account (ORPHAN_ACCOUNT); after
-- approved exceptions
-- key: request_number, email, lan_id?, upn?, applications_held?
with support as (
    select * from findings
    where rule in (select rule from findings_catalog where support_desk = 'yes')
),

people as (
    select
        request_number,
        email,
        list(distinct rule order by rule) as rules,
        string_agg(distinct nullif(application, ''), ', ' order by nullif(application, ''))
            filter (where rule in ('DISABLED_WITH_ACCESS', 'APP_UNUSED',
                                   'REMOVED_MEMBER_ACTIVE')) as apps_to_remove,
    from support
    where rule <> 'ORPHAN_ACCOUNT'
    group by all
),

primary_identity as (
    select im.request_number, im.email, i.*
    from int_identity_matches as im
    inner join int_directory_identities as i using (upn)
    qualify row_number() over (
        partition by im.request_number, im.email order by i.enabled desc, i.created_at, i.upn
    ) = 1
),

held as (
    select request_number, email,
           string_agg(application, ', ' order by application) as applications_held,
    from int_entitlements
    where account_active
    group by all
),

person_rows as (
    select
        p.request_number,
        p.email,
        coalesce(i.lan_id, act.lan_ids) as lan_id,
        i.upn,
        m.person_name,
        m.staff_type,
        act.last_sign_in_at,
        act.last_sign_in_source,
        i.created_at,
        i.enabled,
        h.applications_held,
        p.rules,
        p.apps_to_remove,
    from people as p
    inner join int_members as m using (request_number, email)
    left join primary_identity as i using (request_number, email)
    left join int_member_activity as act using (request_number, email)
    left join held as h using (request_number, email)
),

orphan_rows as (
    select
        '' as request_number,
        f.email,
        coalesce(i.lan_id, a.username) as lan_id,
        i.upn,
        f.person_name,
        null as staff_type,
        coalesce(i.entra_last_success_at, i.ad_last_logon_at, a.last_access_at)
            as last_sign_in_at,
        case
            when i.entra_last_success_at is not null then 'Entra ID'
            when i.ad_last_logon_at is not null then 'Active Directory'
            when a.last_access_at is not null then 'application'
        end as last_sign_in_source,
        coalesce(i.created_at, a.created_at) as created_at,
        coalesce(i.enabled, a.active) as enabled,
        coalesce(a.application, '') as applications_held,
        ['ORPHAN_ACCOUNT'] as rules,
        a.application as apps_to_remove,
    from support as f
    left join int_directory_identities as i
        on f.application = '' and coalesce(i.mail, i.upn) = f.email and i.enabled
        -- a second account under the address: its own (the first is the first by UPN)
        and (f.key_part is null or i.upn = f.key_part)
    left join int_application_accounts as a
        on f.application <> '' and a.application = f.application
        and coalesce(a.email, a.username) = f.email and a.match_method = 'unmatched'
    where f.rule = 'ORPHAN_ACCOUNT'
    -- one row per finding, whichever export (or username) the account came in
    qualify row_number() over (
        partition by f.finding_key order by i.upn, a.username, a.source_file, a.source_line
    ) = 1
),

combined as (
    select * from person_rows
    union all
    select * from orphan_rows
)

select
    -- account
    c.lan_id,
    c.upn,
    c.person_name,
    c.email,
    c.request_number,
    coalesce(g.group_name, '') as group_name,
    c.staff_type,
    -- activity
    c.last_sign_in_at,
    c.last_sign_in_source,
    -- (a UTC date: evidence from the as-of date's evening on the hospital's clock, which
    -- the run counts, falls on the next one: 0 days, not -1); empty without any sign-in
    -- (greatest() skips a null: such an account, never used, was listed as 0 days)
    case when c.last_sign_in_at is not null
        then greatest(p.as_of - c.last_sign_in_at::date, 0) end as days_inactive,
    c.created_at,
    c.enabled,
    c.applications_held,
    -- contact
    g.admin_name,
    g.admin_email,
    g.admin_phone,
    -- what to do
    array_to_string(c.rules, ', ') as rules,
    case
        when list_contains(c.rules, 'ORPHAN_ACCOUNT')
            or list_contains(c.rules, 'REMOVED_MEMBER_ACTIVE')
            then 'Disable the account' || coalesce(' and remove ' || c.apps_to_remove, '')
        when list_contains(c.rules, 'DORMANT_ACCOUNT')
            or list_contains(c.rules, 'NEVER_SIGNED_IN')
            then 'Disable the account, or confirm continued need with the Group Administrator'
        when list_contains(c.rules, 'DISABLED_WITH_ACCESS')
            then 'Remove the application access: ' || c.apps_to_remove
        else 'Remove the unused entitlement: ' || c.apps_to_remove
    end as recommended_action,
from combined as c
left join group_admin_contacts as g using (request_number)
cross join run_parameters as p
order by c.request_number, c.person_name, c.lan_id
