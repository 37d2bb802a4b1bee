-- grain: one row per completed DAA envelope x party that must sign it, and whether they did
-- The parties are the group's current Sponsoring Physician, Group Administrator and, when
-- the group answered YES, its Corporate/Legal Representative. A party signed when a signer
-- of the envelope who signed has the party's email, stands for the party's role, or held
-- that role before (named it by the registration or a change request: the agreement is
-- the group's, and a change of person does not end it; stood_in_by names who, and
-- review_notes lists them). A sponsor who is also the administrator signs once, for both.
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
),

stood_for as (
    -- every signer of a completed envelope with each role they stood for: the role they
    -- signed under, and any role the group ever named them to
    select s.envelope_id, s.party, s.email
    from signed as s
    union
    select s.envelope_id, f.party, s.email
    from signed as s
    inner join envelopes as e using (envelope_id)
    inner join former_holders as f
        on f.request_number = e.request_number and f.email = s.email
),

group_people as (
    select distinct request_number, email from int_members
),

judged as (
    select
        e.request_number,
        e.envelope_id,
        e.completed_at,
        p.party,
        p.email as party_email,
        -- signed from the party's own address
        exists (
            select 1 from signed as s
            where s.envelope_id = e.envelope_id and s.email = p.email
        ) as signed_by_party_email,
        -- or someone stood for the party's role: signed for it, or held it before
        exists (
            select 1 from stood_for as f
            where f.envelope_id = e.envelope_id and f.party = p.party
        ) as signed_for_role,
        -- who else stood for the party, among the people the group names (perhaps the
        -- party's predecessor: review_notes lists them when the party did not sign); a
        -- signer for the role the group does not know is taken for the party's other
        -- mailbox
        coalesce((
            select list_sort(list(distinct f.email)) from stood_for as f
            inner join group_people as g
                on g.request_number = e.request_number and g.email = f.email
            where f.envelope_id = e.envelope_id and f.party = p.party and f.email <> p.email
        ), []) as stood_in_by,
    from envelopes as e
    inner join parties as p using (request_number)
)

select
    request_number,
    envelope_id,
    completed_at,
    party,
    party_email,
    signed_by_party_email or signed_for_role as has_signed,
    signed_by_party_email,
    stood_in_by,
from judged
