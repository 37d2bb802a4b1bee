-- grain: one row per thing a reviewer must decide that is not a finding: an account whose
-- identity evidence is ambiguous, a suffix the policy table does not know (treated as
-- Regular Staff until the policy says otherwise), a DAA envelope no group can be linked
-- to, a DAA in force that a party's predecessor signed for them, an account two rows
-- of the exports disagree on (enabled or active in one, not in the other), a group whose
-- submissions are among the inputs but not its registration, a removal of someone the
-- group never had (a mistyped address leaves the person meant with their access), or an
-- application change for someone no earlier submission added, inputs that hold no
-- sign-in at all (activity was not reviewed), sign-in evidence that ends well before the
-- as-of date (inactivity counted over days no export covers), or an export the evidence
-- store stands in for, read by a run well before this one (its accounts as they were
-- then); "well before": more than `evidence_age_days`; or a submission ServiceNow closed
-- without fulfilling it (rejected, cancelled, incomplete, skipped), which the review leaves
-- out; or an application no user list or access log reports the use of (APP_UNUSED not
-- judged for it)
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
),

predecessors as (
    -- a party of the agreement in force (int_group_daa) who did not sign it, counted by the
    -- signature of someone the group names in another place who signed for the role or
    -- held it before (int_daa_signatures.stood_in_by; a sponsor who was also the
    -- administrator signed once, for both): the person who held the role then. The
    -- agreement is the group's and stays in force for its term; its renewal needs the
    -- current party.
    select
        d.request_number,
        s.envelope_id,
        s.completed_at,
        d.lapses_on,
        s.party,
        s.party_email,
        array_to_string(s.stood_in_by, ', ') as signed_by,
    from int_group_daa as d
    inner join int_daa_signatures as s
        on s.request_number = d.request_number
        and s.envelope_id = d.last_completed_envelope_id
    where d.daa_active and not s.signed_by_party_email and len(s.stood_in_by) > 0
),

predecessor_signatures as (
    select
        'DAA signed by a former ' || lower(party) as note,
        request_number as subject,
        envelope_id as reference,
        printf('%s signed the DAA in force as the %s on %s; the group''s %s is now %s, who has '
               'not signed it. The agreement stays in force until %s; its renewal needs their '
               'signature.', signed_by, party, strftime(completed_at, '%Y-%m-%d'), party,
               party_email, strftime(lapses_on, '%Y-%m-%d')) as detail,
    from predecessors
),

account_rows as (
    -- every export row of an account, and whether it grants access
    select
        'directory' as source, upn as account, source_file, source_line,
        coalesce(enabled and not expired, false) as grants_access,
    from stg_directory_accounts
    union all
    select 'Entra ID', upn, source_file, source_line, coalesce(enabled, false)
    from stg_entra_users
    union all
    select application, username, source_file, source_line, coalesce(active, false)
    from stg_application_accounts
),

account_disagreements as (
    -- an account two rows disagree on counts as granting access
    -- (int_directory_identities, int_entitlements): the access stays in the review
    select
        if(source in ('directory', 'Entra ID'), 'directory user listed enabled and disabled',
           'application account listed active and inactive') as note,
        account as subject,
        source as reference,
        printf('%s in %s; %s in %s. Counted %s until the exports agree (remove the older '
               'one).',
               if(source in ('directory', 'Entra ID'), 'enabled', 'active'),
               string_agg(source_file || ':' || source_line, ', '
                          order by source_file, source_line) filter (where grants_access),
               if(source in ('directory', 'Entra ID'), 'disabled or expired', 'inactive'),
               string_agg(source_file || ':' || source_line, ', '
                          order by source_file, source_line) filter (where not grants_access),
               if(source in ('directory', 'Entra ID'), 'enabled', 'active'))
            as detail,
    from account_rows
    where account is not null
    group by account, source
    having count(distinct grants_access) > 1
),

unregistered_groups as (
    -- submissions (or a portal member list) naming a group no new_group registration
    -- among the inputs, or in the evidence store, registered
    select
        'submissions for a group not registered' as note,
        p.group_request_number as subject,
        string_agg(distinct p.request_number, ', ' order by p.request_number) as reference,
        printf('Submitted for this group, whose registration (a new_group submission) is '
               'not among the inputs: its %d active member(s) are reviewed with no sponsor, '
               'administrator or DAA (their access: NO_ACTIVE_DAA), and it has no row on '
               'the Groups sheet and no attestation workbook. Add the registration''s export.',
               (select count(*) from int_members as m
                where m.request_number = p.group_request_number
                  and m.member_status = 'active')) as detail,
    from stg_enrollment_people as p
    where p.group_request_number is not null
      and p.group_request_number not in (select request_number from int_groups
                                          where request_number is not null)
    group by p.group_request_number
),

