-- rule: DSM_ADDRESS_INVALID
-- grain: one row per active member holding or requesting DSM without a valid Direct
-- address: none, not an address, a free-mail or ordinary mailbox, or not a provider.
-- A Direct address lives on a HISP domain: one of the configured Direct domains, or (when
-- none are configured) a domain with a label starting `direct` or containing `hisp`.
-- key: rule, request_number?, email?, application?
with dsm as (
    select
        e.*,
        lower(trim(e.details ->> 'direct_address')) as direct_address,
    from int_entitlements as e
    where e.member_status = 'active' and e.application = 'DSM'
        and (e.is_requested or e.account_active)
),

judged as (
    select
        d.*,
        split_part(d.direct_address, '@', 2) as domain,
        case
            when d.suffix_class <> 'Provider' then 'DSM is for providers only'
            when d.direct_address is null or d.direct_address = ''
                then 'no Direct address given'
            when not regexp_full_match(d.direct_address, '[^@\s]+@[a-z0-9.-]+\.[a-z]{2,}')
                then 'the Direct address is not an email address'
            when split_part(d.direct_address, '@', 2) in (
                select domain from config_free_mail_domains
            ) then 'the Direct address is a free-mail mailbox'
            when d.direct_address = d.email
                then 'the Direct address is the person''s ordinary mailbox'
            when (select count(*) from config_direct_domains) > 0
                and not exists (
                    select 1 from config_direct_domains as c
                    where split_part(d.direct_address, '@', 2) = c.domain
                        or split_part(d.direct_address, '@', 2) like '%.' || c.domain
                ) then 'the Direct address is not on a known HISP domain'
            when (select count(*) from config_direct_domains) = 0
                and not regexp_matches(split_part(d.direct_address, '@', 2),
                                       '(^|\.)direct|hisp')
                then 'the Direct address is not on a HISP (direct) domain'
        end as problem,
    from dsm as d
)

select
    'DSM_ADDRESS_INVALID' as rule,
    j.request_number,
    j.email,
    'DSM' as application,
    j.person_name,
    j.usernames as lan_id,
    j.problem as detail,
from judged as j
where j.problem is not null
