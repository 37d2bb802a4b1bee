-- rule: DUPLICATE_IDENTITY
-- grain: one row per extra enrolment or extra directory account of one person: the same
-- normalised email, or the same NPI, enrolled more than once (the earliest enrolment is
-- the person's, the others are extra); or one member matched by more than one enabled
-- directory account (the earliest created is theirs)
-- key: rule, request_number?, email?, application?
with enrolments as (
    select request_number, email, npi, person_name, added_at
    from int_members
    where member_status = 'active'
),

email_extras as (
    select
        e.*,
        first_value(e.request_number) over w as first_request,
        row_number() over w as n,
    from enrolments as e
    window w as (partition by e.email order by e.added_at, e.request_number)
),

npi_extras as (
    select
        e.*,
        first_value(e.request_number) over w as first_request,
        first_value(e.email) over w as first_email,
        row_number() over w as n,
    from enrolments as e
    where e.npi is not null
    window w as (partition by e.npi order by e.added_at, e.request_number, e.email)
),

account_extras as (
    select
        im.request_number,
        im.email,
        i.lan_id,
        row_number() over (
            partition by im.request_number, im.email order by i.created_at, i.upn
        ) as n,
    from int_identity_matches as im
    inner join int_directory_identities as i using (upn)
    where i.enabled
)

select
    'DUPLICATE_IDENTITY' as rule,
    request_number,
    email,
    null as application,
    person_name,
    null as lan_id,
    printf('Same email already enrolled in %s', first_request) as detail,
from email_extras
where n > 1
union all
select
    'DUPLICATE_IDENTITY',
    request_number,
    email,
    null,
    person_name,
    null,
    printf('Same NPI already enrolled in %s as %s', first_request, first_email),
from npi_extras
where n > 1 and email <> first_email
union all
select
    'DUPLICATE_IDENTITY',
    a.request_number,
    a.email,
    null,
    m.person_name,
    a.lan_id,
    printf('A further enabled directory account (%s) for the same person', a.lan_id),
from account_extras as a
inner join int_members as m using (request_number, email)
where a.n > 1 and m.member_status = 'active'
