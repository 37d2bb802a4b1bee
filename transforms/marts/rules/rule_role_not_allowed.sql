-- rule: ROLE_NOT_ALLOWED
-- grain: one row per active member x application held or requested that the policy table
-- does not allow for the member's staff type and suffix class
with members as (
    select * from int_members where member_status = 'active'
),

held as (
    select request_number, member_email as email, application, true as is_held
    from int_application_accounts
    where active and member_email is not null
),

requested as (
    select request_number, email, application, true as is_requested
    from int_requested_applications
),

entitlements as (
    select
        request_number,
        email,
        application,
        coalesce(bool_or(is_held), false) as is_held,
        coalesce(bool_or(is_requested), false) as is_requested,
    from (
        select request_number, email, application, is_held, null::boolean as is_requested
        from held
        union all
        select request_number, email, application, null::boolean, is_requested from requested
    )
    group by all
),

violations as (
    select
        'ROLE_NOT_ALLOWED' as rule,
        m.request_number,
        m.email,
        e.application,
        m.person_name,
        act.lan_ids as lan_id,
        printf(
            '%s with a %s suffix (%s) may not have %s; %s',
            m.staff_type, m.suffix_class, m.suffix, e.application,
            case
                when e.is_held and e.is_requested then 'requested and held'
                when e.is_held then 'held'
                else 'requested'
            end
        ) as detail,
    from entitlements as e
    inner join members as m using (request_number, email)
    left join policy_entitlements as pol
        on m.staff_type = pol.staff_type
        and m.suffix_class = pol.suffix_class
        and e.application = pol.application
    left join int_member_activity as act using (request_number, email)
    where pol.application is null
)

select * from violations
