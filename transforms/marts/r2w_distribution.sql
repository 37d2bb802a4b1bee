-- grain: one row per provider x R2W alert chosen on the form: how it is delivered (fax,
-- email or both), to which fax and which valid recipients, for which lab facilities, and
-- whether the provider receives the Physician Census. A provider whose group has no DAA
-- in force is listed with distributed = false and the reason: nothing is sent.
-- key: request_number, provider_email, alert
with providers as (
    select e.*, m.npi
    from int_entitlements as e
    inner join int_members as m using (request_number, email)
    where e.member_status = 'active' and e.application = 'R2W' and e.is_requested
),

alerts as (
    select
        p.request_number,
        p.email as provider_email,
        p.person_name as provider_name,
        p.npi as provider_npi,
        p.daa_active,
        p.daa_state,
        unnest(map_keys(json_transform(p.details -> 'alerts', '"MAP(VARCHAR, VARCHAR)"')))
            as alert,
        unnest(map_values(json_transform(p.details -> 'alerts', '"MAP(VARCHAR, VARCHAR)"')))
            as method_as_entered,
        p.details ->> 'fax_number' as fax_as_entered,
        array_to_string(coalesce(from_json(p.details -> 'lab_facilities', '["VARCHAR"]'), []),
                        '; ') as lab_facilities,
        coalesce((p.details ->> 'physician_census')::boolean, false) as physician_census,
    from providers as p
),

read_alerts as (
    -- each alert's method read once (fax, email or both; NULL when it is none of them)
    select *, delivery_method(method_as_entered) as delivery_method from alerts
),

recipients as (
    select
        request_number,
        provider_email,
        string_agg(recipient_email, '; ' order by recipient_email)
            filter (where problem is null) as email_recipients,
        string_agg(recipient_name, '; ' order by recipient_email)
            filter (where problem is null) as recipient_names,
        count(*) filter (where problem is not null) as recipients_left_off,
    from int_r2w_recipients
    group by all
)

select
    -- provider
    a.request_number,
    g.group_name,
    a.provider_name,
    a.provider_email,
    a.provider_npi,
    -- alert
    a.alert,
    -- (as entered when it is none of fax, email or both: APP_DETAILS_MISSING says so)
    coalesce(a.delivery_method, lower(trim(a.method_as_entered))) as delivery_method,
    nanp_phone(a.fax_as_entered) as fax_number,
    case when a.delivery_method in ('email', 'both') then r.email_recipients end
        as email_recipients,
    case when a.delivery_method in ('email', 'both') then r.recipient_names end
        as recipient_names,
    coalesce(r.recipients_left_off, 0) as recipients_left_off,
    a.lab_facilities,
    a.physician_census,
    -- whether it goes out
    coalesce(a.daa_active, false) as distributed,
    case when not coalesce(a.daa_active, false)
        then printf('no distribution: the group''s DAA is %s', coalesce(a.daa_state, 'none'))
    end as not_distributed_reason,
from read_alerts as a
left join recipients as r using (request_number, provider_email)
left join int_groups as g using (request_number)
order by a.request_number, a.provider_name, a.alert
