-- grain: one row per group x person x application that is requested or has an account:
-- the evidence a reviewer (compliance staff, or the group in its attestation workbook)
-- decides on, in plain words, with the findings that concern it. `row_id` is stable across
-- runs for the same group, person and application: the attestation loop matches on it.
-- key: row_id
with entitlements as (
    select * from int_entitlements
),

row_findings as (
    -- a finding concerns a row when it names its person and either its application or no
    -- application at all (a person-level finding such as DORMANT_ACCOUNT)
    select
        e.request_number,
        e.email,
        e.application,
        string_agg(distinct f.rule, ', ' order by f.rule) as findings,
        min(case f.severity when 'high' then 1 when 'medium' then 2 else 3 end) as severity_rank,
    from entitlements as e
    inner join findings as f
        on f.request_number = e.request_number
        and f.email = e.email
        and (f.application = e.application or coalesce(f.application, '') = '')
    group by all
)

select
    'E' || upper(substr(md5(e.request_number || '|' || e.email || '|' || e.application), 1, 11))
        as row_id,
    e.request_number,
    g.group_name,
    e.person_name,
    e.email,
    e.staff_type as role,
    e.suffix,
    e.member_status,
    e.application,
    coalesce(app.display_name, e.application) as application_name,
    coalesce(app.team, 'Application owner') as application_team,
    e.is_allowed as allowed_by_policy,
    e.is_requested as requested,
    e.requested_at::date as requested_on,
    e.requested_in,
    e.has_account as provisioned,
    e.account_active,
    e.usernames as accounts,
    e.account_created_at::date as account_created_on,
    e.last_access_at::date as last_used_on,
    e.daa_state,
    case
        when e.is_requested and e.has_account then 'request and account'
        when e.is_requested then 'request only'
        else 'account only'
    end as source,
    coalesce(rf.findings, '') as findings,
    case rf.severity_rank when 1 then 'high' when 2 then 'medium' when 3 then 'low' end
        as highest_severity,
from entitlements as e
inner join int_groups as g using (request_number)
left join policy_applications as app using (application)
left join row_findings as rf using (request_number, email, application)
order by e.request_number, e.person_name, e.email, e.application
