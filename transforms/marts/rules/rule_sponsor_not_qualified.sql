-- rule: SPONSOR_NOT_QUALIFIED
-- grain: one row per active Sponsoring Physician lacking a Provider suffix, a valid NPI,
-- a licensed state or a state license number
-- key: rule, request_number?, email?, application?
with sponsors as (
    select * from int_members
    where member_status = 'active' and staff_type = 'Sponsoring Physician'
),

checked as (
    select
        s.*,
        list_filter([
            case when s.suffix_class <> 'Provider'
                then printf('suffix %s is not a Provider suffix', s.suffix) end,
            case when not is_valid_npi(s.npi) then 'NPI missing or fails its check digit' end,
            case when s.licensed_state is null then 'no licensed state' end,
            case when s.state_license_number is null then 'no state license number' end
        ], lambda x: x is not null) as problems,
    from sponsors as s
)

select
    'SPONSOR_NOT_QUALIFIED' as rule,
    c.request_number,
    c.email,
    null as application,
    c.person_name,
    a.lan_ids as lan_id,
    'Sponsoring Physician: ' || array_to_string(c.problems, '; ') as detail,
from checked as c
left join int_member_activity as a using (request_number, email)
where len(c.problems) > 0
