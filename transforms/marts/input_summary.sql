-- grain: one row per input file read (or refused) by this run, with its rows read, accepted
-- and quarantined (zero for a file that yielded no rows), the rows of an event file the
-- evidence store already had from an earlier file (left out, the stored ones used), and the
-- rows of an event file the store holds or held that this run does not use (past its
-- retention; the census: sign-ins other than each account's latest success), the note
-- saying why. The file's rows = read + already stored + not used.
-- key: source_file
with counts as (
    select
        source_file,
        sum(rows_read)::bigint as rows_read,
        sum(rows_accepted)::bigint as rows_accepted,
        sum(rows_quarantined)::bigint as rows_quarantined,
    from input_reconciliation
    group by source_file
),

already_stored as (
    select source_file, sum(rows)::bigint as rows_already_stored
    from input_already_stored
    group by source_file
),

not_used as (
    select source_file, sum(rows)::bigint as rows_not_used,
           string_agg(distinct why_not_used, '; ' order by why_not_used) as why_not_used,
    from input_not_used
    group by source_file
)

select
    f.source_file,
    f.format,
    f.status,
    case when coalesce(u.rows_not_used, 0) > 0
        then concat_ws('; ', nullif(f.note, ''),
                       printf('%d rows not used: %s', u.rows_not_used, u.why_not_used))
        else f.note
    end as note,
    f.size_bytes,
    f.sha256,
    coalesce(c.rows_read, 0) as rows_read,
    coalesce(c.rows_accepted, 0) as rows_accepted,
    coalesce(c.rows_quarantined, 0) as rows_quarantined,
    coalesce(s.rows_already_stored, 0) as rows_already_stored,
    coalesce(u.rows_not_used, 0) as rows_not_used,
from input_files as f
left join counts as c using (source_file)
left join already_stored as s using (source_file)
left join not_used as u using (source_file)
order by f.source_file
