-- grain: one row per census recipient provider x patient currently admitted (or in the ED)
-- whose primary care provider they are. PHI: written only to the census workbooks.
-- key: request_number, provider_npi, fin
with subscribers as (
    select distinct request_number, provider_email, provider_name, provider_npi
    from r2w_distribution
    where physician_census and distributed and provider_npi is not null
)

select
    s.request_number,
    s.provider_email,
    s.provider_name,
    s.provider_npi,
    v.fin,
    v.mrn,
    v.patient_family_name,
    v.patient_given_name,
    v.birth_date,
    v.patient_phone,
    v.facility,
    v.unit,
    v.room,
    v.bed,
    v.admit_at,
    v.chief_complaint,
    v.pcp_name,
    v.visit_state,
from subscribers as s
inner join int_adt_visits as v on v.pcp_npi = s.provider_npi
where v.on_census
order by s.request_number, s.provider_name, v.patient_family_name, v.patient_given_name, v.fin
