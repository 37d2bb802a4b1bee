-- grain: one row per group: who support contacts about its accounts (its active Group
-- Administrator; several are listed together if the group has more than one)
-- key: request_number
select
    g.request_number,
    g.group_name,
    string_agg(m.person_name, '; ' order by m.person_name) as admin_name,
    string_agg(m.email, '; ' order by m.person_name) as admin_email,
    string_agg(coalesce(m.phone || coalesce(' x' || m.phone_extension, ''),
                        m.phone_as_entered), '; ' order by m.person_name) as admin_phone,
from int_groups as g
left join int_members as m
    on m.request_number = g.request_number and m.is_group_admin
    and m.member_status = 'active'
group by all
