"""Each rule at its edges, on small hand-written organisations in the real formats."""

from __future__ import annotations

import pytest

from ccreview.core.config import ReviewConfig, Thresholds
from tests.cases import AS_OF, Account, AppAccount, Case, days_ago, person
from tests.conftest import build_warehouse

SPONSOR = person("Ada", "Lovelace", "Sponsoring Physician", "MD", ("CERNER", "PACS"))
ADMIN = person("Grace", "Hopper", "Group Administrator", "Office Manager", ("CERNER",))


def _findings(tmp_path, case: Case, config: ReviewConfig | None = None):
    con = build_warehouse(case.write(tmp_path / "in"), AS_OF, config)
    return {(r[0], r[1], r[2], r[3]) for r in con.execute(
        "select rule, request_number, email, application from findings").fetchall()}


def _one_member_case(member: dict, **account) -> Case:
    case = Case()
    case.register("CS0000001", SPONSOR, ADMIN, [member])
    case.accounts.append(Account("ada", SPONSOR["email"], entra_last_success=days_ago(1)))
    case.accounts.append(Account("grace", ADMIN["email"], entra_last_success=days_ago(1)))
    case.accounts.append(Account("m1", member["email"], **account))
    return case


MEMBER = person("Alan", "Turing", "Staff", "Billing", ("CERNER",))
DORMANT = ("DORMANT_ACCOUNT", "CS0000001", "alan.turing@clinic.example", "")


# -- DORMANT_ACCOUNT ---------------------------------------------------------------------

@pytest.mark.parametrize(("days", "dormant"), [(89, False), (90, False), (91, True)])
def test_dormant_exactly_at_threshold_is_not_dormant(tmp_path, days, dormant):
    case = _one_member_case(MEMBER, entra_last_success=days_ago(days))
    assert (DORMANT in _findings(tmp_path, case)) is dormant


def test_dormancy_threshold_comes_from_the_config(tmp_path):
    case = _one_member_case(MEMBER, entra_last_success=days_ago(50))
    config = ReviewConfig(thresholds=Thresholds(dormancy_days=45))
    assert DORMANT in _findings(tmp_path, case, config)


@pytest.mark.parametrize(("days", "dormant"), [(100, False), (104, False), (105, True)])
def test_ad_evidence_alone_never_dormant_inside_the_lag_margin(tmp_path, days, dormant):
    case = _one_member_case(MEMBER, ad_last_logon=days_ago(days), in_entra=False)
    assert (DORMANT in _findings(tmp_path, case)) is dormant


def test_newer_entra_date_overrides_old_ad_date(tmp_path):
    case = _one_member_case(MEMBER, ad_last_logon=days_ago(300),
                            entra_last_success=days_ago(10))
    assert DORMANT not in _findings(tmp_path, case)


def test_recent_failed_sign_in_does_not_count(tmp_path):
    case = _one_member_case(MEMBER, entra_last_success=days_ago(200),
                            entra_last_any=days_ago(2))
    assert DORMANT in _findings(tmp_path, case)


def test_recent_application_use_counts_as_activity(tmp_path):
    case = _one_member_case(MEMBER, entra_last_success=days_ago(200))
    case.app_accounts.append(AppAccount("CERNER", "m1", last_access=days_ago(3)))
    assert DORMANT not in _findings(tmp_path, case)


def test_disabled_account_is_not_dormant(tmp_path):
    case = _one_member_case(MEMBER, enabled=False, entra_last_success=days_ago(200))
    assert DORMANT not in _findings(tmp_path, case)


def test_never_signed_in_is_not_reported_as_dormant(tmp_path):
    case = _one_member_case(MEMBER)
    assert DORMANT not in _findings(tmp_path, case)


def test_removed_member_is_not_dormant_and_not_orphan(tmp_path):
    case = _one_member_case(MEMBER, entra_last_success=days_ago(200))
    case.change("CS0000002", "CS0000001", "remove_members", [{"email": MEMBER["email"]}],
                days_ago(150))
    found = _findings(tmp_path, case)
    assert DORMANT not in found
    assert not {f for f in found if f[0] == "ORPHAN_ACCOUNT"}


