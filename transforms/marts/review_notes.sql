-- grain: one row per thing a reviewer must decide that is not a finding: an account whose
-- identity evidence is ambiguous, or a suffix the policy table does not know (treated as
-- Regular Staff until the policy says otherwise)
with ambiguities as (
    select
        'ambiguous account' as note,
        coalesce(application, 'directory') as subject,
        account as reference,
        evidence as detail,
    from int_identity_ambiguities
),

unknown_suffixes as (
    select
        'suffix not in the policy table' as note,
        suffix as subject,
        string_agg(distinct request_number, ', ' order by request_number) as reference,
        printf('%d active member(s) with this suffix are treated as Regular Staff; add it to '
               'contracts/policy/suffix_classes.csv', count(*)) as detail,
    from int_members
    where suffix_unknown and member_status = 'active'
    group by suffix
)

select * from ambiguities
union all
select * from unknown_suffixes
order by note, subject, reference
