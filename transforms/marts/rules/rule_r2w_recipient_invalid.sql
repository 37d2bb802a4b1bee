-- rule: R2W_RECIPIENT_INVALID
-- grain: one row per provider x R2W recipient who is not an active member of the
-- provider's group, or whose directory account is disabled or dormant (email = recipient)
-- key: rule, request_number?, email?, application?, key_part?
select
    'R2W_RECIPIENT_INVALID' as rule,
    request_number,
    recipient_email as email,
    'R2W' as application,
    recipient_name as person_name,
    recipient_lan_ids as lan_id,
    printf('Recipient of %s''s R2W alerts %s', provider_name, problem) as detail,
    provider_email as key_part,
from int_r2w_recipients
where problem is not null
