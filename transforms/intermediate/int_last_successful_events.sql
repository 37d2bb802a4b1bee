-- grain: one row per user x log source x application: the latest successful event
-- (the Entra sign-in log gives the directory sign-ins; the application access logs give
-- each application's use)
-- key: user_name, source, application?
select
    user_name,
    source,
    case when source = 'application_access_log' then application end as application,
    max(occurred_at) as last_success_at,
    count(*) as successful_events,
from stg_sign_in_events
where success
group by all
