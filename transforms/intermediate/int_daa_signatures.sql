-- grain: one row per completed DAA envelope x party that must sign it, and whether they did
-- The parties are the group's current Sponsoring Physician, Group Administrator and, when
-- the group answered YES, its Corporate/Legal Representative. A party signed when a signer
-- of the envelope who signed has the party's email, stands for the party's role, or held
-- that role before (named it by the registration or a change request: the agreement is
-- the group's, and a change of person does not end it; review_notes says so). A sponsor
-- who is also the administrator signs once, for both.
-- key: envelope_id, party, party_email?
with envelopes as (
    select * from int_daa_envelopes
    where status = 'completed' and completed_at is not null
),

parties as (
    select request_number, 'Sponsoring Physician' as party, email
    from int_members
    where staff_type = 'Sponsoring Physician' and member_status = 'active'
    union all
    select request_number, 'Group Administrator' as party, email
    from int_members
    where is_group_admin and member_status = 'active'
    union all
    select request_number, 'Corporate/Legal Representative' as party, corporate_rep_email
    from int_groups
    where has_corporate_rep
),

former_holders as (
    -- everyone the group ever named its sponsor or administrator
    select request_number, 'Sponsoring Physician' as party, email
    from int_members
    where ever_sponsor
    union all
    select request_number, 'Group Administrator' as party, email
    from int_members
    where ever_admin
),

signed as (
    select * from stg_daa_recipients where has_signed
)

select
    e.request_number,
    e.envelope_id,
    e.completed_at,
    p.party,
    p.email as party_email,
    exists (
        select 1 from signed as s
        where s.envelope_id = e.envelope_id
            and (s.email = p.email or s.party = p.party or exists (
                select 1 from former_holders as f
                where f.request_number = e.request_number and f.party = p.party
                    and f.email = s.email))
    ) as has_signed,
    -- signed from the party's own address (else for the party's role or by a former
    -- holder of it: perhaps their predecessor; review_notes says which)
    exists (
        select 1 from signed as s
        where s.envelope_id = e.envelope_id and s.email = p.email
    ) as signed_by_party_email,
from envelopes as e
inner join parties as p using (request_number)
