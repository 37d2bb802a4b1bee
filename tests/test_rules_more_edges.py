"""The rest of the findings catalog at its edges (DAA, provisioning, use, identity,
group roles, application details), on hand-written organisations in the real formats."""

from __future__ import annotations

import datetime as dt

import pytest

from ccreview.core.config import ReviewConfig
from tests.cases import AS_OF, Account, AppAccount, Case, days_ago, person

RN = "CS0000001"
SPONSOR = person("Ada", "Lovelace", "Sponsoring Physician", "MD", ("CERNER",))
ADMIN = person("Grace", "Hopper", "Group Administrator", "Office Manager", ("CERNER",))
ALAN = person("Alan", "Turing", "Staff", "Billing", ("CERNER", "PACS"))
ALAN_EMAIL = ALAN["email"]


def findings(tmp_path, case: Case, rule: str, config: ReviewConfig | None = None) -> set:
    from tests.conftest import build_warehouse

    con = build_warehouse(case.write(tmp_path / "in"), AS_OF, config)
    rows = con.execute("select request_number, email, application from findings "
                       "where rule = ?", [rule]).fetchall()
    return {tuple(v or None for v in row) for row in rows}  # '' (not applicable) as None


def base(members=(ALAN,), daa=True, **group) -> Case:
    """One group whose sponsor and administrator sign in daily; Alan signs in too."""
    case = Case()
    case.register(RN, SPONSOR, ADMIN, list(members), daa=daa, **group)
    for lan, who in (("ada", SPONSOR), ("grace", ADMIN)):
        case.accounts.append(Account(lan, who["email"], entra_last_success=days_ago(1)))
        case.app_accounts.append(AppAccount("CERNER", lan, last_access=days_ago(1)))
    return case


def alan_accounts(case: Case, apps=("CERNER", "PACS"), **account) -> Case:
    account.setdefault("entra_last_success", days_ago(1))
    case.accounts.append(Account("alan", ALAN_EMAIL, **account))
    for app in apps:
        case.app_accounts.append(AppAccount(app, "alan", last_access=days_ago(2)))
    return case


def test_a_compliant_group_has_no_findings(tmp_path):
    from tests.conftest import build_warehouse

    con = build_warehouse(alan_accounts(base()).write(tmp_path / "in"), AS_OF)
    assert con.execute("select rule, email, application, detail from findings").fetchall() == []


# -- DAA ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("signed_days_ago", "due", "lapsed"), [
    (334, False, False),  # lapses in 31 days
    (335, True, False),   # lapses in exactly 30 days: inside the notice window
    (336, True, False),   # lapses in 29 days
    (364, True, False),   # lapses tomorrow: the last day in force
    (365, False, True),   # lapses today: no longer in force, never "renewal due"
    (366, False, True),   # lapsed yesterday
])
def test_daa_renewal_and_lapse_at_their_edges(tmp_path, signed_days_ago, due, lapsed):
    case = alan_accounts(base(daa=False))
    case.daa(RN, completed=days_ago(signed_days_ago - 0.5))
    assert bool(findings(tmp_path, case, "DAA_RENEWAL_DUE")) is due
    no_daa = findings(tmp_path / "b", case, "NO_ACTIVE_DAA")
    assert bool(no_daa) is lapsed
    if lapsed:
        assert (RN, ALAN_EMAIL, "PACS") in no_daa


def test_unsigned_renewal_does_not_end_an_agreement_in_force(tmp_path):
    case = alan_accounts(base(daa=False))
    case.daa(RN, completed=days_ago(340))
    case.daa(RN, status="sent", sent=days_ago(5))
    assert findings(tmp_path, case, "NO_ACTIVE_DAA") == set()
    assert findings(tmp_path / "b", case, "DAA_RENEWAL_DUE") == {(RN, None, None)}


def test_a_daa_completed_after_the_as_of_date_was_not_in_force_on_it(tmp_path):
    """A past review re-run on a DocuSign export taken later: the renewal completed three
    days after the as-of date did not keep the lapsed agreement in force on it, and a
    first agreement completed after it was still out for signature then."""
    from tests.conftest import build_warehouse

    case = alan_accounts(base(daa=False))
    case.daa(RN, completed=days_ago(370))                      # lapsed 5 days before
    case.daa(RN, completed=days_ago(-3), sent=days_ago(10))    # renewed 3 days after
    con = build_warehouse(case.write(tmp_path / "a"), AS_OF)
    assert con.execute("select daa_state from int_group_daa").fetchall() == [("lapsed",)]
    assert (RN, ALAN_EMAIL, "PACS") in {
        r for r in con.execute("select request_number, email, application from findings "
                               "where rule = 'NO_ACTIVE_DAA'").fetchall()}
    case = alan_accounts(base(daa=False))
    case.daa(RN, completed=days_ago(-3), sent=days_ago(10))
    con = build_warehouse(case.write(tmp_path / "b"), AS_OF)
    assert con.execute("select daa_state from int_group_daa").fetchall() == [("sent",)]
    assert con.execute("select count(*) from findings where rule = 'NO_ACTIVE_DAA'"
                       ).fetchone()[0] > 0
    case.daa(RN, status="sent", sent=days_ago(-2))  # sent after it: not there yet
    con = build_warehouse(case.write(tmp_path / "c"), AS_OF)
    assert con.execute("select daa_state from int_group_daa").fetchall() == [("sent",)]
    assert con.execute("select count(*) from int_daa_envelopes").fetchone() == (1,)


def test_corporate_representative_declined_the_daa(tmp_path):
    case = alan_accounts(base(daa=False, corporate="YES", corporate_name="Legal Rep",
                              corporate_email="rep@x.example"))
    case.daa(RN, status="declined", declined_by="Corporate or Legal Representative")
    found = findings(tmp_path, case, "NO_ACTIVE_DAA")
    assert (RN, ALAN_EMAIL, "CERNER") in found and (RN, ALAN_EMAIL, "PACS") in found
    assert findings(tmp_path / "b", case, "NOT_PROVISIONED") == set()  # no DAA: not due


# -- provisioning and requests -----------------------------------------------------------

@pytest.mark.parametrize(("requested_days_ago", "overdue"), [(7, False), (8, True)])
def test_not_provisioned_after_the_window(tmp_path, requested_days_ago, overdue):
    late = person("Joan", "Clarke", "Staff", "Billing", ("CERNER",))
    case = alan_accounts(base())
    case.change("CS0000002", RN, "add_members", [late], days_ago(requested_days_ago - 0.5))
    expected = {(RN, late["email"], "CERNER")} if overdue else set()
    assert findings(tmp_path, case, "NOT_PROVISIONED") == expected


def test_an_overdue_request_the_policy_forbids_says_not_to_provision_it(tmp_path):
    """Regular Staff asking for Qventus: ROLE_NOT_ALLOWED, and the request is overdue like
    any other — but "chase the provisioning team" must not be the whole story: its detail
    says to close it instead. An allowed request's detail says nothing of the kind."""
    from tests.conftest import build_warehouse

    alan = dict(ALAN, applications=["Cerner Millennium", "PACS Synapse", "Qventus"],
                qventus={"role": "Scheduler", "facilities": ["Main OR"]})
    case = alan_accounts(base(members=(alan,)))
    con = build_warehouse(case.write(tmp_path / "in"), AS_OF)
    assert con.execute("select rule, application, detail from findings where email = ? "
                       "order by rule", [ALAN_EMAIL]).fetchall() == [
        ("NOT_PROVISIONED", "QVENTUS",
         f"Requested in {RN} on {days_ago(500):%Y-%m-%d}, DAA in force since "
         f"{days_ago(100):%Y-%m-%d}; no active QVENTUS account 100 days later (window 7 "
         "days); the policy does not allow it for this role (ROLE_NOT_ALLOWED): close the "
         "request rather than provision it"),
        ("ROLE_NOT_ALLOWED", "QVENTUS",
         "Staff with a Regular Staff suffix (Billing) may not have QVENTUS; requested")]


def test_account_without_request_is_not_requested(tmp_path):
    case = alan_accounts(base(), apps=("CERNER", "PACS", "QVENTUS"))
    assert findings(tmp_path, case, "NOT_REQUESTED") == {(RN, ALAN_EMAIL, "QVENTUS")}


# -- use ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("created_days_ago", "flagged"), [(30, False), (31, True)])
def test_never_signed_in_after_the_grace_period(tmp_path, created_days_ago, flagged):
    case = base()
    case.accounts.append(Account("alan", ALAN_EMAIL, created=days_ago(created_days_ago - 0.5)))
    expected = {(RN, ALAN_EMAIL, None)} if flagged else set()
    assert findings(tmp_path, case, "NEVER_SIGNED_IN") == expected
    assert findings(tmp_path / "b", case, "DORMANT_ACCOUNT") == set()


@pytest.mark.parametrize(("last_used_days_ago", "flagged"), [(90, False), (91, True)])
def test_app_unused_at_the_threshold(tmp_path, last_used_days_ago, flagged):
    case = alan_accounts(base(), apps=("CERNER",))
    case.app_accounts.append(AppAccount("PACS", "alan", last_access=days_ago(last_used_days_ago)))
    expected = {(RN, ALAN_EMAIL, "PACS")} if flagged else set()
    assert findings(tmp_path, case, "APP_UNUSED") == expected


def test_a_dormant_person_is_dormant_not_app_unused(tmp_path):
    case = base()
    case.accounts.append(Account("alan", ALAN_EMAIL, entra_last_success=days_ago(200)))
    case.app_accounts.append(AppAccount("PACS", "alan", last_access=days_ago(200)))
    assert findings(tmp_path, case, "APP_UNUSED") == set()
    assert findings(tmp_path / "b", case, "DORMANT_ACCOUNT") == {(RN, ALAN_EMAIL, None)}


