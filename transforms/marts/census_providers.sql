-- grain: one row per provider who receives a Physician Census: their group, name, NPI
-- (ten digits: it names the workbook), email, how many patients it lists, and the valid
-- recipients it also goes to. Every subscribed provider gets one, empty on a quiet day.
-- key: request_number, provider_npi
with subscribed as (
    select request_number, provider_npi, any_value(provider_name) as provider_name,
           any_value(provider_email) as provider_email,
    from r2w_distribution
    where physician_census and distributed
      and regexp_full_match(provider_npi, '[0-9]{10}')
      and regexp_full_match(request_number, 'CS[0-9]{7}')
    group by request_number, provider_npi
),

recipients as (
    select d.request_number, d.provider_npi,
           string_agg(distinct r.recipient_email, '; ' order by r.recipient_email)
               as recipients,
    from r2w_distribution as d
    inner join int_r2w_recipients as r
        on r.request_number = d.request_number and r.provider_email = d.provider_email
        and r.problem is null
    where d.physician_census and d.distributed
    group by all
),

patients as (
    select request_number, provider_npi, count(*) as patients
    from census_patients
    group by all
)

select
    s.request_number,
    s.provider_npi,
    s.provider_name,
    s.provider_email,
    coalesce(p.patients, 0) as patients,
    r.recipients,
from subscribed as s
left join recipients as r using (request_number, provider_npi)
left join patients as p using (request_number, provider_npi)
order by all
