-- per file and table: rows read = accepted + quarantined, and the accepted rows are exactly
-- the rows in the raw_ tables
with raw_counts as (
    select 'enrollment_submissions' as table_name, source_file, count(*) as n
    from raw_enrollment_submissions group by all
    union all select 'enrollment_people', source_file, count(*) from raw_enrollment_people
    group by all
    union all select 'enrollment_app_requests', source_file, count(*)
    from raw_enrollment_app_requests group by all
    union all select 'directory_accounts', source_file, count(*) from raw_directory_accounts
    group by all
    union all select 'entra_users', source_file, count(*) from raw_entra_users group by all
    union all select 'application_accounts', source_file, count(*) from raw_application_accounts
    group by all
    union all select 'daa_envelopes', source_file, count(*) from raw_daa_envelopes group by all
    union all select 'daa_recipients', source_file, count(*) from raw_daa_recipients group by all
    union all select 'sign_in_events', source_file, count(*) from raw_sign_in_events group by all
    union all select 'adt_events', source_file, count(*) from raw_adt_events group by all
),

ingested_counts as (
    select 'enrollment_submissions' as table_name, source_file, count(*) as n
    from ingested_enrollment_submissions group by all
    union all select 'enrollment_people', source_file, count(*) from ingested_enrollment_people
    group by all
    union all select 'enrollment_app_requests', source_file, count(*)
    from ingested_enrollment_app_requests group by all
    union all select 'directory_accounts', source_file, count(*)
    from ingested_directory_accounts group by all
    union all select 'entra_users', source_file, count(*) from ingested_entra_users group by all
    union all select 'application_accounts', source_file, count(*)
    from ingested_application_accounts group by all
    union all select 'daa_envelopes', source_file, count(*) from ingested_daa_envelopes
    group by all
    union all select 'daa_recipients', source_file, count(*) from ingested_daa_recipients
    group by all
    union all select 'sign_in_events', source_file, count(*) from ingested_sign_in_events
    group by all
    union all select 'adt_events', source_file, count(*) from ingested_adt_events group by all
)

select r.*, rc.n as raw_rows, ic.n as ingested_rows
from input_reconciliation as r
left join raw_counts as rc using (table_name, source_file)
left join ingested_counts as ic using (table_name, source_file)
where
    r.rows_read <> r.rows_accepted + r.rows_quarantined
    or r.rows_accepted <> coalesce(rc.n, 0)
    or r.rows_read <> coalesce(ic.n, 0)