def test_disabled_or_expired_directory_account_with_application_access(tmp_path):
    case = alan_accounts(base(), enabled=False)
    assert findings(tmp_path, case, "DISABLED_WITH_ACCESS") == {
        (RN, ALAN_EMAIL, "CERNER"), (RN, ALAN_EMAIL, "PACS")}


@pytest.mark.parametrize(("expires_utc", "expired"), [
    (dt.datetime(2026, 11, 1, 7, tzinfo=dt.UTC), True),     # "end of 31 October" (Phoenix)
    (dt.datetime(2026, 11, 1, 0, tzinfo=dt.UTC), True),     # 17:00 on 31 October
    (dt.datetime(2026, 11, 1, 22, tzinfo=dt.UTC), False),   # 15:00 on the as-of date
    (dt.datetime(2026, 11, 2, 0, tzinfo=dt.UTC), False),    # the UTC midnight after it
    (dt.datetime(2026, 11, 2, 7, tzinfo=dt.UTC), False),    # "end of 1 November"
])
def test_an_account_expired_when_the_as_of_date_began_is_expired_on_it(tmp_path, expires_utc,
                                                                        expired):
    """AD's accountExpires as Active Directory Users and Computers sets it ("end of" a
    day: the next midnight on the domain's clock, Phoenix here): expired on the as-of date
    when it was reached as that date began on the hospital's clock, as a DAA lapses at the
    start of its lapse date. The end of 31 October is 07:00 UTC on 1 November, which the
    UTC midnight the review had compared with had not reached."""
    case = alan_accounts(base(), expires=expires_utc)
    found = findings(tmp_path, case, "DISABLED_WITH_ACCESS")
    assert found == ({(RN, ALAN_EMAIL, "CERNER"), (RN, ALAN_EMAIL, "PACS")} if expired
                     else set())


def test_expiry_on_a_day_the_hospitals_clock_changes(tmp_path):
    """New York's 1 November 2026 begins at 04:00 UTC (midnight EDT) and lasts 25 hours:
    an account expiring at 04:30 UTC (00:30 that day) had not expired when the day began;
    the end of the day minus 24 hours (05:00 UTC) would have called it expired."""
    from ccreview.core.config import TimeZones

    config = ReviewConfig(time_zones=TimeZones(adt="America/New_York"))
    case = alan_accounts(base(), expires=dt.datetime(2026, 11, 1, 4, 30, tzinfo=dt.UTC))
    assert findings(tmp_path, case, "DISABLED_WITH_ACCESS", config) == set()
    case = alan_accounts(base(), expires=dt.datetime(2026, 11, 1, 4, 0, tzinfo=dt.UTC))
    assert findings(tmp_path / "b", case, "DISABLED_WITH_ACCESS", config) == {
        (RN, ALAN_EMAIL, "CERNER"), (RN, ALAN_EMAIL, "PACS")}


def test_removed_member_with_access_left_on(tmp_path):
    case = alan_accounts(base())
    case.change("CS0000002", RN, "remove_members", [{"email": ALAN_EMAIL}], days_ago(20))
    assert findings(tmp_path, case, "REMOVED_MEMBER_ACTIVE") == {
        (RN, ALAN_EMAIL, None), (RN, ALAN_EMAIL, "CERNER"), (RN, ALAN_EMAIL, "PACS")}


def test_removed_from_one_group_but_active_in_another_keeps_access(tmp_path):
    case = alan_accounts(base())
    case.register("CS0000009", person("Kurt", "Godel", "Sponsoring Physician", "MD"), None,
                  [ALAN], submitted=days_ago(300))
    case.change("CS0000002", RN, "remove_members", [{"email": ALAN_EMAIL}], days_ago(20))
    assert findings(tmp_path, case, "REMOVED_MEMBER_ACTIVE") == set()


# -- identity ----------------------------------------------------------------------------

def test_same_email_in_two_groups_differing_in_case_is_a_duplicate(tmp_path):
    case = alan_accounts(base())
    again = dict(ALAN, email=" Alan.TURING@clinic.example")
    case.register("CS0000009", person("Kurt", "Godel", "Sponsoring Physician", "MD"), None,
                  [again], submitted=days_ago(30))
    assert findings(tmp_path, case, "DUPLICATE_IDENTITY") == {("CS0000009", ALAN_EMAIL, None)}


def test_same_npi_under_another_email_is_a_duplicate(tmp_path):
    doc = person("Joan", "Clarke", "Provider", "MD", ("CERNER",))
    twin = person("Joan", "Clarke", "Provider", "MD", ("CERNER",), email="jc@elsewhere.example")
    case = base(members=(ALAN, doc))
    case.change("CS0000002", RN, "add_members", [twin], days_ago(10))
    twin["npi"] = doc["npi"]
    assert findings(tmp_path, case, "DUPLICATE_IDENTITY") == {(RN, "jc@elsewhere.example", None)}


def test_second_enabled_directory_account_is_a_duplicate(tmp_path):
    case = alan_accounts(base())
    case.accounts.append(Account("alan2", ALAN_EMAIL, created=days_ago(50),
                                 entra_last_success=days_ago(3)))
    case.accounts.append(Account("alan3", ALAN_EMAIL, enabled=False))  # disabled: not counted
    assert findings(tmp_path, case, "DUPLICATE_IDENTITY") == {(RN, ALAN_EMAIL, None)}


# -- roles -------------------------------------------------------------------------------

def test_sponsor_who_is_also_administrator_is_a_valid_group(tmp_path):
    case = Case()
    case.register(RN, SPONSOR, None, [ALAN])
    assert findings(tmp_path, case, "GROUP_ROLES_INVALID") == set()


def _build(tmp_path, case: Case):
    from tests.conftest import build_warehouse

    return build_warehouse(case.write(tmp_path / "in"), AS_OF)


def test_sponsor_entered_again_as_the_administrator(tmp_path):
    """The form's "same as sponsor" box left unticked and the sponsor typed in again as the
    administrator: one person, the group's sponsor and its administrator, whose repeated
    Cerner request is quarantined (not counted twice, and the run does not stop)."""
    again = dict(SPONSOR, staff_type="Group Administrator",
                 applications=["Cerner Millennium", "PACS Synapse"])
    case = Case()
    case.register(RN, SPONSOR, again, [ALAN])
    case.accounts.append(Account("ada", SPONSOR["email"], entra_last_success=days_ago(1)))
    case.app_accounts += [AppAccount(app, "ada", last_access=days_ago(1))
                          for app in ("CERNER", "PACS")]
    alan_accounts(case)
    con = _build(tmp_path, case)
    assert con.execute("select rule from findings").fetchall() == []
    assert con.execute("select staff_type, is_group_admin from int_members where email = ?",
                       [SPONSOR["email"].lower()]).fetchall() == [("Sponsoring Physician",
                                                                    True)]
    assert con.execute("select application from int_requested_applications where email = ? "
                       "order by 1", [SPONSOR["email"].lower()]).fetchall() == [
        ("CERNER",), ("PACS",)]
    assert con.execute("select table_name, column_name, rule, reason from quarantine"
                       ).fetchall() == [
        ("enrollment_app_requests", "group_administrator.applications", "repeated_request",
         "the person already requested this application in this submission "
         "(sponsoring_physician.applications); that request is used")]


def test_an_application_named_twice_is_one_request(tmp_path):
    twice = dict(ALAN, applications=["Cerner Millennium", "PACS Synapse", "Cerner Millennium"])
    con = _build(tmp_path, alan_accounts(base(members=(twice,))))
    assert con.execute("select rule from findings").fetchall() == []
    assert con.execute("select application from int_requested_applications where email = ? "
                       "order by 1", [ALAN_EMAIL]).fetchall() == [("CERNER",), ("PACS",)]
    assert con.execute("select column_name, rule from quarantine").fetchall() == [
        ("members[0].applications", "repeated_request")]


def test_a_signer_listed_twice_in_one_envelope(tmp_path):
    """DocuSign lets one person sign in one role at two routing orders: the first entry
    still waiting and the second signed is a signature, and the run does not stop."""
    case = alan_accounts(base(daa=False))
    signed = {"status": "completed", "signedDateTime": "2026-07-24T10:00:00Z"}
    case.daa(RN, completed=days_ago(100), signers=[
        {"recipientId": "1", "routingOrder": "1", "roleName": "Sponsoring Physician",
         "email": SPONSOR["email"], "name": "Ada Lovelace", "status": "delivered"},
        {"recipientId": "2", "routingOrder": "2", "roleName": "Sponsoring Physician",
         "email": SPONSOR["email"], "name": "Ada Lovelace", **signed},
        {"recipientId": "3", "routingOrder": "3", "roleName": "Group Administrator",
         "email": ADMIN["email"], "name": "Grace Hopper", **signed}])
    con = _build(tmp_path, case)
    assert con.execute("select rule from findings").fetchall() == []
    assert con.execute("select source_path, has_signed from stg_daa_recipients "
                       "where party = 'Sponsoring Physician' order by 1").fetchall() == [
        ("signers[0]", False), ("signers[1]", True)]


