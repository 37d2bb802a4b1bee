-- grain: one row (counts only, no PHI): how the ADT feed was used for the census
-- key: messages
select
    (select count(*) from raw_adt_events) as messages,
    (select count(*) from raw_adt_events) - (select count(*) from stg_adt_events)
        as duplicate_messages,
    (select count(*) from int_adt_visits) as visits,
    (select count(*) from int_adt_visits where on_census) as on_census,
    (select count(*) from int_adt_visits where visit_state = 'discharge without admit')
        as discharges_without_admit,
    (select count(*) from int_adt_visits where visit_state = 'out of census scope')
        as visits_out_of_scope,
    (select count(*) from int_adt_visits where visit_state = 'cancelled') as visits_cancelled,
    (select count(*) from int_adt_visits where visit_state = 'pre-admitted')
        as visits_pre_admitted,
    (select count(*) from int_adt_visits as v where v.on_census and not exists (
        select 1 from r2w_distribution as d
        where d.provider_npi = v.pcp_npi and d.physician_census and d.distributed
    )) as on_census_pcp_not_subscribed,
    (select count(*) from census_patients) as census_rows
