-- grain: one row per visit (FIN): its state as of the run from its events in event-time
-- order (not arrival order), up to the end of the as-of date on the hospital's clock
-- (run_parameters.as_of_end_ts). PHI.
-- Whether the patient is in the hospital is what the latest event that says so says
-- (adt_event_types.visit_effect): admitted, registered, changed to inpatient or outpatient,
-- or a discharge cancelled (A13) is in; a discharge (A03) takes the visit off the census, a
-- cancelled admission or visit (A11), a deleted visit (A23) and a cancelled pre-admit (A38)
-- too, and a pre-admit (A05) is not there yet; an update
-- or transfer that carries a discharge time (PV1-45) discharged the patient. A visit seen
-- only through transfers and updates without one (the feed began during the stay) is in.
-- Scope is the visit's patient class (PV1-2, the latest event that states one), whatever the
-- message type: inpatient (I) and obstetrics (B) are admitted, emergency (E) is in the ED;
-- outpatient, pre-admit and recurring visits (O, P, R; an A04 is often a clinic visit) never
-- reach a census (minimum necessary). Transfers (A02, cancelled: A12) and updates (A08)
-- move the patient, change the class or the primary care provider.
-- key: fin
with events as (
    select e.*
    from stg_adt_events as e
    cross join run_parameters as p
    where e.event_at < p.as_of_end_ts
),

ordered as (
    select
        *,
        row_number() over (partition by fin order by event_at desc, message_at desc,
                           message_control_id desc) as recency,
    from events
),

latest as (
    select * from ordered where recency = 1
),

pcp as (
    -- the primary care provider named by the latest event that names one (A08 may change it)
    select fin, pcp_npi, pcp_name
    from ordered
    where pcp_npi is not null
    qualify row_number() over (partition by fin order by recency) = 1
),

patient_class as (
    select fin, upper(trim(patient_class)) as visit_class
    from ordered
    where nullif(trim(patient_class), '') is not null
    qualify row_number() over (partition by fin order by recency) = 1
),

presence as (
    -- what the latest event that says whether the patient is in the hospital says: its
    -- type's effect, else a discharge time (PV1-45) by then on an update or a transfer (a
    -- feed whose A03 was lost, or that reports the discharge on an A08)
    select
        o.fin,
        coalesce(t.visit_effect, 'discharged') as presence,
    from ordered as o
    inner join adt_event_types as t using (event_type)
    cross join run_parameters as p
    where t.visit_effect is not null
        or o.discharge_at < p.as_of_end_ts
    qualify row_number() over (partition by o.fin order by o.recency) = 1
),

flags as (
    select
        fin,
        -- the visit's start was seen: an admission, registration or pre-admit
        bool_or(event_type in ('A01', 'A04', 'A05', 'A06', 'A07')) as start_seen,
        min(event_at) as first_event_at,
        count(*) as events,
    from events
    group by fin
),

visits as (
    select
        f.*,
        coalesce(s.presence, 'in') as presence,
        coalesce(s.presence = 'discharged', false) as discharged,
    from flags as f
    left join presence as s using (fin)
)

select
    l.fin,
    l.mrn,
    l.patient_family_name,
    l.patient_given_name,
    l.birth_date,
    l.patient_phone,
    coalesce(l.chief_complaint, (select any_value(chief_complaint) from ordered as o
                                 where o.fin = l.fin)) as chief_complaint,
    p.pcp_npi,
    p.pcp_name,
    c.visit_class as patient_class,
    l.unit,
    l.room,
    l.bed,
    l.facility,
    coalesce(l.admit_at, f.first_event_at) as admit_at,
    f.discharged,
    f.presence = 'in' and coalesce(c.visit_class in ('I', 'B', 'E'), false) as on_census,
    case
        when f.discharged and not f.start_seen then 'discharge without admit'
        when f.presence <> 'in' then f.presence
        when c.visit_class in ('I', 'B') then 'admitted'
        when c.visit_class = 'E' then 'ED'
        else 'out of census scope'
    end as visit_state,
    f.events,
from latest as l
inner join visits as f using (fin)
left join pcp as p using (fin)
left join patient_class as c using (fin)
