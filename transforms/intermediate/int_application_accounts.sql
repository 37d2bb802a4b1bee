-- grain: one row per application account x member it resolves to (one row with null
-- member where it resolves to none). An account resolves through its username (= a
-- directory identity's LAN ID or UPN) to that identity's member, else through its email.
-- When the two disagree the account is ambiguous: left unmatched and listed in
-- int_identity_ambiguities, never guessed.
-- key: source_file, source_line, request_number?, member_email?
with accounts as (
    select * from stg_application_accounts
),

identities as (
    select * from int_directory_identities
),

identity_emails as (
    select upn, list(distinct email order by email) as emails
    from int_identity_candidates
    group by upn
),

access_log as (
    select user_name, application, last_success_at
    from int_last_successful_events
    where source = 'application_access_log'
),

with_identity as (
    select
        a.* exclude (last_access_at),
        -- the user list's last access, or the access log's latest success if later
        greatest(a.last_access_at, log_user.last_success_at, log_upn.last_success_at)
            as last_access_at,
        coalesce(by_lan.upn, by_upn.upn) as upn,
    from accounts as a
    left join identities as by_lan on a.login_name = by_lan.lan_id
    left join identities as by_upn on by_lan.upn is null and a.username = by_upn.upn
    left join access_log as log_user
        on log_user.user_name = a.login_name and log_user.application = a.application
    left join access_log as log_upn
        on log_upn.user_name = coalesce(by_lan.upn, by_upn.upn)
        and log_upn.user_name <> a.login_name
        and log_upn.application = a.application
),

enrolled_emails as (
    select distinct email as enrolled_email from int_members
),

judged as (
    select
        a.*,
        ie.emails as identity_emails,
        case
            when a.upn is not null and len(coalesce(ie.emails, [])) > 1 then 'ambiguous'
            when a.upn is not null and len(coalesce(ie.emails, [])) = 1 then
                case
                    when en.enrolled_email is not null and a.email <> ie.emails[1]
                        then 'ambiguous'
                    else 'username = directory identity'
                end
            when a.upn is not null and en.enrolled_email is not null then 'ambiguous'
            when en.enrolled_email is not null then 'email = enrolled email'
            else 'unmatched'
        end as match_method,
    from with_identity as a
    left join identity_emails as ie using (upn)
    left join enrolled_emails as en on en.enrolled_email = a.email
),

keyed as (
    select
        j.* exclude (identity_emails),
        case j.match_method
            when 'username = directory identity' then j.identity_emails[1]
            when 'email = enrolled email' then j.email
        end as resolved_email,
    from judged as j
),

resolved as (
    select
        k.* exclude (resolved_email),
        m.request_number,
        m.email as member_email,
    from keyed as k
    left join int_members as m on m.email = k.resolved_email
)

select * from resolved
