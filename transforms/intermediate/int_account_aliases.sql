-- grain: one row per name an account is known by (LAN ID, UPN, mail, application
-- username) x the email its findings are filed under (the member's, or for an orphan the
-- account's own mail or UPN). Used to match configured exceptions to findings.
-- key: alias, email
with identity_names as (
    select i.upn, i.lan_id, i.mail, coalesce(im.email, coalesce(i.mail, i.upn)) as email
    from int_directory_identities as i
    left join int_identity_matches as im using (upn)
),

names as (
    select lan_id as alias, email from identity_names where lan_id is not null
    union
    select upn, email from identity_names
    union
    select mail, email from identity_names where mail is not null
    union
    select username, coalesce(member_email, coalesce(email, username))
    from int_application_accounts
    union
    select email, email from int_members
)

select distinct alias, email from names
