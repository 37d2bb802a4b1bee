-- grain: one row per enrolled group: who its sponsor, administrator and corporate
-- representative are, its DAA state and dates, member counts and open findings
-- key: request_number
with people as (
    select
        request_number,
        string_agg(person_name, '; ' order by person_name)
            filter (where staff_type = 'Sponsoring Physician' and member_status = 'active')
            as sponsor,
        string_agg(email, '; ' order by person_name)
            filter (where staff_type = 'Sponsoring Physician' and member_status = 'active')
            as sponsor_email,
        count(*) filter (where member_status = 'active') as active_members,
        count(*) filter (where member_status = 'removed') as removed_members,
    from int_members
    group by request_number
),

open_findings as (
    select request_number, count(*) as findings,
           count(*) filter (where severity = 'high') as high_findings,
    from findings
    where request_number <> ''
    group by request_number
)

select
    g.request_number,
    g.group_name,
    p.sponsor,
    p.sponsor_email,
    c.admin_name,
    c.admin_email,
    c.admin_phone,
    case when g.has_corporate_rep
        then coalesce(g.corporate_rep_name, '(no name)') || ' <'
             || coalesce(g.corporate_rep_email, 'no email') || '>'
    end as corporate_representative,
    d.daa_state,
    -- who has not signed the newest envelope DocuSign marks completed, when that leaves it
    -- not in force
    d.missing_signers as daa_missing_signers,
    d.first_completed_at::date as daa_first_signed,
    d.last_completed_at::date as daa_last_signed,
    d.lapses_on as daa_lapses_on,
    coalesce(p.active_members, 0) as active_members,
    coalesce(p.removed_members, 0) as removed_members,
    coalesce(f.findings, 0) as findings,
    coalesce(f.high_findings, 0) as high_findings,
from int_groups as g
left join people as p using (request_number)
left join group_admin_contacts as c using (request_number)
left join int_group_daa as d using (request_number)
left join open_findings as f using (request_number)
order by g.request_number
