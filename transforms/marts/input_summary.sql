-- grain: one row per input file read (or refused) by this run, with its rows read, accepted
-- and quarantined (zero for a file that yielded no rows)
-- key: source_file
select
    f.source_file,
    f.format,
    f.status,
    f.note,
    f.size_bytes,
    f.sha256,
    coalesce(sum(r.rows_read), 0)::bigint as rows_read,
    coalesce(sum(r.rows_accepted), 0)::bigint as rows_accepted,
    coalesce(sum(r.rows_quarantined), 0)::bigint as rows_quarantined,
from input_files as f
left join input_reconciliation as r using (source_file)
group by all
order by f.source_file
