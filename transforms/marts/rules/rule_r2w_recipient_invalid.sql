-- rule: R2W_RECIPIENT_INVALID
-- grain: one row per provider x R2W recipient who is not an active member of the
-- provider's group, or whose directory account is disabled or dormant (email = recipient)
with providers as (
    select * from int_entitlements
    where member_status = 'active' and application = 'R2W' and is_requested
),

recipients as (
    select
        p.request_number,
        p.email as provider_email,
        p.person_name as provider_name,
        lower(trim(unnest(coalesce(from_json(p.details -> 'recipients', '["VARCHAR"]'), []))))
            as recipient_email,
    from providers as p
),

judged as (
    select
        r.*,
        m.person_name as recipient_name,
        a.lan_ids,
        case
            when m.email is null then 'is not a member of the provider''s group'
            when m.member_status <> 'active' then 'was removed from the group'
            when a.has_directory_account and not a.has_enabled_account
                then 'has a disabled or expired account'
            when a.is_dormant then 'has a dormant account'
        end as problem,
    from recipients as r
    left join int_members as m
        on m.request_number = r.request_number and m.email = r.recipient_email
    left join int_member_activity as a
        on a.request_number = r.request_number and a.email = r.recipient_email
)

select
    'R2W_RECIPIENT_INVALID' as rule,
    j.request_number,
    j.recipient_email as email,
    'R2W' as application,
    j.recipient_name as person_name,
    j.lan_ids as lan_id,
    printf('Recipient of %s''s R2W alerts %s', j.provider_name, j.problem) as detail,
    j.provider_email as key_part,
from judged as j
where j.problem is not null
