-- grain: one row per thing a reviewer must decide that is not a finding: an account whose
-- identity evidence is ambiguous, a suffix the policy table does not know (treated as
-- Regular Staff until the policy says otherwise), or a DAA envelope no group can be
-- linked to
-- key: note, subject, reference?
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
),

unlinked_envelopes as (
    select
        'DAA envelope linked to no group' as note,
        envelope_id as subject,
        source_file || ':' || source_line as reference,
        unlinked_reason as detail,
    from int_daa_envelopes
    where request_number is null
)

select * from ambiguities
union all
select * from unknown_suffixes
union all
select * from unlinked_envelopes
order by note, subject, reference
