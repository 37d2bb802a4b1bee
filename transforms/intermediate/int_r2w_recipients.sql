-- grain: one row per provider (active member requesting R2W) x recipient chosen on the
-- form, with whether the recipient may receive: an active member of the provider's group
-- whose directory account is neither disabled nor dormant (no account yet is fine)
-- key: request_number, provider_email, recipient_email
with providers as (
    select * from int_entitlements
    where member_status = 'active' and application = 'R2W' and is_requested
),

recipients as (
    -- a recipient named twice (or in another case) on one form is one recipient
    select distinct
        p.request_number,
        p.email as provider_email,
        p.person_name as provider_name,
        lower(trim(unnest(coalesce(from_json(p.details -> 'recipients', '["VARCHAR"]'), []))))
            as recipient_email,
    from providers as p
)

select
    r.*,
    m.person_name as recipient_name,
    a.lan_ids as recipient_lan_ids,
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
