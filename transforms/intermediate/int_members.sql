-- grain: one row per group x person (email): the person's current state in the group
-- A person's latest submission decides: removed if it removed them, else active. Each
-- attribute is the latest value any addition stated (a portal member list that has no NPI
-- column does not erase the NPI the registration gave). A person named twice in one
-- submission takes the attributes of their first place in it, and is its administrator if
-- either place says so. A group's sponsor and administrator are those its registration or
-- its latest change_group_roles request named; one replaced keeps the staff type their
-- suffix gives (Provider or Staff).
-- key: request_number, email
with events as (
    select * from stg_enrollment_people
),

latest_event as (
    select
        group_request_number,
        email,
        action as latest_action,
        submitted_at as latest_event_at,
        request_number as latest_request_number,
    from events
    qualify row_number() over (
        partition by group_request_number, email
        order by submitted_at desc, request_number desc, action asc
    ) = 1
),

adds as (
    select
        *,
        strftime(submitted_at, '%Y-%m-%dT%H:%M:%S') || request_number as stated_in,
        -- the latest submission; within one (a person named twice in it: a sponsor also
        -- entered as the administrator or a member) the first place in the document
        (
            stated_in,
            -source_line,
            -case
                when source_path = 'sponsoring_physician' then 0
                when source_path = 'group_administrator' then 1
                else 2 + coalesce(try_cast(regexp_extract(source_path, '\[(\d+)\]', 1)
                                           as integer), 0)
            end
        ) as recency,
    from events
    where action = 'add'
),

latest_add as (
    select
        group_request_number,
        email,
        max_by(npi, recency) filter (where npi is not null) as npi,
        max_by(first_name, recency) filter (where first_name is not null) as first_name,
        max_by(middle_initial, recency) filter (where middle_initial is not null)
            as middle_initial,
        max_by(last_name, recency) filter (where last_name is not null) as last_name,
        max_by(staff_type, recency) filter (where staff_type is not null) as staff_type,
        max_by(suffix, recency) filter (where suffix is not null) as suffix,
        -- named the administrator anywhere in the latest submission that said
        max_by(is_group_admin, (stated_in, is_group_admin))
            filter (where is_group_admin is not null) as is_group_admin,
        max_by(licensed_state, recency) filter (where licensed_state is not null)
            as licensed_state,
        max_by(state_license_number, recency) filter (where state_license_number is not null)
            as state_license_number,
        max_by(phone_as_entered, recency) filter (where phone_as_entered is not null)
            as phone_as_entered,
        max_by(phone, recency) filter (where phone is not null) as phone,
        -- the extension given with that number
        max_by(phone_extension, recency) filter (where phone is not null) as phone_extension,
    from adds
    group by all
),

first_add as (
    select group_request_number, email, min(submitted_at) as added_at
    from events
    where action = 'add'
    group by all
),

role_namings as (
    -- each naming of a group's sponsor or administrator: its registration, or a
    -- change_group_roles request (the guide's "Group Admin / Physician sponsor change")
    select
        group_request_number,
        email,
        max(stated_in) filter (where form_section = 'sponsoring_physician') as as_sponsor,
        max(stated_in) filter (where is_group_admin) as as_admin,
    from adds
    where request_type in ('new_group', 'change_group_roles')
    group by all
),

latest_namings as (
    select
        group_request_number,
        max(as_sponsor) as sponsor_named_in,
        max(as_admin) as admin_named_in,
    from role_namings
    group by all
),

replaced as (
    -- a sponsor or administrator a later naming did not name: replaced in that role, a
    -- member still (unless removed), of the staff type their suffix gives
    select
        r.group_request_number,
        r.email,
        coalesce(r.as_sponsor < l.sponsor_named_in, false) as as_sponsor,
        coalesce(r.as_admin < l.admin_named_in, false) as as_admin,
        r.as_sponsor is not null as named_sponsor,
        r.as_admin is not null as named_admin,
    from role_namings as r
    inner join latest_namings as l using (group_request_number)
),

suffix_classes as (
    -- compared without case, periods or spaces (`M.D.` is MD)
    select suffix_key(suffix) as suffix_key, suffix_class from policy_suffix_classes
),

members as (
    select
        -- ids
        a.group_request_number as request_number,
        a.email,
        a.npi,
        -- person
        a.first_name,
        a.middle_initial,
        a.last_name,
        concat_ws(' ', a.first_name, a.last_name) as person_name,
        case
            when (a.staff_type = 'Sponsoring Physician' and coalesce(rp.as_sponsor, false))
                or (a.staff_type = 'Group Administrator' and coalesce(rp.as_admin, false))
                then if(sc.suffix_class = 'Provider', 'Provider', 'Staff')
            else a.staff_type
        end as staff_type,
        a.suffix,
        coalesce(sc.suffix_class, 'Regular Staff') as suffix_class,
        sc.suffix_class is null as suffix_unknown,
        (coalesce(a.is_group_admin, false) or a.staff_type = 'Group Administrator')
            and not coalesce(rp.as_admin, false) as is_group_admin,
        -- named the group's sponsor / administrator by its registration or a change
        -- request, now or before (whose DAA signature still stands for the role)
        coalesce(rp.named_sponsor, false) as ever_sponsor,
        coalesce(rp.named_admin, false) as ever_admin,
        a.licensed_state,
        a.state_license_number,
        a.phone_as_entered,
        a.phone,
        a.phone_extension,
        -- state
        case when le.latest_action = 'remove' then 'removed' else 'active' end as member_status,
        f.added_at,
        case when le.latest_action = 'remove' then le.latest_event_at end as removed_at,
        case when le.latest_action = 'remove' then le.latest_request_number end
            as removed_in_request,
    from latest_add as a
    inner join latest_event as le using (group_request_number, email)
    inner join first_add as f using (group_request_number, email)
    left join suffix_classes as sc on suffix_key(a.suffix) = sc.suffix_key
    left join replaced as rp using (group_request_number, email)
)

select * from members
