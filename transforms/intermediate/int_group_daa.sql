-- grain: one row per enrolled group: the state of its Data Access Agreement as of the run
-- A DAA is in force from its completion through completion + daa_term_days; a declined,
-- voided or unsigned renewal does not end an agreement still in force.
with envelopes as (
    select * from stg_daa_envelopes
),

completed as (
    select
        request_number,
        min(completed_at) as first_completed_at,
        max(completed_at) as last_completed_at,
    from envelopes
    where status = 'completed' and completed_at is not null
    group by all
),

latest as (
    select request_number, status as latest_envelope_status
    from envelopes
    qualify row_number() over (
        partition by request_number order by coalesce(sent_at, status_changed_at) desc,
        envelope_id desc
    ) = 1
),

daa as (
    select
        g.request_number,
        c.first_completed_at,
        c.last_completed_at,
        c.last_completed_at::date + p.daa_term_days as lapses_on,
        l.latest_envelope_status,
        coalesce(p.as_of <= c.last_completed_at::date + p.daa_term_days, false) as daa_active,
        case
            when c.last_completed_at is null then coalesce(l.latest_envelope_status, 'none')
            when p.as_of > c.last_completed_at::date + p.daa_term_days then 'lapsed'
            when c.last_completed_at::date + p.daa_term_days - p.as_of <= p.daa_notice_days
                then 'renewal due'
            else 'completed'
        end as daa_state,
    from int_groups as g
    left join completed as c using (request_number)
    left join latest as l using (request_number)
    cross join run_parameters as p
)

select * from daa
