-- rule: ORPHAN_ACCOUNT
-- grain: one row per enabled directory identity or active application account that
-- resolves to no enrolled member (current or removed); application empty for a directory
-- one. Ambiguous accounts (int_identity_ambiguities) are not orphans. Two enabled directory
-- identities under one address are two findings: the second and later (by UPN) are told
-- apart by their UPN (`key_part`), so the first keeps the key it had alone.
-- key: rule, request_number?, email?, application?, key_part?
with orphan_identities as (
    select
        'ORPHAN_ACCOUNT' as rule,
        null as request_number,
        coalesce(i.mail, i.upn) as email,
        null as application,
        i.display_name as person_name,
        i.lan_id,
        printf(
            'Enabled %s account matches no enrolled member',
            case
                when i.in_active_directory and i.in_entra then 'Active Directory / Entra ID'
                when i.in_active_directory then 'Active Directory'
                else 'Entra ID'
            end
        ) as detail,
        case
            when row_number() over (partition by coalesce(i.mail, i.upn) order by i.upn) > 1
                then i.upn
        end as key_part,
    from int_directory_identities as i
    left join int_identity_candidates as c using (upn)
    where c.upn is null and i.enabled
),

orphan_app_accounts as (
    select
        'ORPHAN_ACCOUNT' as rule,
        null as request_number,
        coalesce(a.email, a.username) as email,
        a.application,
        a.display_name as person_name,
        a.username as lan_id,
        printf('Active %s account matches no enrolled member', a.application) as detail,
        null as key_part,
    from int_application_accounts as a
    where a.match_method = 'unmatched' and a.active
    -- one finding per application and address: the same account in overlapping exports,
    -- or several usernames of one address, is reported once (the first username)
    qualify row_number() over (
        partition by a.application, coalesce(a.email, a.username)
        order by a.username, a.source_file, a.source_line
    ) = 1
)

select * from orphan_identities
union all
select * from orphan_app_accounts