member_history as (
    -- each person's additions and removals in a group, in submission order
    select
        group_request_number, email, request_number, request_type, action, submitted_at,
        count(*) filter (where action = 'add') over (
            partition by group_request_number, email order by submitted_at, request_number
            rows between unbounded preceding and 1 preceding) as earlier_adds,
        count(*) filter (where action = 'add') over (
            partition by group_request_number, email) as adds,
    from stg_enrollment_people
    where email is not null and group_request_number in (select request_number from int_groups)
),

unknown_removals as (
    select
        'removal of someone the group does not have' as note,
        group_request_number as subject,
        request_number as reference,
        printf('%s (%s) removes %s, whom no submission added to this group: nothing was '
               'removed. If the address is mistyped, the member it meant keeps their access.',
               request_number, strftime(min(submitted_at), '%Y-%m-%d'), email) as detail,
    from member_history
    where action = 'remove' and adds = 0
    group by group_request_number, request_number, email
),

changes_for_non_members as (
    select
        'application change for someone not added' as note,
        group_request_number as subject,
        request_number as reference,
        printf('%s (%s) changes the applications of %s, whom no earlier submission added '
               'to this group: reviewed as a member from that request.', request_number,
               strftime(min(submitted_at), '%Y-%m-%d'), email) as detail,
    from member_history
    where request_type = 'change_applications' and earlier_adds = 0
    group by group_request_number, request_number, email
),

no_sign_in_evidence as (
    -- enabled accounts, and not one sign-in among the inputs: whether they were ever used
    -- cannot be told (int_member_activity judges nobody never signed in)
    select
        'no sign-in evidence' as note,
        'sign-in activity' as subject,
        null as reference,
        printf('None of the inputs holds a sign-in for any of the %d member(s) with an '
               'enabled account: no sign-in or access log, Entra ID users without '
               'signInActivity, AD exports without lastLogonTimestamp, application lists '
               'without last access. Nobody was judged dormant or never signed in: add '
               'sign-in evidence to review activity.', count(*)) as detail,
    from int_member_activity
    where has_enabled_account
    having count(*) > 0
        and (select latest_sign_in_at is null from int_evidence_age)
),

sign_in_evidence_ends_early as (
    select
        'sign-in evidence ends early' as note,
        'sign-in activity' as subject,
        strftime(latest_sign_in_at, '%Y-%m-%d') as reference,
        printf('The latest sign-in among the inputs, anyone''s, is on %s, %d days before the '
               'as-of date %s. Inactivity is counted up to the as-of date, so members may be '
               'judged dormant, or their applications unused, for days no export covers. '
               'Check the as-of date, or add current exports.',
               strftime(latest_sign_in_at, '%Y-%m-%d'), days_before_as_of,
               strftime(as_of, '%Y-%m-%d')) as detail,
    from int_evidence_age
    where ends_early
),

application_use_unreported as (
    -- active accounts of an application no user list or access log gives a last use for
    -- (rule_app_unused leaves it out)
    select
        'application use not reported' as note,
        application as subject,
        null as reference,
        printf('No user list or access log gives a last use for any of the %d active %s '
               'account(s): whether they are used cannot be told, and APP_UNUSED was not '
               'judged for %s. Export the list with its last access date, or add its '
               'access log.', count(distinct username), application, application) as detail,
    from int_application_accounts
    where coalesce(active, false)
    group by application
    having count(last_access_at) = 0
),

closed_submissions as (
    select
        'submission closed without effect' as note,
        request_number as subject,
        source_file || ':' || source_line as reference,
        printf('ServiceNow closed this %s submission of %s (%s) as %s: what it adds, '
               'removes or changes is left out of the review. An account made for it has '
               'no request (NOT_REQUESTED).', replace(request_type, '_', ' '),
               coalesce(group_request_number, 'no group'),
               coalesce(strftime(submitted_at, '%Y-%m-%d'), 'undated'), closed_as) as detail,
    from stg_enrollment_withdrawals
),

snapshots_from_store as (
    -- an export (directory, Entra users, an application list, a portal list) the folder
    -- has none of, taken from the evidence store as the run that read it left it
    select
        'export taken from the evidence store' as note,
        s.source_file as subject,
        strftime(s.stored_as_of, '%Y-%m-%d') as reference,
        printf('The input folder holds no export of this kind. The one the run as of %s '
               'read, %d days before this review, stands in for it: its accounts are '
               'reviewed as they were then. Add a current export.',
               strftime(s.stored_as_of, '%Y-%m-%d'), p.as_of - s.stored_as_of) as detail,
    from input_stored_snapshots as s
    cross join run_parameters as p
    where p.as_of - s.stored_as_of > p.evidence_age_days
)

select * from ambiguities
union all
select * from unknown_suffixes
union all
select * from unlinked_envelopes
union all
select * from predecessor_signatures
union all
select * from account_disagreements
union all
select * from unregistered_groups
union all
select * from unknown_removals
union all
select * from changes_for_non_members
union all
select * from no_sign_in_evidence
union all
select * from sign_in_evidence_ends_early
union all
select * from application_use_unreported
union all
select * from closed_submissions
union all
select * from snapshots_from_store
order by note, subject, reference
