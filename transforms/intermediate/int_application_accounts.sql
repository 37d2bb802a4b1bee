-- grain: one row per application account, with the directory identity and member it
-- resolves to (null where it resolves to none)
with accounts as (
    select * from stg_application_accounts
),

identities as (
    select * from int_directory_identities
),

with_identity as (
    select
        a.*,
        coalesce(by_lan.upn, by_upn.upn) as upn,
    from accounts as a
    left join identities as by_lan on a.username = by_lan.lan_id
    left join identities as by_upn on a.username = by_upn.upn
),

with_member as (
    select
        a.*,
        coalesce(im.request_number, m.request_number) as request_number,
        coalesce(im.email, m.email) as member_email,
        case
            when im.upn is not null then 'username = directory identity'
            when m.email is not null then 'email = enrolled email'
        end as match_method,
    from with_identity as a
    left join int_identity_matches as im on a.upn = im.upn
    left join int_members as m on im.upn is null and a.email = m.email
)

select * from with_member
