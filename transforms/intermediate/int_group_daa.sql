-- grain: one row per enrolled group: the state of its Data Access Agreement as of the run
-- A DAA is in force from the completion of an envelope that every required party signed
-- (int_daa_signatures) until completion + daa_term_days: on the lapse date itself it is no
-- longer in force. An envelope marked completed while a required party never signed is not
-- in force; a declined, voided or unsigned renewal does not end an agreement still in force.
-- key: request_number
with envelopes as (
    select * from int_daa_envelopes where request_number is not null
),

missing as (
    -- per completed envelope: the parties who did not sign it
    select
        request_number,
        envelope_id,
        completed_at,
        list_sort(list(party) filter (where not has_signed)) as missing_signers,
    from int_daa_signatures
    group by all
),

completed as (
    select
        e.request_number,
        e.envelope_id,
        e.completed_at,
        coalesce(m.missing_signers, []) as missing_signers,
    from envelopes as e
    left join missing as m using (request_number, envelope_id)
    where e.status = 'completed' and e.completed_at is not null
),

in_force as (
    select
        request_number,
        min(completed_at) as first_completed_at,
        max(completed_at) as last_completed_at,
        -- the fully signed envelope last_completed_at is of (ties: the last envelope id)
        arg_max(envelope_id, (completed_at, envelope_id)) as last_completed_envelope_id,
    from completed
    where len(missing_signers) = 0
    group by all
),

latest_completed as (
    -- the newest completed envelope, to say whom it lacks when it is not fully signed
    select request_number, completed_at as latest_completed_at,
           missing_signers as latest_missing_signers
    from completed
    qualify row_number() over (
        partition by request_number order by completed_at desc, envelope_id desc
    ) = 1
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
        c.last_completed_envelope_id,
        c.last_completed_at::date + p.daa_term_days as lapses_on,
        l.latest_envelope_status,
        case when len(lc.latest_missing_signers) > 0
                and lc.latest_completed_at > coalesce(c.last_completed_at, '-infinity')
            then array_to_string(lc.latest_missing_signers, '; ')
        end as missing_signers,
        coalesce(p.as_of < c.last_completed_at::date + p.daa_term_days, false) as daa_active,
        case
            when c.last_completed_at is null and len(lc.latest_missing_signers) > 0
                then 'not signed by the ' || array_to_string(lc.latest_missing_signers, ', the ')
            when c.last_completed_at is null then coalesce(l.latest_envelope_status, 'none')
            when p.as_of >= c.last_completed_at::date + p.daa_term_days then 'lapsed'
            when c.last_completed_at::date + p.daa_term_days - p.as_of <= p.daa_notice_days
                then 'renewal due'
            else 'completed'
        end as daa_state,
    from int_groups as g
    left join in_force as c using (request_number)
    left join latest_completed as lc using (request_number)
    left join latest as l using (request_number)
    cross join run_parameters as p
)

select * from daa