def _iso_z(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _roles_change(case: Case, rn: str, submitted, **sections) -> None:
    """A change_group_roles request naming a new sponsor and/or administrator."""
    case.submissions.append({"request_number": rn, "request_type": "change_group_roles",
                             "group_request_number": RN,
                             "submitted_at": submitted.strftime("%Y-%m-%dT%H:%M:%SZ"),
                             **sections})


def test_a_group_administrator_replaced_by_a_change_request(tmp_path):
    """The guide's "Group Admin / Physician sponsor change requests": a change_group_roles
    request naming Alan the administrator replaces Grace, who stays a member as Staff (her
    suffix); the group has one administrator again, and nothing else is found."""
    case = alan_accounts(base())
    _roles_change(case, "CS0000301", days_ago(20),
                  group_administrator=dict(ALAN, staff_type="Group Administrator"))
    con = _build(tmp_path, case)
    assert con.execute("select email, staff_type, is_group_admin from int_members "
                       "order by email").fetchall() == [
        (SPONSOR["email"].lower(), "Sponsoring Physician", False),
        (ALAN_EMAIL, "Group Administrator", True),
        (ADMIN["email"].lower(), "Staff", False)]
    assert con.execute("select rule from findings").fetchall() == []
    # the DAA in force is the group's, signed by Grace as its administrator 100 days ago:
    # it stays in force, and the reviewer is told its renewal needs Alan's signature
    assert con.execute("select note, subject, reference, detail from review_notes"
                       ).fetchall() == [_former_administrator_note(ADMIN["email"], "env-1")]


def _former_administrator_note(signer: str, envelope: str) -> tuple:
    """The To resolve row for the case's DAA (completed 100 days ago), signed by `signer`
    as administrator before Alan was named to the role."""
    return ("DAA signed by a former group administrator", RN, envelope,
            f"{signer.lower()} signed the DAA in force as the Group Administrator on "
            f"{days_ago(100):%Y-%m-%d}; the group's Group Administrator is now {ALAN_EMAIL}, "
            f"who has not signed it. The agreement stays in force until "
            f"{days_ago(100).date() + dt.timedelta(days=365):%Y-%m-%d}; its renewal needs "
            "their signature.")


def test_a_sponsor_who_was_the_administrator_hands_that_role_on(tmp_path):
    """The common case in a small practice: the physician registered as sponsor and
    administrator, signed the DAA once for both, and later names the office manager the
    administrator. The agreement stays in force (no NO_ACTIVE_DAA for the whole group: the
    sponsor's signature stood for the administrator then), and the reviewer is told."""
    case = Case()
    case.register(RN, SPONSOR, None, [ALAN])  # Ada is sponsor and administrator
    case.accounts.append(Account("ada", SPONSOR["email"], entra_last_success=days_ago(1)))
    case.app_accounts.append(AppAccount("CERNER", "ada", last_access=days_ago(1)))
    alan_accounts(case)
    _roles_change(case, "CS0000303", days_ago(20),
                  group_administrator=dict(ALAN, staff_type="Group Administrator"))
    con = _build(tmp_path, case)
    assert con.execute("select email, staff_type, is_group_admin from int_members "
                       "order by email").fetchall() == [
        (SPONSOR["email"].lower(), "Sponsoring Physician", False),
        (ALAN_EMAIL, "Group Administrator", True)]
    assert con.execute("select rule from findings").fetchall() == []
    assert con.execute("select note, subject, reference, detail from review_notes"
                       ).fetchall() == [_former_administrator_note(SPONSOR["email"], "env-1")]


def test_a_renewal_signed_by_the_new_administrator_leaves_no_note(tmp_path):
    """Near misses of the note above: the DAA in force signed by the administrator named
    since (a renewal after the change), or by the party from an address the group does not
    know (the same person's other mailbox), is the party's own signature."""
    case = alan_accounts(base())
    _roles_change(case, "CS0000301", days_ago(20),
                  group_administrator=dict(ALAN, staff_type="Group Administrator"))
    signed = {"status": "completed", "signedDateTime": _iso_z(days_ago(5))}
    case.daa(RN, completed=days_ago(5), signers=[
        {"roleName": "Sponsoring Physician", "email": "ada.home@mail.example", **signed},
        {"roleName": "Group Administrator", "email": ALAN_EMAIL, **signed}])
    con = _build(tmp_path, case)
    assert con.execute("select rule from findings").fetchall() == []
    assert con.execute("select note from review_notes").fetchall() == []


def test_a_newer_envelope_the_new_administrator_did_not_sign_moves_no_note(tmp_path):
    """After the change, a renewal DocuSign marks completed that Alan never signed is not in
    force: the agreement in force is still the one Grace signed, and the note names it, not
    the newer envelope; the group's overview says whom the newer one lacks."""
    case = alan_accounts(base())
    _roles_change(case, "CS0000301", days_ago(20),
                  group_administrator=dict(ALAN, staff_type="Group Administrator"))
    case.daa(RN, completed=days_ago(5), unsigned=("Group Administrator",))
    con = _build(tmp_path, case)
    assert con.execute("select rule from findings").fetchall() == []
    assert con.execute("select note, subject, reference, detail from review_notes"
                       ).fetchall() == [_former_administrator_note(ADMIN["email"], "env-1")]
    assert con.execute("select daa_missing_signers from group_overview").fetchall() == [
        ("Group Administrator",)]


def _notes(con) -> list[tuple]:
    return con.execute("select note, subject, reference, detail from review_notes "
                       "order by all").fetchall()


def test_a_removal_naming_someone_the_group_never_had_is_listed(tmp_path):
    """A removal request whose address matches no member removes nobody: the member the
    practice meant (a typo in the address) keeps their access. Nothing was said of it."""
    case = alan_accounts(base())
    case.change("CS0000401", RN, "remove_members", [{"email": "alan.turnig@clinic.example"}],
                days_ago(10))
    con = _build(tmp_path, case)
    assert con.execute("select email, member_status from int_members where email like "
                       "'alan%'").fetchall() == [(ALAN_EMAIL, "active")]
    assert con.execute("select rule from findings").fetchall() == []
    assert _notes(con) == [(
        "removal of someone the group does not have", RN, "CS0000401",
        f"CS0000401 ({days_ago(10):%Y-%m-%d}) removes alan.turnig@clinic.example, whom no "
        "submission added to this group: nothing was removed. If the address is mistyped, "
        "the member it meant keeps their access.")]
    # removing a member the group has says nothing
    case = alan_accounts(base())
    case.change("CS0000402", RN, "remove_members", [{"email": ALAN_EMAIL}], days_ago(10))
    assert _notes(_build(tmp_path / "b", case)) == []


def test_an_application_change_for_someone_never_added_is_listed(tmp_path):
    """A change_applications request for a person no earlier submission added: reviewed
    as a member from that request (their requests are real), and the reviewer is told."""
    case = alan_accounts(base())
    zed = person("Zed", "Zero", apps=("CERNER",))
    case.change("CS0000402", RN, "change_applications", [zed], days_ago(10))
    con = _build(tmp_path, case)
    assert con.execute("select member_status from int_members where email = ?",
                       [zed["email"]]).fetchall() == [("active",)]
    assert _notes(con) == [(
        "application change for someone not added", RN, "CS0000402",
        f"CS0000402 ({days_ago(10):%Y-%m-%d}) changes the applications of {zed['email']}, "
        "whom no earlier submission added to this group: reviewed as a member from that "
        "request.")]
    # Alan's own change of applications is an ordinary one
    case = alan_accounts(base())
    case.change("CS0000403", RN, "change_applications", [ALAN], days_ago(10))
    assert _notes(_build(tmp_path / "b", case)) == []


def test_submissions_for_a_group_whose_registration_is_missing_are_listed(tmp_path):
    """Members added to a group whose registration is not among the inputs (an export
    window that missed it) had no group row, no attestation and a NO_ACTIVE_DAA finding
    with an empty detail; nothing said why."""
    case = alan_accounts(base())
    yan = person("Yan", "Yellow", apps=("CERNER",))
    case.change("CS0000403", "CS0000999", "add_members", [yan], days_ago(10))
    case.accounts.append(Account("yan", yan["email"], entra_last_success=days_ago(1)))
    case.app_accounts.append(AppAccount("CERNER", "yan", last_access=days_ago(1)))
    con = _build(tmp_path, case)
    assert con.execute("select rule, request_number, email, application, detail "
                       "from findings").fetchall() == [
        ("NO_ACTIVE_DAA", "CS0000999", yan["email"], "CERNER",
         "Active CERNER account while the group's DAA is unknown: the group's registration "
         "is not among the inputs")]
    assert _notes(con) == [(
        "submissions for a group not registered", "CS0000999", "CS0000403",
        "Submitted for this group, whose registration (a new_group submission) is not among "
        "the inputs: its 1 active member(s) are reviewed with no sponsor, administrator or "
        "DAA (their access: NO_ACTIVE_DAA), and it has no row on the Groups sheet and no "
        "attestation workbook. Add the registration's export.")]


def test_a_sponsor_replaced_by_a_change_request(tmp_path):
    """A new Sponsoring Physician named by a change request: the former one stays a member
    as a Provider (an MD), and the group has one sponsor."""
    joan = person("Joan", "Clarke", "Sponsoring Physician", "MD", ("CERNER",))
    case = base()
    _roles_change(case, "CS0000302", days_ago(20), sponsoring_physician=joan)
    con = _build(tmp_path, case)
    assert con.execute("select email, staff_type from int_members where staff_type in "
                       "('Sponsoring Physician', 'Provider') order by email").fetchall() == [
        (SPONSOR["email"].lower(), "Provider"), (joan["email"].lower(), "Sponsoring Physician")]
    assert findings(tmp_path / "again", case, "GROUP_ROLES_INVALID") == set()


def test_group_roles_invalid(tmp_path):
    second_admin = person("Hedy", "Lamarr", "Group Administrator", "Staff", ("CERNER",))
    case = Case()
    case.register(RN, SPONSOR, None, [second_admin])  # sponsor is admin, and so is Hedy
    case.register("CS0000002", SPONSOR, ADMIN, [], corporate="YES", corporate_name="Legal")
    case.register("CS0000003", person("Kurt", "Godel", "Sponsoring Physician", "MD"), ADMIN,
                  [])
    case.change("CS0000004", "CS0000003", "remove_members", [{"email": ADMIN["email"]}],
                days_ago(3))
    con_rows = findings(tmp_path, case, "GROUP_ROLES_INVALID")
    assert con_rows == {(RN, None, None), ("CS0000002", None, None), ("CS0000003", None, None)}


@pytest.mark.parametrize(("change", "problem"), [
    ({"npi": "1234567890"}, "NPI"),
    ({"state_license_number": ""}, "license number"),
    ({"licensed_state": ""}, "licensed state"),
    ({"suffix": "Office Manager"}, "Provider suffix"),
])
def test_sponsor_not_qualified(tmp_path, change, problem):
    from tests.conftest import build_warehouse

    case = Case()
    case.register(RN, dict(SPONSOR, **change), ADMIN, [])
    con = build_warehouse(case.write(tmp_path / "in"), AS_OF)
    rows = con.execute("select email, detail from findings where rule = "
                       "'SPONSOR_NOT_QUALIFIED'").fetchall()
    assert len(rows) == 1 and rows[0][0] == SPONSOR["email"] and problem in rows[0][1]


def test_qualified_nurse_practitioner_sponsor(tmp_path):
    case = Case()
    case.register(RN, dict(SPONSOR, suffix="NP"), ADMIN, [])
    assert findings(tmp_path, case, "SPONSOR_NOT_QUALIFIED") == set()


@pytest.mark.parametrize("suffix", ["MD", "M.D.", "m.d.", "MD.", "D.O.", " N.P. ", "P.A."])
def test_a_provider_suffix_written_with_periods_is_a_provider_suffix(tmp_path, suffix):
    """`M.D.` is how many people write MD: the same suffix (Provider class), not an
    unknown one that makes the sponsor unqualified and the suffix a review note."""
    from tests.conftest import build_warehouse

    case = Case()
    provider = person("Joan", "Clarke", "Provider", "MD", ("CERNER", "PACS", "QVENTUS"),
                      qventus={"role": "Scheduler", "facilities": ["Raymond Medical Center"]})
    case.register(RN, dict(SPONSOR, suffix=suffix), dict(ADMIN, suffix="office manager."),
                  [dict(provider, suffix=suffix)])
    con = build_warehouse(case.write(tmp_path / "in"), AS_OF)
    assert con.execute("select rule, email from findings where rule in ("
                       "'SPONSOR_NOT_QUALIFIED', 'ROLE_NOT_ALLOWED')").fetchall() == []
    assert con.execute("select note from review_notes").fetchall() == []
    assert con.execute("select email, suffix_class from int_members order by all"
                       ).fetchall() == [(SPONSOR["email"], "Provider"),
                                        (ADMIN["email"], "Regular Staff"),
                                        ("joan.clarke@clinic.example", "Provider")]


# -- application details -----------------------------------------------------------------

DOC = "joan.clarke@clinic.example"


@pytest.mark.parametrize(("dsm", "suffix", "direct", "valid"), [
    ({"direct_address": "jclarke@direct.clinic.example"}, "MD", (), True),
    ({"direct_address": "jclarke@hisp.example.net"}, "MD", (), True),
    ({"direct_address": "jclarke@gmail.com"}, "MD", (), False),
    ({"direct_address": DOC}, "MD", (), False),
    ({}, "MD", (), False),
    ({"direct_address": "jclarke@direct.clinic.example"}, "MD", ("hisp.example.net",), False),
    ({"direct_address": "jclarke@mail.hisp.example.net"}, "MD", ("hisp.example.net",), True),
])
def test_dsm_direct_address(tmp_path, dsm, suffix, direct, valid):
    doc = person("Joan", "Clarke", "Provider", suffix, ("CERNER", "DSM"),
                 direct_secure_messaging=dsm)
    config = ReviewConfig(direct_domains=direct)
    found = findings(tmp_path, base(members=(doc,)), "DSM_ADDRESS_INVALID", config)
    assert found == (set() if valid else {(RN, DOC, "DSM")})


def test_applications_named_as_the_guide_writes_them(tmp_path):
    """`Direct Secure Messaging (DSM)`, `Report2Web (R2W)`, `PACS (Synapse)`: the guide's
    names with the code in parentheses, in a form and in an application's user list. Each
    had been "not one of the five applications": the requests were quarantined (their
    accounts NOT_REQUESTED) and the list's accounts matched no application."""
    from tests.conftest import build_warehouse

    doc = person("Joan", "Clarke", "Provider", "MD", ("CERNER",),
                 direct_secure_messaging={"direct_address": "jclarke@direct.clinic.example"},
                 report2web={"fax_number": "602-555-0123", "lab_facilities": ["Raymond"],
                             "alerts": {"Discharged": "fax"}, "recipients": [DOC],
                             "privacy_policy_accepted": True})
    doc["applications"] = ["Cerner  Millennium", "Direct Secure Messaging (DSM)",
                           "Report2Web (R2W)", "PACS (Synapse)"]
    case = base(members=(doc,))
    case.accounts.append(Account("jclarke", DOC, entra_last_success=days_ago(1)))
    case.app_accounts += [AppAccount(app, "jclarke", last_access=days_ago(1))
                          for app in ("Cerner Millennium", "PACS (Synapse)",
                                      "Direct Secure Messaging (DSM)", "Report2Web (R2W)")]
    con = build_warehouse(case.write(tmp_path / "in"), AS_OF)
    assert con.execute("select count(*) from quarantine").fetchone() == (0,)
    assert con.execute("select application from int_entitlements where email = ? and "
                       "is_requested and has_account order by all", [DOC]).fetchall() == [
        ("CERNER",), ("DSM",), ("PACS",), ("R2W",)]
    assert con.execute("select rule, application from findings where email = ?",
                       [DOC]).fetchall() == []


def test_dsm_for_a_non_provider(tmp_path):
    staff = person("Joan", "Clarke", "Staff", "Billing", ("CERNER", "DSM"),
                   direct_secure_messaging={"direct_address": "jc@direct.clinic.example"})
    assert findings(tmp_path, base(members=(staff,)), "DSM_ADDRESS_INVALID") == {
        (RN, DOC, "DSM")}


@pytest.mark.parametrize(("phone", "stored", "extension", "warned"), [
    ("480-555-0111 x12", "480-555-0111", "12", False),  # the extension typed after it
    ("(480) 555-0111 ext. 7", "480-555-0111", "7", False),
    ("480-555-011", None, None, True),                  # a digit short
    ("call the front desk", None, None, True),
])
def test_a_phone_number_typed_another_way_keeps_the_person_in_the_review(
        tmp_path, phone, stored, extension, warned):
    """A member's phone as people type it: an extension after the number is read as the
    extension; a number that is none is listed as a warning and left out. Either way the
    member, their requests and their accounts stay in the review (quarantining the person
    made their accounts orphans: three high findings for a typo)."""
    con = _build(tmp_path, alan_accounts(base(members=(dict(ALAN, phone=phone),))))
    assert con.execute("select rule from findings").fetchall() == []
    assert con.execute("select phone, phone_extension from int_members where email = ?",
                       [ALAN_EMAIL]).fetchall() == [(stored, extension)]
    assert con.execute("select table_name, column_name, rule from row_warnings").fetchall() \
        == ([("enrollment_people", "phone", "phone_nanp")] if warned else [])
    assert con.execute("select count(*) from quarantine").fetchone() == (0,)


def test_a_mistyped_practice_fax_keeps_the_group_in_the_review(tmp_path):
    """The registration's practice fax a digit short: the group stays (quarantining the
    registration took the group and its DAA out: NO_ACTIVE_DAA for everyone with access),
    the fax is listed as a warning; the administrator's phone, with the extension the form
    has a field for, is what support calls."""
    case = alan_accounts(base())
    case.submissions[0]["group"]["practice_fax"] = "602-555-019"
    case.submissions[0]["group_administrator"] = dict(ADMIN, phone_extension="204")
    con = _build(tmp_path, case)
    assert con.execute("select rule from findings").fetchall() == []
    assert con.execute("select table_name, column_name, rule from row_warnings").fetchall() \
        == [("enrollment_submissions", "practice_fax", "phone_nanp")]
    assert con.execute("select admin_phone from group_admin_contacts").fetchall() == [
        ("602-555-0100 x204",)]


def test_an_enabled_account_with_a_malformed_mail_stays_in_the_review(tmp_path):
    """An AD and Entra user whose mail attribute is no address (`ghost@clinic`): kept with a
    warning, so that an enabled account matching no member is still ORPHAN_ACCOUNT
    (quarantining it let the account out of the review altogether)."""
    case = alan_accounts(base())
    case.accounts.append(Account("ghost", "ghost@clinic", entra_last_success=days_ago(1)))
    con = _build(tmp_path, case)
    assert con.execute("select rule, email, application from findings").fetchall() == [
        ("ORPHAN_ACCOUNT", "ghost@clinic", "")]
    assert con.execute("select table_name, column_name, rule from row_warnings order by all"
                       ).fetchall() == [("directory_accounts", "mail", "email_syntax"),
                                        ("entra_users", "mail", "email_syntax")]
    assert con.execute("select count(*) from quarantine").fetchone() == (0,)


def test_a_member_with_a_staff_type_the_policy_does_not_know(tmp_path):
    """A staff type outside the form's four (a "Nurse" typed into a member list): the member
    stays, with a warning, and what they hold is ROLE_NOT_ALLOWED (the policy table allows
    that role nothing) rather than three orphan accounts of a member who vanished."""
    con = _build(tmp_path, alan_accounts(base(members=(dict(ALAN, staff_type="Nurse"),))))
    assert con.execute("select rule, email, application from findings order by all"
                       ).fetchall() == [("ROLE_NOT_ALLOWED", ALAN_EMAIL, "CERNER"),
                                        ("ROLE_NOT_ALLOWED", ALAN_EMAIL, "PACS")]
    assert con.execute("select table_name, column_name, rule from row_warnings").fetchall() \
        == [("enrollment_people", "staff_type", "staff_type")]


def test_a_corporate_representative_email_that_is_no_address(tmp_path):
    """The representative named YES with an email that is no address: the registration
    stays (quarantining it took the group and its DAA away: NO_ACTIVE_DAA for everyone), and
    the group is GROUP_ROLES_INVALID as if the email were missing; the representative's
    signature, by role, still counts for the DAA."""
    case = alan_accounts(base(corporate="YES", corporate_name="Rita Rep",
                              corporate_email="rita@"))
    con = _build(tmp_path, case)
    assert con.execute("select rule, detail from findings").fetchall() == [
        ("GROUP_ROLES_INVALID", "Corporate/Legal Representative named YES without a valid "
         "email")]
    assert con.execute("select daa_active from int_group_daa").fetchall() == [(True,)]


def test_a_sponsor_npi_written_with_separators_is_the_same_npi(tmp_path):
    """The sponsor's NPI typed as people write numbers (`123-456-7893`, `123 456 7893`): the
    same ten digits, so no check-digit warning and no SPONSOR_NOT_QUALIFIED, and the NPI
    the census matches the ADT feed's against is the digits."""
    digits = SPONSOR["npi"]
    for n, written in enumerate((f"{digits[:3]}-{digits[3:6]}-{digits[6:]}",
                                 f" {digits[:4]} {digits[4:7]} {digits[7:]} ")):
        case = alan_accounts(base())
        case.submissions[0]["sponsoring_physician"] = dict(SPONSOR, npi=written)
        con = _build(tmp_path / str(n), case)
        assert con.execute("select rule from findings").fetchall() == []
        assert con.execute("select count(*) from row_warnings").fetchone() == (0,)
        assert con.execute("select npi from int_members where staff_type = "
                           "'Sponsoring Physician'").fetchall() == [(digits,)]


R2W_OK = {"fax_number": "(602) 555-0123", "lab_facilities": ["Raymond Medical Center"],
          "alerts": {"Discharged": "fax", "Labs ordered by you": "both"},
          "recipients": [ALAN_EMAIL]}


@pytest.mark.parametrize(("app", "details", "missing"), [
    ("QVENTUS", {"role": "Surgeon", "facilities": ["Raymond Medical Center"]}, False),
    ("QVENTUS", {"role": "Surgeon", "facilities": []}, True),
    ("QVENTUS", {"facilities": ["Raymond Medical Center"]}, True),
    ("R2W", R2W_OK, False),
    ("R2W", dict(R2W_OK, fax_number=""), True),
    ("R2W", dict(R2W_OK, fax_number="602-555-012"), True),  # a digit short
    ("R2W", dict(R2W_OK, fax_number="602-555-0123 ext. 4"), False),
    ("R2W", dict(R2W_OK, lab_facilities=[]), True),
    ("R2W", dict(R2W_OK, alerts={"Discharged": "pigeon"}), True),
    ("R2W", dict(R2W_OK, alerts={}), True),
    ("R2W", dict(R2W_OK, recipients=[]), True),
])
def test_application_details(tmp_path, app, details, missing):
    key = {"QVENTUS": "qventus", "R2W": "report2web"}[app]
    doc = person("Joan", "Clarke", "Provider", "MD", ("CERNER", app), **{key: details})
    found = findings(tmp_path, alan_accounts(base(members=(ALAN, doc))), "APP_DETAILS_MISSING")
    assert found == ({(RN, DOC, app)} if missing else set())


@pytest.mark.parametrize(("recipient", "alan_account", "invalid"), [
    (ALAN_EMAIL, {"entra_last_success": days_ago(1)}, False),
    (ALAN_EMAIL, {}, False),  # provisioned, not used yet (never signed in is not dormant)
    ("stranger@elsewhere.example", {"entra_last_success": days_ago(1)}, True),
    (ALAN_EMAIL, {"entra_last_success": days_ago(1), "enabled": False}, True),
    (ALAN_EMAIL, {"entra_last_success": days_ago(150)}, True),
])
def test_r2w_recipients(tmp_path, recipient, alan_account, invalid):
    doc = person("Joan", "Clarke", "Provider", "MD", ("CERNER", "R2W"),
                 report2web=dict(R2W_OK, recipients=[recipient]))
    case = base(members=(ALAN, doc))
    case.accounts.append(Account("alan", ALAN_EMAIL, **alan_account))
    found = findings(tmp_path, case, "R2W_RECIPIENT_INVALID")
    assert found == ({(RN, recipient, "R2W")} if invalid else set())


def test_a_recipient_named_twice_on_one_form_is_one_recipient(tmp_path):
    """The same recipient twice (once in capitals) on one provider's form, and a stranger
    twice: one distribution entry and one finding each, and the run does not stop."""
    from tests.conftest import build_warehouse

    doc = person("Joan", "Clarke", "Provider", "MD", ("CERNER", "R2W"),
                 report2web=dict(R2W_OK, recipients=[
                     ALAN_EMAIL, ALAN_EMAIL.upper(), "stranger@elsewhere.example",
                     " stranger@elsewhere.example"]))
    case = alan_accounts(base(members=(ALAN, doc)))
    con = build_warehouse(case.write(tmp_path / "in"), AS_OF)
    assert con.execute("select email, application from findings where rule = "
                       "'R2W_RECIPIENT_INVALID'").fetchall() == [
        ("stranger@elsewhere.example", "R2W")]
    assert con.execute("select email_recipients, recipients_left_off from r2w_distribution "
                       "where delivery_method <> 'fax'").fetchall() == [(ALAN_EMAIL, 1)]


def test_one_recipient_named_by_two_providers_is_two_findings(tmp_path):
    from tests.conftest import build_warehouse

    docs = [person(f, "Clarke", "Provider", "MD", ("CERNER", "R2W"),
                   email=f"{f.lower()}@clinic.example",
                   report2web=dict(R2W_OK, recipients=["stranger@elsewhere.example"]))
            for f in ("Joan", "Mary")]
    con = build_warehouse(base(members=docs).write(tmp_path / "in"), AS_OF)
    keys = con.execute("select finding_key from findings where rule = "
                       "'R2W_RECIPIENT_INVALID'").fetchall()
    assert len(set(keys)) == 2


@pytest.mark.parametrize("disabled_first", [True, False])
def test_a_directory_user_the_exports_disagree_on_is_counted_enabled(tmp_path, disabled_first):
    """Two rows for one AD user (overlapping exports, one older): enabled in one, disabled in
    the other. Whichever comes first, the user counts as enabled, so the access it may grant
    stays in the review (here an orphan to disable), the latest logon either row records
    counts, and the reviewer is told which rows disagree."""
    bob = [Account("bob", "bob@gone.example", enabled=False, in_entra=False,
                   ad_last_logon=days_ago(200)),
           Account("bob", "bob@gone.example", in_entra=False, ad_last_logon=days_ago(150))]
    case = alan_accounts(base())
    case.accounts += bob if disabled_first else bob[::-1]
    con = _build(tmp_path, case)
    assert con.execute("select rule, email from findings").fetchall() == [
        ("ORPHAN_ACCOUNT", "bob@gone.example")]
    assert con.execute("select enabled, ad_last_logon_at::date from int_directory_identities "
                       "where lan_id = 'bob'").fetchall() == [(True, days_ago(150).date())]
    enabled_line, disabled_line = (6, 5) if disabled_first else (5, 6)
    assert con.execute("select note, subject, reference, detail from review_notes"
                       ).fetchall() == [
        ("directory user listed enabled and disabled", "bob@cc.example.org", "directory",
         f"enabled in ad.csv:{enabled_line}; disabled or expired in ad.csv:{disabled_line}. "
         "Counted enabled until the exports agree (remove the older one).")]


def test_a_directory_user_listed_twice_alike_leaves_no_note(tmp_path):
    """The near miss: the same user twice, both disabled: disabled, and nothing to resolve."""
    case = alan_accounts(base())
    case.accounts += [Account("bob", "bob@gone.example", enabled=False, in_entra=False)] * 2
    con = _build(tmp_path, case)
    assert con.execute("select rule from findings").fetchall() == []
    assert con.execute("select note from review_notes").fetchall() == []


def test_an_application_account_the_list_gives_twice_disagreeing(tmp_path):
    """An application list naming one username active and inactive: the account counts as
    active (Alan's Cerner access stays in the review, allowed and used: no finding), and
    the reviewer is told which rows disagree."""
    case = alan_accounts(base())
    case.app_accounts.append(AppAccount("CERNER", "alan", active=False, last_access=days_ago(2)))
    con = _build(tmp_path, case)
    assert con.execute("select rule from findings").fetchall() == []
    assert con.execute("select account_active from int_entitlements where email = ? and "
                       "application = 'CERNER'", [ALAN_EMAIL]).fetchall() == [(True,)]
    assert con.execute("select note, subject, reference, detail from review_notes"
                       ).fetchall() == [
        ("application account listed active and inactive", "alan", "CERNER",
         "active in apps.csv:4; inactive in apps.csv:6. Counted active until the exports "
         "agree (remove the older one).")]


def test_an_ad_account_without_a_upn_is_reviewed_as_its_implicit_upn(tmp_path):
    """AD lets an account have no userPrincipalName (service accounts, scripted creation)
    or one that is no address; Windows then accepts LAN ID@domain at sign-in. Such an
    account was quarantined, so an enabled one matching no member escaped the review. It
    is reviewed now as that implicit UPN, the domain read from its distinguished name:
    a member's is matched by mail and joins their Entra user; the others are
    ORPHAN_ACCOUNT. Without a DN as well it cannot be identified and is quarantined."""
    from ccreview.core.identifiers import datetime_to_filetime

    case = alan_accounts(base())
    folder = case.write(tmp_path / "in")
    logon = datetime_to_filetime(days_ago(3))
    never = "9223372036854775807"
    rows = [  # SamAccountName, UserPrincipalName, mail, DistinguishedName
        ("ada", "ada@cc.example.org", SPONSOR["email"], "CN=Ada Lovelace,OU=Community,DC=cc,"
         "DC=example,DC=org"),
        ("grace", "grace@cc.example.org", ADMIN["email"], ""),
        ("alan", "", ALAN_EMAIL, "CN=Turing\\, Alan,OU=Community,DC=cc,DC=example,DC=org"),
        ("svc-scan", "", "", "CN=Scan Service,OU=Service Accounts,DC=CC,DC=Example,DC=org"),
        ("jdoe", "jdoe", "", "CN=J Doe, OU=Community, DC=cc, DC=example, DC=org"),
        ("nodn", "", "", ""),
    ]
    lines = ["#TYPE Microsoft.ActiveDirectory.Management.ADUser",
             '"DistinguishedName","Enabled","SamAccountName","UserPrincipalName","mail",'
             '"whenCreated","lastLogonTimestamp","accountExpires"']
    lines += [f'"{dn}","True","{sam}","{upn}","{mail}","1/15/2023 9:03:12 AM","{logon}",'
              f'"{never}"' for sam, upn, mail, dn in rows]
    (folder / "ad.csv").write_text("\r\n".join(lines) + "\r\n", encoding="utf-8-sig")
    from tests.conftest import build_warehouse

    con = build_warehouse(folder, AS_OF)
    assert con.execute("select rule, email, application from findings order by all"
                       ).fetchall() == [("ORPHAN_ACCOUNT", "jdoe@cc.example.org", ""),
                                        ("ORPHAN_ACCOUNT", "svc-scan@cc.example.org", "")]
    assert con.execute("select source_line, column_name, rule from row_warnings "
                       "order by all").fetchall() == [
        (5, "user_principal_name", "implicit_upn"), (6, "user_principal_name", "implicit_upn"),
        (7, "user_principal_name", "implicit_upn")]
    assert con.execute("select source_line, column_name, rule from quarantine").fetchall() \
        == [(8, "user_principal_name", "account_identifiable")]
    assert con.execute("select in_active_directory, in_entra from int_directory_identities "
                       "where upn = 'alan@cc.example.org'").fetchall() == [(True, True)]


# -- Active Directory exports as admins make them -----------------------------------------

BARBARA = person("Barbara", "Liskov", "Staff", "Billing", ("CERNER",))
EDSGER = person("Edsger", "Dijkstra", "Staff", "Coder", ("CERNER",))


def _ad_case(tmp_path, header: str, rows: list[str], *, type_line: bool = True):
    """Ada and Grace sign in to Entra; Alan, Barbara and Edsger are in AD only, with
    application accounts that record no use yet, so AD's evidence is the only evidence."""
    case = base(members=(ALAN, BARBARA, EDSGER))
    for lan, who, apps in (("alan", ALAN, ("CERNER", "PACS")), ("bliskov", BARBARA, ("CERNER",)),
                           ("edijkstra", EDSGER, ("CERNER",))):
        case.accounts.append(Account(lan, who["email"], in_entra=False))
        # provisioned lately, unused so far: no evidence, not yet APP_UNUSED
        case.app_accounts += [AppAccount(app, lan, created=days_ago(20)) for app in apps]
    folder = case.write(tmp_path / "in")
    lines = (["#TYPE Selected.Microsoft.ActiveDirectory.Management.ADUser"] if type_line
             else []) + [header, *rows]
    (folder / "ad.csv").write_text("\r\n".join(lines) + "\r\n", encoding="utf-8-sig")
    from tests.conftest import build_warehouse

    return build_warehouse(folder, AS_OF)


def _local(days: float) -> str:
    """A time `days` before the as-of date as PowerShell writes a DateTime on the
    hospital's en-US host (its local clock)."""
    from tests.cases import HOST_ZONE

    return days_ago(days).astimezone(HOST_ZONE).strftime("%-m/%-d/%Y %-I:%M:%S %p")


def test_an_ad_export_of_powershells_computed_dates(tmp_path):
    """`Get-ADUser -Properties LastLogonDate,Created,AccountExpirationDate | Select-Object
    ...`: the dates PowerShell computes from the attributes, as the host's clock time. They
    were ignored: an account whose only evidence was its LastLogonDate read as never used
    (NEVER_SIGNED_IN) and a passed AccountExpirationDate as no expiry."""
    header = ('"SamAccountName","UserPrincipalName","mail","Enabled","Created",'
              '"LastLogonDate","PasswordLastSet","AccountExpirationDate"')
    rows = [f'"{lan}","{lan}@cc.example.org","{who["email"]}","True","{_local(400)}",'
            f'"{_local(logon)}","{_local(400)}","{expires}"'
            for lan, who, logon, expires in (
                ("ada", SPONSOR, 1, ""), ("grace", ADMIN, 1, ""), ("alan", ALAN, 10, ""),
                ("bliskov", BARBARA, 200, ""), ("edijkstra", EDSGER, 5, _local(3)))]
    con = _ad_case(tmp_path, header, rows)
    assert con.execute("select count(*) from quarantine").fetchone() == (0,)
    assert con.execute("select rule, email, application from findings order by all"
                       ).fetchall() == [
        ("DISABLED_WITH_ACCESS", EDSGER["email"].lower(), "CERNER"),
        ("DORMANT_ACCOUNT", BARBARA["email"].lower(), "")]
    # Phoenix is UTC-7 all year: the clock time read back is the instant written
    assert con.execute("select last_logon_at, created_at from stg_directory_accounts "
                       "where lan_id = 'alan'").fetchone() == (
        days_ago(10).replace(tzinfo=None, microsecond=0),
        days_ago(400).replace(tzinfo=None, microsecond=0))


def test_a_csvde_export_of_active_directory(tmp_path):
    """`csvde -f users.csv -l "sAMAccountName,userPrincipalName,mail,userAccountControl,
    whenCreated,lastLogonTimestamp,accountExpires"`: LDAP names, `DN` first, whether the
    account is enabled in userAccountControl's ACCOUNTDISABLE bit (514 = disabled; 66048 =
    enabled, password never expires), whenCreated as LDAP generalized time (UTC). Every
    row had been quarantined (no Enabled column, an unknown date format)."""
    from ccreview.core.identifiers import datetime_to_filetime

    header = ("DN,objectClass,sAMAccountName,userPrincipalName,mail,userAccountControl,"
              "whenCreated,lastLogonTimestamp,accountExpires")
    created = days_ago(400).strftime("%Y%m%d%H%M%S.0Z")
    rows = [f'"CN={lan},OU=Community,DC=cc,DC=example,DC=org",user,{lan},{upn},{mail},{uac},'
            f'{created},{datetime_to_filetime(days_ago(logon))},9223372036854775807'
            for lan, upn, mail, uac, logon in (
                ("ada", "ada@cc.example.org", SPONSOR["email"], 512, 1),
                ("grace", "grace@cc.example.org", ADMIN["email"], 66048, 1),
                ("alan", "alan@cc.example.org", ALAN_EMAIL, 512, 3),
                ("bliskov", "bliskov@cc.example.org", BARBARA["email"], 514, 3),
                ("edijkstra", "edijkstra@cc.example.org", EDSGER["email"], 546, 3),
                ("svc-fax", "", "", 66048, 3))]
    con = _ad_case(tmp_path, header, rows, type_line=False)
    assert con.execute("select count(*) from quarantine").fetchone() == (0,)
    assert con.execute("select rule, email, application from findings order by all"
                       ).fetchall() == [
        ("DISABLED_WITH_ACCESS", BARBARA["email"].lower(), "CERNER"),
        ("DISABLED_WITH_ACCESS", EDSGER["email"].lower(), "CERNER"),
        ("ORPHAN_ACCOUNT", "svc-fax@cc.example.org", "")]
    assert con.execute("select created_at from stg_directory_accounts where lan_id = 'alan'"
                       ).fetchone() == (days_ago(400).replace(tzinfo=None, microsecond=0),)


def test_computer_accounts_in_a_directory_export_are_no_orphans(tmp_path):
    """`csvde -r "(objectClass=user)"` (a computer is a `user` too) or Get-ADObject: the
    export holds workstations, servers and managed service accounts. Each had been an
    enabled account matching no member: ORPHAN_ACCOUNT, "disable the account", on the
    support desk's disable list — a server's account among them. They are quarantined as
    no person's (each by the column that shows it), and a person's account is still
    reviewed."""
    from ccreview.core.identifiers import datetime_to_filetime

    header = ("DN,objectClass,sAMAccountName,userPrincipalName,mail,userAccountControl,"
              "whenCreated,lastLogonTimestamp,accountExpires")
    created = days_ago(400).strftime("%Y%m%d%H%M%S.0Z")
    rows = [f'"CN={lan},OU=Community,DC=cc,DC=example,DC=org",{cls},{lan},{upn},{mail},{uac},'
            f'{created},{datetime_to_filetime(days_ago(1))},9223372036854775807'
            for lan, cls, upn, mail, uac in (
                ("ada", "top;person;organizationalPerson;user", "ada@cc.example.org",
                 SPONSOR["email"], 512),
                ("grace", "top;person;organizationalPerson;user", "grace@cc.example.org",
                 ADMIN["email"], 512),
                ("alan", "top;person;organizationalPerson;user", "alan@cc.example.org",
                 ALAN_EMAIL, 512),
                ("FAXSRV01$", "top;person;organizationalPerson;user;computer", "", "", 4096),
                ("DC01$", "user", "", "", 532480),  # a domain controller, by its flags
                ("gmsa-scan$", "user", "", "", 512),  # a managed service account, by name
                ("svc-fax", "top;person;organizationalPerson;user", "", "", 512))]
    con = _ad_case(tmp_path, header, rows, type_line=False)
    assert con.execute("select source_line, column_name, rule from quarantine "
                       "order by source_line").fetchall() == [
        (5, "objectClass", "not_a_user_account"), (6, "userAccountControl",
                                                    "not_a_user_account"),
        (7, "sAMAccountName", "not_a_user_account")]
    # (the directory's orphans: the case's application lists hold two more people)
    assert con.execute("select rule, email from findings where rule = 'ORPHAN_ACCOUNT' "
                       "and coalesce(application, '') = ''").fetchall() == [
        ("ORPHAN_ACCOUNT", "svc-fax@cc.example.org")]
    assert con.execute("select count(*) from findings where lan_id like '%$'").fetchone() \
        == (0,)


def test_a_user_account_control_that_is_no_number_is_quarantined_on_that_column(tmp_path):
    header = "DN,sAMAccountName,userPrincipalName,mail,userAccountControl"
    rows = [f'"CN=x,DC=cc,DC=org",alan,alan@cc.example.org,{ALAN_EMAIL},enabled']
    con = _ad_case(tmp_path, header, rows, type_line=False)
    assert con.execute("select source_line, column_name, rule from quarantine").fetchall() \
        == [(2, "userAccountControl", "user_account_control")]


def test_an_ad_export_of_last_logon_counts_its_later_date(tmp_path):
    """`Get-ADUser -Properties lastLogon,lastLogonTimestamp`: lastLogon (not replicated,
    exact for the domain controller asked) is evidence too, the later of the two. Read
    alone it had been ignored: Barbara, who signed in 3 days ago by it, was dormant by a
    lastLogonTimestamp 200 days old, and Alan, with only lastLogon, never signed in."""
    from ccreview.core.identifiers import datetime_to_filetime

    def ft(days):
        return "" if days is None else str(datetime_to_filetime(days_ago(days)))

    header = ('"SamAccountName","UserPrincipalName","mail","Enabled","whenCreated",'
              '"lastLogonTimestamp","lastLogon"')
    rows = [f'"{lan}","{lan}@cc.example.org","{who["email"]}","True","{_local(400)}",'
            f'"{ft(replicated)}","{ft(exact)}"'
            for lan, who, replicated, exact in (
                ("ada", SPONSOR, 1, 1), ("grace", ADMIN, 1, None),
                ("alan", ALAN, None, 10), ("bliskov", BARBARA, 200, 3),
                ("edijkstra", EDSGER, 200, 150))]
    con = _ad_case(tmp_path, header, rows)
    assert con.execute("select rule, email from findings order by all").fetchall() == [
        ("DORMANT_ACCOUNT", EDSGER["email"].lower())]
    assert con.execute("select lan_id, last_logon_at from stg_directory_accounts "
                       "where lan_id in ('alan', 'grace') order by 1").fetchall() == [
        ("alan", days_ago(10).replace(tzinfo=None)), ("grace", days_ago(1).replace(tzinfo=None))]


def test_an_application_list_naming_users_domain_backslash_lan_id(tmp_path):
    """Applications that sign in with Windows accounts (PACS Synapse among them) list
    users by their down-level logon name, `CC\\alan`. Read as a username matching no LAN
    ID, Alan's PACS account was an ORPHAN_ACCOUNT and his requested PACS looked never
    provisioned; it is his account now, its use read from an access log naming him by his
    LAN ID (and Cerner's, listing him by LAN ID, from a log naming him `CC\\Alan`). One
    that is nobody's is still an orphan, named as its list names it."""
    case = alan_accounts(base(), apps=("CERNER",))
    # the list records no use; PACS's access log names him by his LAN ID
    case.app_accounts += [AppAccount("PACS", "CC\\alan"),
                          AppAccount("PACS", "CC\\Nobody", last_access=days_ago(2))]
    case.access.append(("alan", "PACS", days_ago(2), True))
    # Cerner's list records no use either; its access log names him as PACS's list does
    case.app_accounts = [a if (a.username, a.application) != ("alan", "CERNER")
                         else AppAccount("CERNER", "alan") for a in case.app_accounts]
    case.access.append(("CC\\Alan", "CERNER", days_ago(3), True))
    con = _build(tmp_path, case)
    assert con.execute("select rule, email, lan_id, application from findings order by all"
                       ).fetchall() == [("ORPHAN_ACCOUNT", "cc\\nobody", "cc\\nobody", "PACS")]


def test_entra_users_as_the_graph_powershell_sdk_writes_them(tmp_path):
    """`Get-MgUser -All -Property Id,UserPrincipalName,Mail,AccountEnabled,CreatedDateTime,
    SignInActivity | ConvertTo-Json -Depth 5 > entra.json` in Windows PowerShell 5.1: an
    array of PascalCase objects, dates as `\\/Date(ms)\\/`, UTF-16 with a BOM; and one user
    exported alone is an object, not an array. Neither was recognised, so Alan, whose
    sign-ins only Entra records, was NEVER_SIGNED_IN, and an enabled Entra user matching
    nobody went unreviewed."""
    import json

    case = base()
    case.accounts.append(Account("alan", ALAN_EMAIL))  # in AD and Entra; no AD logon
    case.app_accounts += [AppAccount(app, "alan", created=days_ago(20))
                          for app in ("CERNER", "PACS")]
    folder = case.write(tmp_path / "in")

    def ms(days):
        return f"/Date({int(days_ago(days).timestamp() * 1000)})/"

    def user(lan, mail, signed_in, enabled=True):
        return {"AccountEnabled": enabled, "CreatedDateTime": ms(400),
                "DisplayName": lan, "Id": f"00000000-0000-0000-0000-{lan:0>12}",
                "Mail": mail, "OnPremisesSamAccountName": lan,
                "SignInActivity": {"LastNonInteractiveSignInDateTime": None,
                                   "LastSignInDateTime": signed_in and ms(signed_in),
                                   "LastSuccessfulSignInDateTime": signed_in and ms(signed_in),
                                   "AdditionalProperties": {}},
                "UserPrincipalName": f"{lan}@cc.example.org", "AdditionalProperties": {}}

    array = [user("ada", SPONSOR["email"], 1), user("grace", ADMIN["email"], 1),
             user("alan", ALAN_EMAIL, 5)]
    text = json.dumps(array, indent=4).replace("/Date(", "\\/Date(").replace(")/", ")\\/")
    (folder / "entra.json").write_text(text.replace("\n", "\r\n"), encoding="utf-16")
    (folder / "entra_one.json").write_text(json.dumps(user("ghost", None, 30)),
                                           encoding="utf-16")
    from tests.conftest import build_warehouse

    con = build_warehouse(folder, AS_OF)
    assert con.execute("select count(*) from quarantine").fetchone() == (0,)
    assert con.execute("select rule, email from findings order by all").fetchall() == [
        ("ORPHAN_ACCOUNT", "ghost@cc.example.org")]
    assert con.execute("select last_successful_sign_in_at from stg_entra_users "
                       "where upn = 'alan@cc.example.org'").fetchone() == (
        days_ago(5).replace(tzinfo=None),)


# -- DocuSign as integrations keep it -------------------------------------------------------

def _summary(status: str, when: dt.datetime, signed: bool) -> dict:
    """An envelope as `GET /envelopes/{id}?include=recipients,custom_fields` returns it."""
    iso = when.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
    signers = [{"recipientId": str(k), "roleName": role, "email": who["email"],
                "name": f"{who['first_name']} {who['last_name']}", "routingOrder": "1",
                "status": "completed" if signed else "sent",
                **({"signedDateTime": iso} if signed else {})}
               for k, (role, who) in enumerate((("Sponsoring Physician", SPONSOR),
                                                ("Group Administrator", ADMIN)), start=1)]
    env = {"envelopeId": "5f0c3b52-8f0e-4a8e-9d44-6f3f2a1c9b10", "status": status,
           "emailSubject": "Please DocuSign: Clinical Connectivity Data Access Agreement",
           "sentDateTime": (when - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z"),
           "statusChangedDateTime": iso, "recipients": {"signers": signers},
           "customFields": {"textCustomFields": [
               {"fieldId": "1", "name": "RequestNumber", "value": RN, "show": "true"}]}}
    if status == "completed":
        env["completedDateTime"] = iso
    return env


def _with_daa_file(tmp_path, name: str, body) -> object:
    import json

    case = alan_accounts(base(daa=False))
    folder = case.write(tmp_path / "in")
    (folder / "docusign.json").unlink()
    (folder / name).write_text(json.dumps(body, indent=2))
    from tests.conftest import build_warehouse

    return build_warehouse(folder, AS_OF)


def test_a_daa_saved_as_one_envelope(tmp_path):
    """The envelope as the API returns one (`GET /envelopes/{id}`), saved one per file: an
    object, not a listStatusChanges page. It was a JSON shape no reader knew, so the
    group had no DAA and everyone with access was NO_ACTIVE_DAA."""
    con = _with_daa_file(tmp_path, "envelope.json", _summary("completed", days_ago(100), True))
    assert con.execute("select rule from findings").fetchall() == []
    assert con.execute("select daa_active from int_group_daa").fetchall() == [(True,)]


def test_a_daa_from_docusign_connect_messages(tmp_path):
    """DocuSign Connect's JSON messages, as an integration stores them (an array, one per
    event): the envelope is each message's summary, its latest state counts."""
    messages = [{"event": event, "apiVersion": "v2.1", "retryCount": 0,
                 "generatedDateTime": when.strftime("%Y-%m-%dT%H:%M:%S.0000000Z"),
                 "data": {"accountId": "8d1c0a2e-0000-4000-8000-000000000001",
                          "envelopeId": "5f0c3b52-8f0e-4a8e-9d44-6f3f2a1c9b10",
                          "envelopeSummary": {k: v for k, v in
                                              _summary(status, when, signed).items()
                                              if k != "envelopeId"}}}
                for event, status, when, signed in (
                    ("envelope-sent", "sent", days_ago(102), False),
                    ("envelope-completed", "completed", days_ago(100), True))]
    con = _with_daa_file(tmp_path, "connect.json", messages)
    assert con.execute("select rule from findings").fetchall() == []
    assert con.execute("select status, daa_active from int_group_daa "
                       "inner join int_daa_envelopes using (request_number)").fetchall() \
        == [("completed", True)]


def test_an_entra_sign_in_log_in_json(tmp_path):
    """The sign-in log as JSON: a Graph `auditLogs/signIns` page, the portal's Download as
    JSON (an array), the PowerShell SDK's ConvertTo-Json (PascalCase, `\\/Date(ms)\\/`).
    A page was read as Entra *users* (its records carry a UPN) and each quarantined for
    a missing accountEnabled; the others were unrecognised. So Alan, whose sign-ins only
    the log records (no signInActivity without a premium licence), was NEVER_SIGNED_IN.
    errorCode 0 is a success; a failure or an interrupted (MFA) sign-in is not."""
    import json

    case = base()
    case.accounts.append(Account("alan", ALAN_EMAIL))  # Entra without signInActivity
    case.app_accounts += [AppAccount(app, "alan", created=days_ago(20))
                          for app in ("CERNER", "PACS")]
    folder = case.write(tmp_path / "in")

    def sign_in(n, days, code, upn="alan@cc.example.org"):
        return {"id": f"0b5c7e4d-1a2b-4c3d-8e9f-{n:012d}", "userPrincipalName": upn,
                "createdDateTime": days_ago(days).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "userDisplayName": "Alan Turing", "appDisplayName": "Clinical Connectivity",
                "clientAppUsed": "Browser", "isInteractive": True,
                "status": {"errorCode": code, "failureReason": "Other.",
                           "additionalDetails": None}}

    (folder / "signins_page.json").write_text(json.dumps({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns",
        "value": [sign_in(1, 40, 0), sign_in(2, 39, 50126)]}))
    (folder / "signins_download.json").write_text(json.dumps(
        [sign_in(3, 5, 0), sign_in(4, 2, 50074), sign_in(1, 40, 0)]))
    sdk = {k[0].upper() + k[1:]: v for k, v in sign_in(5, 1, 50126).items()}
    sdk["Status"] = {"ErrorCode": 50126, "FailureReason": "Invalid username or password."}
    sdk["CreatedDateTime"] = f"\\/Date({int(days_ago(1).timestamp() * 1000)})\\/"
    (folder / "signin_one.json").write_text(
        json.dumps(sdk).replace("\\\\/", "\\/"), encoding="utf-16")
    from tests.conftest import build_warehouse

    con = build_warehouse(folder, AS_OF)
    assert con.execute("select count(*) from quarantine").fetchone() == (0,)
    assert con.execute("select rule, email from findings").fetchall() == []
    assert con.execute("select source_file, count(*), count(*) filter (where success) "
                       "from stg_sign_in_events group by all order by all").fetchall() == [
        ("signin_one.json", 1, 0), ("signins_download.json", 3, 2),
        ("signins_page.json", 2, 1)]
    assert con.execute("select last_success_at from int_last_successful_events "
                       "where user_name = 'alan@cc.example.org'").fetchall() == [
        (days_ago(5).replace(tzinfo=None),)]


_DOWNLOAD_HEADER = ["userPrincipalName", "displayName", "surname", "mail", "givenName",
                    "objectId", "userType", "jobTitle", "department", "accountEnabled",
                    "usageLocation", "streetAddress", "state", "country",
                    "physicalDeliveryOfficeName", "city", "postalCode", "telephoneNumber",
                    "mobile", "authenticationAlternativePhoneNumber", "authenticationEmail",
                    "alternateEmailAddress", "ageGroup", "consentProvidedForMinor",
                    "legalAgeGroupClassification", "companyName", "creationType",
                    "directorySynced", "invitationState", "identityIssuer", "createdDateTime"]


_M365_HEADER = ["Block credential", "City", "Country/Region", "Department", "DirSyncEnabled",
                "Display name", "Fax", "First name", "Last dirsync time", "Last name",
                "Last password change time stamp", "License assignment details", "Licenses",
                "Mobile Phone", "Object Id", "Office", "Password never expires",
                "Phone number", "Postal code", "Preferred data location",
                "Preferred language", "Proxy addresses", "Release track",
                "Soft deletion time stamp", "State", "Street address",
                "Strong password required", "Title", "Usage location", "User principal name",
                "When created"]


@pytest.mark.parametrize("export", ["admin center download", "Get-MgUser | Export-Csv",
                                    "Microsoft 365 export users"])
def test_entra_users_as_a_csv(tmp_path, export):
    """The Entra admin center's Users > Download users file and the Microsoft 365 admin
    center's Active users > Export users file (no sign-in activity: the sign-in log is
    Alan's evidence; the latter says `Block credential` True for a disabled account), and
    `Get-MgUser ... | Select UserPrincipalName, Mail,
    AccountEnabled, CreatedDateTime, @{n='LastSuccessfulSignInDateTime'; e={...}} |
    Export-Csv` from Windows PowerShell 5.1 (the `#TYPE` line, every field quoted, en-US
    clock times in UTC). Neither was recognised: the enabled Entra user matching nobody
    went unreviewed (no ORPHAN_ACCOUNT)."""
    import csv as csv_module
    import io

    from tests.conftest import build_warehouse

    case = base()
    case.accounts.append(Account("alan", ALAN_EMAIL, in_entra=False))  # AD only here
    case.app_accounts += [AppAccount(app, "alan", created=days_ago(20))
                          for app in ("CERNER", "PACS")]
    users = [("ada", SPONSOR["email"], True), ("grace", ADMIN["email"], True),
             ("alan", ALAN_EMAIL, True), ("ghost", "", True), ("gone", "", False)]
    out = io.StringIO()
    files = {  # each file's header and a user's fields in it (the others empty)
        "Microsoft 365 export users": (_M365_HEADER, lambda lan, mail, enabled: {
            "User principal name": f"{lan}@cc.example.org", "Display name": lan,
            "Object Id": f"00000000-0000-0000-0000-{lan:0>12}",
            "Block credential": str(not enabled), "DirSyncEnabled": "True",
            "Licenses": "Unlicensed", "Password never expires": "False",
            "When created": days_ago(400).strftime("%m/%d/%Y %I:%M:%S %p")}),
        "admin center download": (_DOWNLOAD_HEADER, lambda lan, mail, enabled: {
            "userPrincipalName": f"{lan}@cc.example.org", "displayName": lan, "mail": mail,
            "objectId": f"00000000-0000-0000-0000-{lan:0>12}", "userType": "Member",
            "accountEnabled": str(enabled), "directorySynced": "True",
            "createdDateTime": days_ago(400).strftime("%Y-%m-%dT%H:%M:%SZ")}),
    }
    if export in files:
        header, fields = files[export]
        case.sign_ins.append(("alan", days_ago(5), True))
        writer = csv_module.writer(out, lineterminator="\r\n")
        writer.writerow(header)
        for user in users:
            writer.writerow({**dict.fromkeys(header, ""), **fields(*user)}.values())
    else:
        out.write('#TYPE Selected.Microsoft.Graph.PowerShell.Models.MicrosoftGraphUser\r\n')
        writer = csv_module.writer(out, quoting=csv_module.QUOTE_ALL, lineterminator="\r\n")
        writer.writerow(["UserPrincipalName", "Mail", "AccountEnabled", "CreatedDateTime",
                         "LastSuccessfulSignInDateTime"])

        def clock(t):
            return t.strftime("%m/%d/%Y %I:%M:%S %p").lstrip("0").replace("/0", "/")
        for lan, mail, enabled in users:
            writer.writerow([f"{lan}@cc.example.org", mail, str(enabled),
                             clock(days_ago(400)), clock(days_ago(5))])
    folder = case.write(tmp_path / "in")
    (folder / "entra.json").unlink()
    (folder / "entra_users.csv").write_text(out.getvalue(), encoding="utf-8-sig")
    con = build_warehouse(folder, AS_OF)
    assert con.execute("select format from input_files where source_file = 'entra_users.csv'"
                       ).fetchone() == ("entra-users-csv",)
    assert con.execute("select count(*) from quarantine").fetchone() == (0,)
    assert con.execute("select count(*) from stg_entra_users").fetchone() == (5,)
    assert con.execute("select rule, email from findings order by all").fetchall() == [
        ("ORPHAN_ACCOUNT", "ghost@cc.example.org")]
    alan = con.execute("select created_at, last_successful_sign_in_at from stg_entra_users "
                       "where upn = 'alan@cc.example.org'").fetchone()
    assert alan[0] == days_ago(400).replace(tzinfo=None, microsecond=0)
    assert alan[1] == (None if export != "Get-MgUser | Export-Csv"
                       else days_ago(5).replace(tzinfo=None, microsecond=0))
    assert con.execute("select upn from stg_entra_users where not enabled").fetchall() == [
        ("gone@cc.example.org",)]