# -- ORPHAN_ACCOUNT ----------------------------------------------------------------------

def test_mail_differing_only_in_case_and_spaces_matches(tmp_path):
    case = _one_member_case(MEMBER, entra_last_success=days_ago(1))
    case.accounts[-1].mail = "  Alan.TURING@Clinic.Example "
    assert not {f for f in _findings(tmp_path, case) if f[0] == "ORPHAN_ACCOUNT"}


def test_unmatched_directory_account_is_orphan_once(tmp_path):
    case = _one_member_case(MEMBER, entra_last_success=days_ago(1))
    case.accounts.append(Account("ghost", "ghost@elsewhere.example",
                                 entra_last_success=days_ago(1)))
    orphans = {f for f in _findings(tmp_path, case) if f[0] == "ORPHAN_ACCOUNT"}
    assert orphans == {("ORPHAN_ACCOUNT", "", "ghost@elsewhere.example", "")}


def test_account_in_ad_but_not_entra_is_matched_or_orphaned_by_ad(tmp_path):
    case = _one_member_case(MEMBER, in_entra=False, ad_last_logon=days_ago(1))
    case.accounts.append(Account("adonly", "adonly@elsewhere.example", in_entra=False))
    con = build_warehouse(case.write(tmp_path / "in"), AS_OF)
    rows = con.execute("select email, detail from findings where rule = 'ORPHAN_ACCOUNT'"
                       ).fetchall()
    assert rows == [("adonly@elsewhere.example",
                     "Enabled Active Directory account matches no enrolled member")]


def test_disabled_orphan_is_not_flagged(tmp_path):
    case = _one_member_case(MEMBER, entra_last_success=days_ago(1))
    case.accounts.append(Account("gone", "gone@elsewhere.example", enabled=False))
    assert not {f for f in _findings(tmp_path, case) if f[0] == "ORPHAN_ACCOUNT"}


def test_application_accounts_resolve_by_lan_id_then_email(tmp_path):
    case = _one_member_case(MEMBER, entra_last_success=days_ago(1))
    case.app_accounts += [
        AppAccount("CERNER", "M1"),  # LAN ID, other case
        AppAccount("PACS", "m1@cc.example.org"),  # UPN
        AppAccount("CERNER", "ada-cerner", email="Ada.Lovelace@clinic.example"),  # email
        AppAccount("PACS", "stranger", email="stranger@elsewhere.example"),
        AppAccount("PACS", "stranger2", active=False),
    ]
    orphans = {f for f in _findings(tmp_path, case) if f[0] == "ORPHAN_ACCOUNT"}
    assert orphans == {("ORPHAN_ACCOUNT", "", "stranger@elsewhere.example", "PACS")}


# -- ROLE_NOT_ALLOWED --------------------------------------------------------------------

def _role_findings(tmp_path, case):
    return {f for f in _findings(tmp_path, case) if f[0] == "ROLE_NOT_ALLOWED"}


def test_requested_application_outside_policy(tmp_path):
    member = person("Alan", "Turing", "Staff", "Billing", ("CERNER", "R2W"))
    case = _one_member_case(member, entra_last_success=days_ago(1))
    assert _role_findings(tmp_path, case) == {
        ("ROLE_NOT_ALLOWED", "CS0000001", "alan.turing@clinic.example", "R2W")}


def test_held_but_not_requested_application_outside_policy(tmp_path):
    case = _one_member_case(MEMBER, entra_last_success=days_ago(1))
    case.app_accounts.append(AppAccount("DSM", "m1"))
    case.app_accounts.append(AppAccount("QVENTUS", "m1", active=False))  # inactive: not held
    assert _role_findings(tmp_path, case) == {
        ("ROLE_NOT_ALLOWED", "CS0000001", "alan.turing@clinic.example", "DSM")}


