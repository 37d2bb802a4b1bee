-- grain: one row per provider receiving a census x ADT event (up to the end of the as-of
-- day) of a patient on their census: the Movements sheet of their workbook (PHI)
-- key: request_number, provider_npi, source_file, source_line
with patients as (
    select distinct request_number, provider_npi, fin
    from census_patients
)

select
    p.request_number,
    p.provider_npi,
    e.fin,
    e.patient_family_name,
    e.event_type,
    e.event_at,
    e.facility,
    e.unit,
    e.room,
    e.bed,
    e.source_file,
    e.source_line,
from stg_adt_events as e
inner join patients as p using (fin)
cross join run_parameters as r
where e.event_at < r.as_of_end_ts
order by p.request_number, p.provider_npi, e.patient_family_name, e.fin, e.event_at
