-- rule: GROUP_ROLES_INVALID
-- grain: one row per group without exactly one active Sponsoring Physician and one active
-- Group Administrator, or with a Corporate/Legal Representative named YES without name or email
-- key: rule, request_number?, email?, application?
with roles as (
    select
        g.request_number,
        g.has_corporate_rep,
        g.corporate_rep_name,
        g.corporate_rep_email,
        count(*) filter (
            where m.member_status = 'active' and m.staff_type = 'Sponsoring Physician'
        ) as sponsors,
        count(*) filter (where m.member_status = 'active' and m.is_group_admin) as admins,
    from int_groups as g
    left join int_members as m using (request_number)
    group by all
),

checked as (
    select
        r.*,
        list_filter([
            case when r.sponsors <> 1
                then printf('%d active Sponsoring Physicians', r.sponsors) end,
            case when r.admins <> 1 then printf('%d active Group Administrators', r.admins) end,
            case when r.has_corporate_rep and r.corporate_rep_name is null
                then 'Corporate/Legal Representative named YES without a name' end,
            case when r.has_corporate_rep and r.corporate_rep_email is null
                then 'Corporate/Legal Representative named YES without a valid email' end
        ], lambda x: x is not null) as problems,
    from roles as r
)

select
    'GROUP_ROLES_INVALID' as rule,
    request_number,
    null as email,
    null as application,
    null as person_name,
    null as lan_id,
    array_to_string(problems, '; ') as detail,
from checked
where len(problems) > 0