def test_sponsor_who_is_also_administrator_may_hold_everything(tmp_path):
    sponsor = person("Ada", "Lovelace", "Sponsoring Physician", "MD",
                     ("CERNER", "PACS", "DSM", "QVENTUS", "R2W"))
    case = Case()
    case.register("CS0000001", sponsor, None, [MEMBER])
    case.accounts.append(Account("ada", sponsor["email"], entra_last_success=days_ago(1)))
    assert _role_findings(tmp_path, case) == set()


def test_provider_with_a_staff_suffix_is_not_in_the_policy(tmp_path):
    member = person("Alan", "Turing", "Provider", "Office Manager", ("CERNER",))
    case = _one_member_case(member, entra_last_success=days_ago(1))
    assert _role_findings(tmp_path, case) == {
        ("ROLE_NOT_ALLOWED", "CS0000001", "alan.turing@clinic.example", "CERNER")}


def test_surgery_scheduler_may_have_qventus_and_unknown_suffix_is_regular_staff(tmp_path):
    scheduler = person("Alan", "Turing", "Staff", "Surgery Scheduler", ("CERNER", "QVENTUS"))
    scribe = person("Joan", "Clarke", "Staff", "Scribe", ("CERNER", "QVENTUS"))
    case = Case()
    case.register("CS0000001", SPONSOR, ADMIN, [scheduler, scribe])
    assert _role_findings(tmp_path, case) == {
        ("ROLE_NOT_ALLOWED", "CS0000001", "joan.clarke@clinic.example", "QVENTUS")}


def test_member_removed_and_re_added_is_active_with_new_applications(tmp_path):
    case = _one_member_case(MEMBER, entra_last_success=days_ago(1))
    case.change("CS0000002", "CS0000001", "remove_members", [{"email": MEMBER["email"]}],
                days_ago(100))
    readded = person("Alan", "Turing", "Staff", "Billing", ("CERNER", "QVENTUS"))
    case.change("CS0000003", "CS0000001", "add_members", [readded], days_ago(50))
    con = build_warehouse(case.write(tmp_path / "in"), AS_OF)
    status = con.execute("select member_status from int_members where email = ?",
                         [MEMBER["email"]]).fetchall()
    assert status == [("active",)]
    assert {f[3] for f in finding_rows(con, "ROLE_NOT_ALLOWED")} == {"QVENTUS"}


def test_latest_application_list_replaces_the_earlier_one(tmp_path):
    member = person("Alan", "Turing", "Staff", "Billing", ("CERNER", "R2W"))
    case = _one_member_case(member, entra_last_success=days_ago(1))
    fixed = person("Alan", "Turing", "Staff", "Billing", ("CERNER",))
    case.change("CS0000002", "CS0000001", "change_applications", [fixed], days_ago(10))
    assert _role_findings(tmp_path, case) == set()


def finding_rows(con, rule):
    return con.execute("select rule, request_number, email, application from findings "
                       "where rule = ?", [rule]).fetchall()


# -- identity resolution -----------------------------------------------------------------

def test_ambiguous_directory_account_is_neither_matched_nor_orphaned(tmp_path):
    case = _one_member_case(MEMBER, entra_last_success=days_ago(200))
    # the account's mail says Alan, but its UPN is the enrolled email of Grace
    case.accounts[-1].lan_id = "grace.hopper"
    grace = dict(case.submissions[0]["group_administrator"], email="grace.hopper@cc.example.org")
    case.submissions[0]["group_administrator"] = grace
    case.accounts[1].mail = grace["email"]
    con = build_warehouse(case.write(tmp_path / "in"), AS_OF)
    assert con.execute("select count(*) from int_identity_matches where upn = "
                       "'grace.hopper@cc.example.org'").fetchall() == [(0,)]
    notes = con.execute("select note, reference from review_notes").fetchall()
    assert ("ambiguous account", "grace.hopper@cc.example.org") in notes
    rules = {r for (r,) in con.execute("select rule from findings").fetchall()}
    assert "ORPHAN_ACCOUNT" not in rules and "DORMANT_ACCOUNT" not in rules


