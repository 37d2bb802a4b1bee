-- grain: one row per group x person x application that is requested or has an account:
-- the effective state as of the run (allowed, requested, provisioned, last used, DAA)
-- key: request_number, email, application
with members as (
    select * from int_members
),

requested as (
    select * from int_requested_applications
),

accounts as (
    select
        request_number,
        member_email as email,
        application,
        bool_or(active) as account_active,
        min(created_at) as account_created_at,
        max(last_access_at) as last_access_at,
        string_agg(distinct username, ', ' order by username) as usernames,
    from int_application_accounts
    where member_email is not null
    group by all
),

pairs as (
    select request_number, email, application from requested
    union
    select request_number, email, application from accounts
),

entitlements as (
    select
        -- ids
        pr.request_number,
        pr.email,
        pr.application,
        -- person
        m.person_name,
        m.staff_type,
        m.suffix,
        m.suffix_class,
        m.member_status,
        -- policy
        pol.application is not null as is_allowed,
        -- request
        r.application is not null as is_requested,
        r.requested_in,
        r.requested_at,
        r.first_requested_in,
        r.details,
        r.privacy_policy_accepted,
        -- provisioning
        a.application is not null as has_account,
        coalesce(a.account_active, false) as account_active,
        a.account_created_at,
        a.usernames,
        -- use
        a.last_access_at,
        -- directory and DAA
        coalesce(act.has_enabled_account, false) as has_enabled_account,
        act.has_directory_account,
        d.daa_active,
        -- (a group whose registration is not among the inputs has no DAA row)
        coalesce(d.daa_state, 'unknown: the group''s registration is not among the inputs')
            as daa_state,
        d.first_completed_at as daa_first_completed_at,
    from pairs as pr
    inner join members as m using (request_number, email)
    left join requested as r using (request_number, email, application)
    left join accounts as a using (request_number, email, application)
    left join policy_entitlements as pol
        on m.staff_type = pol.staff_type
        and m.suffix_class = pol.suffix_class
        and pr.application = pol.application
    left join int_member_activity as act using (request_number, email)
    left join int_group_daa as d using (request_number)
)

select * from entitlements
