-- grain: one row per DocuSign DAA envelope sent by the end of the as-of date, with the
-- group it belongs to, in its state then: an envelope completed, declined or voided after
-- it was still out for signature (`sent`) on the as-of date (a past review re-run on a
-- later export)
-- An envelope names its group by the RequestNumber custom field or a CS number in its
-- subject. One that names none is linked by its signers' emails when they include the
-- Sponsoring Physician's and the Group Administrator's of exactly one group; otherwise it
-- stays unlinked (request_number null) and is listed to resolve (review_notes). An
-- envelope in two overlapping exports counts once: its latest state.
-- key: envelope_id
with envelopes as (
    select e.*
    from stg_daa_envelopes as e
    cross join run_parameters as p
    where coalesce(e.sent_at, e.status_changed_at) < p.as_of_end_ts is not false
    qualify row_number() over (
        partition by envelope_id
        order by status_changed_at desc nulls last, completed_at desc nulls last,
            source_file, source_line
    ) = 1
),

signer_emails as (
    select envelope_id, list(distinct email) as emails
    from stg_daa_recipients
    where email is not null
    group by envelope_id
),

parties as (
    select
        request_number,
        list(distinct email) filter (where staff_type = 'Sponsoring Physician') as sponsors,
        list(distinct email) filter (where is_group_admin) as admins,
    from int_members
    where member_status = 'active'
    group by request_number
),

candidates as (
    select e.envelope_id, p.request_number
    from envelopes as e
    inner join signer_emails as s using (envelope_id)
    inner join parties as p
        on len(p.sponsors) > 0 and len(p.admins) > 0
        and list_has_all(s.emails, p.sponsors) and list_has_all(s.emails, p.admins)
    where e.request_number is null
),

by_signers as (
    select envelope_id, any_value(request_number) as request_number, count(*) as groups,
    from candidates
    group by envelope_id
)

select
    e.envelope_id,
    coalesce(e.request_number, case when b.groups = 1 then b.request_number end)
        as request_number,
    case
        when e.request_number is not null then 'request number'
        when b.groups = 1 then 'signers'
    end as linked_by,
    case
        when e.request_number is null and b.groups is null
            then 'names no request number and its signers are no group''s sponsor and '
                 || 'administrator'
        when e.request_number is null and b.groups > 1
            then printf('names no request number and its signers fit %d groups', b.groups)
    end as unlinked_reason,
    case when coalesce(e.completed_at, e.declined_at, e.voided_at) >= p.as_of_end_ts
        then 'sent' else e.status end as status,
    e.sent_at,
    case when e.completed_at < p.as_of_end_ts then e.completed_at end as completed_at,
    case when e.declined_at < p.as_of_end_ts then e.declined_at end as declined_at,
    case when e.voided_at < p.as_of_end_ts then e.voided_at end as voided_at,
    e.status_changed_at,
    e.source_file,
    e.source_line,
from envelopes as e
left join by_signers as b using (envelope_id)
cross join run_parameters as p