def test_application_account_whose_username_and_email_disagree_is_ambiguous(tmp_path):
    case = _one_member_case(MEMBER, entra_last_success=days_ago(1))
    case.app_accounts.append(AppAccount("PACS", "m1", email=SPONSOR["email"],
                                        last_access=days_ago(2)))
    con = build_warehouse(case.write(tmp_path / "in"), AS_OF)
    notes = con.execute("select note, subject, reference from review_notes").fetchall()
    assert notes == [("ambiguous account", "PACS", "m1")]
    assert not con.execute("select * from findings where application = 'PACS' "
                           "and rule <> 'NOT_PROVISIONED'").fetchall()


def test_unknown_suffix_is_reported_for_the_policy_owner(tmp_path):
    case = _one_member_case(person("Joan", "Clarke", "Staff", "Scribe"),
                            entra_last_success=days_ago(1))
    con = build_warehouse(case.write(tmp_path / "in"), AS_OF)
    assert con.execute("select note, subject, reference from review_notes").fetchall() == [
        ("suffix not in the policy table", "Scribe", "CS0000001")]


def test_match_method_is_recorded(tmp_path):
    case = _one_member_case(MEMBER, entra_last_success=days_ago(1))
    case.app_accounts.append(AppAccount("PACS", "unknown-login", email=MEMBER["email"]))
    con = build_warehouse(case.write(tmp_path / "in"), AS_OF)
    methods = set(con.execute("select match_method from int_identity_matches").fetchall())
    assert methods == {("mail = enrolled email",)}
    app = con.execute("select match_method from int_application_accounts").fetchall()
    assert app == [("email = enrolled email",)]


# -- activity from the sign-in and access logs --------------------------------------------

def test_sign_in_log_success_counts_and_failure_does_not(tmp_path):
    case = _one_member_case(MEMBER, entra_last_success=days_ago(200))
    case.sign_ins += [("m1", days_ago(5), False)]
    assert DORMANT in _findings(tmp_path / "a", case)
    case.sign_ins += [("m1", days_ago(20), True)]
    assert DORMANT not in _findings(tmp_path / "b", case)


def test_a_review_as_of_a_past_date_counts_only_the_events_by_then(tmp_path):
    """Re-running a past review on a folder whose logs run on past its as-of date: a
    sign-in or an application use after that date was not evidence then (the account was
    dormant, the application unused, on the as-of date), one during the as-of date was."""
    case = _one_member_case(MEMBER, entra_last_success=days_ago(200))
    case.sign_ins += [("m1", days_ago(-3), True)]
    assert DORMANT in _findings(tmp_path / "a", case)
    case.sign_ins += [("m1", days_ago(-0.9), True)]  # 21:36 on the as-of date
    assert DORMANT not in _findings(tmp_path / "b", case)

    case = _one_member_case(MEMBER, entra_last_success=days_ago(1))
    case.app_accounts.append(AppAccount("CERNER", "m1", last_access=days_ago(200)))
    case.access.append(("m1", "Cerner Millennium", days_ago(-3), True))
    unused = ("APP_UNUSED", "CS0000001", MEMBER["email"], "CERNER")
    assert unused in _findings(tmp_path / "c", case)
    case.access.append(("m1", "Cerner Millennium", days_ago(-0.9), True))
    assert unused not in _findings(tmp_path / "d", case)


def test_access_log_use_counts_for_the_application(tmp_path):
    case = _one_member_case(MEMBER, entra_last_success=days_ago(1))
    case.app_accounts.append(AppAccount("CERNER", "m1", last_access=days_ago(200)))
    unused = ("APP_UNUSED", "CS0000001", MEMBER["email"], "CERNER")
    assert unused in _findings(tmp_path / "a", case)
    case.access.append(("m1", "Cerner Millennium", days_ago(3), True))
    assert unused not in _findings(tmp_path / "b", case)
