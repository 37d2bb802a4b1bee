-- grain: one row per user x log source x application: the latest successful event
-- (the Entra sign-in log gives the directory sign-ins; the application access logs give
-- each application's use), up to the end of the as-of date on the hospital's clock. An
-- access log's user named by a down-level logon name (`CC\jdoe`) is its LAN ID, as
-- stg_application_accounts.login_name reads the lists.
-- key: user_name, source, application?
with latest as (
    select
        user_name,
        source,
        case when source = 'application_access_log' then application end as application,
        max(occurred_at) as last_success_at,
        count(*) as successful_events,
    from stg_sign_in_events
    where success
        -- by the end of the as-of date: a review of a past date on logs that run on past it
        and occurred_at < (select as_of_end_ts from run_parameters)
    group by all
)

-- (the names read once per user, not once per event)
select
    case when source = 'application_access_log'
        then logon_lan_id(user_name) else user_name end as user_name,
    source,
    application,
    max(last_success_at) as last_success_at,
    sum(successful_events)::bigint as successful_events,
from latest
group by all
