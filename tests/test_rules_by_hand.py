"""A second, independent check of the findings catalog.

For each of the 17 rules: at least two positive cases and two near misses, derived by hand
from the business rules (docs/rules.md), not from the generator, written in the real
formats (enrollment JSON and ServiceNow pairs, PowerShell Export-Csv, Graph pages,
DocuSign envelopes, application user lists). Each rule's organisation is built once and
the rule's findings compared *exactly* with the hand-derived set: a missing row is a
recall failure, an extra one a precision failure.

The as-of date is 2026-11-01 and every threshold is the default: dormancy 90 days (AD
evidence alone: 90 + 14 days of replication lag), never-signed-in grace 30, provisioning
window 7, DAA term 365 with 30 days' notice, application unused 90.
"""

from __future__ import annotations

import datetime as dt
import json

from tests.cases import (
    APP_NAMES,
    AS_OF,
    Account,
    AppAccount,
    Case,
    days_ago,
    npi,
    person,
    servicenow_pairs,
)
from tests.conftest import build_warehouse

APP_CODES = {name: code for code, name in APP_NAMES.items()}
QVENTUS = {"role": "Scheduler", "facilities": ["Raymond Medical Center"]}


def r2w(recipients: list[str], **over) -> dict:
    return {"fax_number": "(602) 555-0123", "lab_facilities": ["Raymond Medical Center"],
            "alerts": {"Discharged": "fax"}, "recipients": recipients,
            "physician_census": False, **over}


class Org:
    """Groups whose people are provisioned and sign in daily unless a case says otherwise,
    so that only the defect a case adds can produce its rule's finding."""

    def __init__(self) -> None:
        self.case = Case()
        self.n = 0

    def person(self, staff_type: str = "Staff", suffix: str = "Billing",
               apps: tuple[str, ...] = ("CERNER",), first: str | None = None,
               **extra) -> dict:
        self.n += 1
        return person(first or "Pat", f"Case{self.n:03d}", staff_type, suffix, apps, **extra)

    def sponsor(self, **extra) -> dict:
        return self.person("Sponsoring Physician", extra.pop("suffix", "MD"),
                           extra.pop("apps", ("CERNER",)), **extra)

    def admin(self, **extra) -> dict:
        return self.person("Group Administrator", extra.pop("suffix", "Office Manager"),
                           extra.pop("apps", ("CERNER",)), **extra)

    def group(self, rn: str, members=(), sponsor: dict | None = None,
              admin: dict | None | bool = True, provision: bool = True, **kw) -> tuple:
        sponsor = sponsor or self.sponsor()
        admin = self.admin() if admin is True else (admin or None)
        self.case.register(rn, sponsor, admin, list(members), **kw)
        if provision:
            for p in (sponsor, *([admin] if admin else []), *members):
                self.provision(p)
        return sponsor, admin

    def provision(self, p: dict, apps: tuple[str, ...] | None = None,
                  app_last_access: dt.datetime | None = None, app_active: bool = True,
                  **account) -> str:
        lan = lan_of(p)
        account.setdefault("entra_last_success", days_ago(1))
        self.case.accounts.append(Account(lan, p["email"], **account))
        for app in apps if apps is not None else apps_of(p):
            self.case.app_accounts.append(AppAccount(
                app, lan, active=app_active,
                last_access=app_last_access or days_ago(2)))
        return lan

    def findings(self, tmp_path, rule: str, extra_files: dict | None = None) -> set:
        folder = self.case.write(tmp_path / "in")
        for name, body in (extra_files or {}).items():
            (folder / name).write_text(body, encoding="utf-8")
        con = build_warehouse(folder, AS_OF)
        rows = con.execute("select request_number, email, application from findings "
                           "where rule = ?", [rule]).fetchall()
        return {tuple(v or "" for v in r) for r in rows}


def lan_of(p: dict) -> str:
    return (p["first_name"][0] + p["last_name"]).lower()


def apps_of(p: dict) -> tuple[str, ...]:
    return tuple(APP_CODES[a] for a in p.get("applications", []))


def e(p: dict) -> str:
    return p["email"].lower()


# -- ROLE_NOT_ALLOWED: person x application held or requested outside the policy table -----

def test_role_not_allowed(tmp_path):
    org = Org()
    billing = org.person("Staff", "Billing", ("CERNER", "QVENTUS"), qventus=QVENTUS)  # +
    provider_as_staff = org.person("Provider", "Office Manager", ("CERNER",))           # +
    scheduler = org.person("Staff", "Surgery Scheduler", ("CERNER", "QVENTUS"),
                           qventus=QVENTUS)                                            # -
    lower_case = org.person("Staff", "billing", ("CERNER", "PACS"))                    # -
    admin_scheduler = org.admin(suffix="Surgery Scheduler", apps=("CERNER", "QVENTUS"),
                                qventus=QVENTUS)                                       # -
    org.group("CS0000101", [billing, provider_as_staff, scheduler, lower_case],
              admin=admin_scheduler)
    assert org.findings(tmp_path, "ROLE_NOT_ALLOWED") == {
        ("CS0000101", e(billing), "QVENTUS"), ("CS0000101", e(provider_as_staff), "CERNER")}


# -- NOT_REQUESTED: an application account with no approved request -----------------------

def test_not_requested(tmp_path):
    org = Org()
    pacs_unasked = org.person(apps=("CERNER",))                                        # +
    r2w_dropped = org.person("Provider", "MD", ("CERNER", "R2W"))                      # +
    added_later = org.person(apps=("CERNER",))                                         # -
    by_email = org.person(apps=("CERNER",))                                            # -
    org.group("CS0000102", [pacs_unasked, r2w_dropped, added_later])
    org.provision(by_email, apps=())
    org.case.app_accounts += [
        AppAccount("PACS", lan_of(pacs_unasked), last_access=days_ago(3)),
        AppAccount("PACS", lan_of(added_later), last_access=days_ago(3)),
        # username unknown to the directory: resolved by its email, which differs in case
        AppAccount("CERNER", "svc-7781", email=by_email["email"].upper(),
                   last_access=days_ago(3)),
    ]
    # R2W dropped from the full list of applications; the account stayed on
    org.case.change("CS0000202", "CS0000102", "change_applications",
                    [dict(r2w_dropped, applications=["Cerner Millennium"])], days_ago(40))
    org.case.change("CS0000203", "CS0000102", "add_members",
                    [dict(added_later, applications=["Cerner Millennium", "PACS Synapse"])],
                    days_ago(30))
    org.case.change("CS0000204", "CS0000102", "add_members", [by_email], days_ago(30))
    assert org.findings(tmp_path, "NOT_REQUESTED") == {
        ("CS0000102", e(pacs_unasked), "PACS"), ("CS0000102", e(r2w_dropped), "R2W")}


# -- a request ServiceNow closed unfulfilled: no request, no removal, nothing to provision -

def _closed_requests_org() -> tuple[Org, dict]:
    """One group and six change requests, three of which ServiceNow closed unfulfilled
    (rejected, closed incomplete as a task's state pair, closed cancelled) and three that
    stand (approved, no outcome, in process)."""
    org = Org()
    people = {name: org.person(apps=("CERNER",)) for name in (
        "pacs_rejected", "pacs_approved", "removal_incomplete", "removed",
        "addition_cancelled", "addition_waiting")}
    org.group("CS0000120", [people[n] for n in ("pacs_rejected", "pacs_approved",
                                                "removal_incomplete", "removed")])
    for name in ("pacs_rejected", "pacs_approved"):  # provisioned PACS in any case
        org.case.app_accounts.append(AppAccount("PACS", lan_of(people[name]),
                                                last_access=days_ago(3)))
    with_pacs = ["Cerner Millennium", "PACS Synapse"]
    for rn, kind, name, outcome in (
            ("CS0000501", "change_applications", "pacs_rejected", {"approval": "rejected"}),
            ("CS0000502", "change_applications", "pacs_approved", {"approval": "approved"}),
            ("CS0000503", "remove_members", "removal_incomplete",
             {"state": {"display_value": "Closed Incomplete", "value": "4"}}),
            ("CS0000504", "remove_members", "removed", {}),
            ("CS0000505", "add_members", "addition_cancelled",
             {"request_state": "closed_cancelled"}),
            ("CS0000506", "add_members", "addition_waiting", {"request_state": "in_process"})):
        who = people[name]
        org.case.change(rn, "CS0000120", kind,
                        [dict(who, applications=with_pacs) if kind == "change_applications"
                         else who], days_ago(20))
        org.case.submissions[-1].update(outcome)
    return org, people


def test_a_request_servicenow_closed_unfulfilled_takes_no_effect(tmp_path):
    org, p = _closed_requests_org()
    con = build_warehouse(org.case.write(tmp_path / "in"), AS_OF)
    rows = con.execute("select rule, email, application from findings where rule in "
                       "('NOT_REQUESTED', 'NOT_PROVISIONED', 'REMOVED_MEMBER_ACTIVE', "
                       "'ORPHAN_ACCOUNT')").fetchall()
    assert {(r, x, y or "") for r, x, y in rows} == {
        # PACS held, its request rejected: no request for it
        ("NOT_REQUESTED", e(p["pacs_rejected"]), "PACS"),
        # removed by a request that stands; the closed-incomplete removal removed nobody
        ("REMOVED_MEMBER_ACTIVE", e(p["removed"]), ""),
        ("REMOVED_MEMBER_ACTIVE", e(p["removed"]), "CERNER"),
        # added by a request in process and not provisioned in 20 days; the cancelled
        # addition asked for nothing
        ("NOT_PROVISIONED", e(p["addition_waiting"]), "CERNER")}
    notes = con.execute("select subject, detail from review_notes "
                        "where note = 'submission closed without effect'").fetchall()
    assert {s for s, _ in notes} == {"CS0000501", "CS0000503", "CS0000505"}
    assert any("as rejected" in d and "NOT_REQUESTED" in d for _, d in notes)
    status = dict(con.execute("select email, member_status from int_members").fetchall())
    assert status[e(p["removal_incomplete"])] == "active"
    assert e(p["addition_cancelled"]) not in status


def test_an_unknown_servicenow_outcome_is_warned_and_the_request_stands(tmp_path):
    org, p = _closed_requests_org()
    org.case.submissions[-6]["approval"] = "On hold"  # was rejected
    con = build_warehouse(org.case.write(tmp_path / "in"), AS_OF)
    assert not con.execute("select count(*) from findings where rule = 'NOT_REQUESTED'"
                           ).fetchone()[0]
    assert con.execute("select rule, column_name from row_warnings "
                       "where table_name = 'enrollment_submissions'").fetchall() == [
        ("servicenow_state", "closed_as")]
    assert not con.execute("select count(*) from quarantine").fetchone()[0]


def test_a_later_export_that_shows_the_request_closed_decides(tmp_path):
    """The first export shows the PACS request in process, a later one the same request
    (number and submission time) rejected: a closed state is final, so the review as of
    the later day has no request for PACS, from the evidence store as from scratch. The
    store keeps the later sighting, not taking it for the earlier one again."""
    org, p = _closed_requests_org()
    rejected = next(d for d in org.case.submissions if d["request_number"] == "CS0000501")
    rejected["approval"] = "requested"
    folder = org.case.write(tmp_path / "in")
    store = tmp_path / "evidence.duckdb"

    def not_requested(as_of: dt.date, with_store: bool) -> set:
        con = build_warehouse(folder, as_of, store=store if with_store else None)
        return {r[0] for r in con.execute("select email from findings "
                                          "where rule = 'NOT_REQUESTED'").fetchall()}

    assert not_requested(AS_OF - dt.timedelta(days=1), True) == set()
    (folder / "submissions_later.json").write_text(json.dumps(
        {"result": [dict(rejected, approval="rejected")]}), encoding="utf-8")
    assert not_requested(AS_OF, True) == {e(p["pacs_rejected"])}
    assert not_requested(AS_OF, False) == {e(p["pacs_rejected"])}


# -- NOT_PROVISIONED: requested, DAA complete, no account after the 7-day window ----------

def test_not_provisioned(tmp_path):
    org = Org()
    eight_days = org.person(apps=("CERNER",))                                          # +
    seven_days = org.person(apps=("CERNER",))                                          # -
    half_done = org.person(apps=("CERNER", "PACS"))                                    # +
    org.group("CS0000103", [half_done])
    org.case.app_accounts = [a for a in org.case.app_accounts
                             if not (a.username == lan_of(half_done) and a.application == "PACS")]
    org.case.change("CS0000301", "CS0000103", "add_members", [eight_days], days_ago(8))
    org.case.change("CS0000302", "CS0000103", "add_members", [seven_days], days_ago(7))
    # a group whose DAA completed 8 days ago, and one whose DAA completed 7 days ago:
    # the window starts when the DAA is in force
    late_daa, _ = org.group("CS0000104", admin=False, provision=False, daa=False,
                            submitted=days_ago(60))
    org.case.daa("CS0000104", completed=days_ago(8))
    fresh_daa, _ = org.group("CS0000105", admin=False, provision=False, daa=False,
                             submitted=days_ago(60))
    org.case.daa("CS0000105", completed=days_ago(7))
    # requested 30 days ago but the DAA is still out for signature: not yet due
    unsigned, _ = org.group("CS0000106", admin=False, provision=False, daa=False,
                            submitted=days_ago(30))
    org.case.daa("CS0000106", status="sent", sent=days_ago(29))
    assert org.findings(tmp_path, "NOT_PROVISIONED") == {
        ("CS0000103", e(eight_days), "CERNER"), ("CS0000103", e(half_done), "PACS"),
        ("CS0000104", e(late_daa), "CERNER")}


def test_not_provisioned_names_the_request_that_started_the_window(tmp_path):
    """A later restatement of the same applications does not restart the clock, and the
    detail names the request that asked first, not the latest one."""
    org = Org()
    waiting = org.person(apps=("CERNER", "PACS"))
    org.group("CS0000103", provision=False)
    org.case.change("CS0000301", "CS0000103", "add_members", [waiting], days_ago(40))
    org.case.change("CS0000302", "CS0000103", "change_applications", [waiting], days_ago(3))
    org.provision(waiting, apps=("CERNER",))
    con = build_warehouse(org.case.write(tmp_path / "in"), AS_OF)
    (detail,) = con.execute("select detail from findings where rule = 'NOT_PROVISIONED'"
                            ).fetchone()
    assert "CS0000301" in detail and "CS0000302" not in detail and "40 days" in detail


# -- NO_ACTIVE_DAA: active access while the DAA is not in force -----------------------------

def test_no_active_daa(tmp_path):
    org = Org()
    # + DocuSign says completed but the Group Administrator never signed
    s1, a1 = org.group("CS0000107", daa=False)
    org.case.daa("CS0000107", completed=days_ago(100), unsigned=("Group Administrator",))
    # + lapsed on the as-of date itself (signed 365 days before it)
    s2, a2 = org.group("CS0000108", daa=False)
    org.case.daa("CS0000108", completed=days_ago(364.5))
    # + the Corporate/Legal Representative the group named never signed
    s3, a3 = org.group("CS0000109", daa=False, corporate="YES", corporate_name="Lee Counsel",
                       corporate_email="lee@counsel.example")
    org.case.daa("CS0000109", completed=days_ago(50),
                 unsigned=("Corporate or Legal Representative",))
    # - signed 364 days ago: in force (renewal due)
    org.group("CS0000110", daa=False)
    org.case.daa("CS0000110", completed=days_ago(363.5))
    # - the sponsor is also the administrator and signed once, for both
    org.group("CS0000111", admin=False)
    # - an old agreement lapsed, but a renewal every party signed is in force
    org.group("CS0000112", daa=False)
    org.case.daa("CS0000112", completed=days_ago(500))
    org.case.daa("CS0000112", completed=days_ago(20))
    # - not in force, but nobody has access yet
    org.group("CS0000113", daa=False, provision=False)
    org.case.daa("CS0000113", completed=days_ago(10), unsigned=("Sponsoring Physician",))
    assert org.findings(tmp_path, "NO_ACTIVE_DAA") == {
        (rn, e(p), "CERNER") for rn, p in (("CS0000107", s1), ("CS0000107", a1),
                                           ("CS0000108", s2), ("CS0000108", a2),
                                           ("CS0000109", s3), ("CS0000109", a3))}


def test_a_missing_signer_is_named_in_the_finding_and_the_groups_sheet(tmp_path):
    org = Org()
    org.group("CS0000107", daa=False)
    org.case.daa("CS0000107", completed=days_ago(100), unsigned=("Group Administrator",))
    con = build_warehouse(org.case.write(tmp_path / "in"), AS_OF)
    details = {d for (d,) in con.execute(
        "select detail from findings where rule = 'NO_ACTIVE_DAA'").fetchall()}
    assert details and all("not signed by the Group Administrator" in d for d in details)
    assert con.execute("select daa_missing_signers from group_overview").fetchall() == [
        ("Group Administrator",)]


# -- DAA_RENEWAL_DUE: the DAA lapses within the 30-day notice window -----------------------

def test_daa_renewal_due(tmp_path):
    org = Org()
    for rn, signed in (("CS0000114", 334.5),   # + lapses in exactly 30 days
                       ("CS0000115", 363.5),   # + lapses tomorrow
                       ("CS0000116", 333.5),   # - lapses in 31 days
                       ("CS0000117", 364.5)):  # - lapses today: NO_ACTIVE_DAA instead
        org.group(rn, daa=False)
        org.case.daa(rn, completed=days_ago(signed))
    org.group("CS0000118", daa=False)          # - renewed before it lapsed
    org.case.daa("CS0000118", completed=days_ago(350))
    org.case.daa("CS0000118", completed=days_ago(10))
    assert org.findings(tmp_path, "DAA_RENEWAL_DUE") == {
        ("CS0000114", "", ""), ("CS0000115", "", "")}


# -- ORPHAN_ACCOUNT: an account that matches no enrolled member -----------------------------

def test_orphan_account(tmp_path):
    org = Org()
    member = org.person(apps=("CERNER",))
    org.group("CS0000119", [member], provision=False)
    org.case.accounts.append(Account(lan_of(member), member["email"].title(),     # - case
                                     entra_last_success=days_ago(1)))
    org.case.app_accounts.append(AppAccount("CERNER", lan_of(member),              # - LAN ID
                                            last_access=days_ago(1)))
    org.case.accounts.append(Account("ghost1", "ghost@formerpractice.example",     # + AD
                                     entra_last_success=days_ago(3)))
    org.case.app_accounts.append(AppAccount("PACS", "tmp4471",                     # + app
                                            email="temp@staffing.example",
                                            last_access=days_ago(3)))
    found = org.findings(tmp_path, "ORPHAN_ACCOUNT")
    assert found == {("", "ghost@formerpractice.example", ""),
                     ("", "temp@staffing.example", "PACS")}


def test_two_orphan_accounts_of_one_address_are_two_findings(tmp_path):
    """A departed person with two enabled directory accounts under one mail (and an
    Entra-only pair sharing another): one finding per account, each on the dormant list
    with its own UPN, and the run does not stop."""
    org = Org()
    org.group("CS0000119", [org.person(apps=("CERNER",))])
    for lan in ("ghost1", "ghost2"):
        org.case.accounts.append(Account(lan, "ghost@formerpractice.example",
                                         entra_last_success=days_ago(3)))
    for lan in ("cloud1", "cloud2"):
        org.case.accounts.append(Account(lan, "cloud@formerpractice.example", in_ad=False,
                                         entra_last_success=days_ago(3)))
    folder = org.case.write(tmp_path / "in")
    con = build_warehouse(folder, AS_OF)
    found = con.execute("select email, lan_id from findings where rule = 'ORPHAN_ACCOUNT' "
                        "order by all").fetchall()
    assert found == [("cloud@formerpractice.example", "cloud1"),
                     ("cloud@formerpractice.example", "cloud2"),
                     ("ghost@formerpractice.example", "ghost1"),
                     ("ghost@formerpractice.example", "ghost2")]
    listed = con.execute("select email, upn from dormant_accounts where request_number = '' "
                         "order by all").fetchall()
    assert [u.split("@")[0] for _, u in listed] == ["cloud1", "cloud2", "ghost1", "ghost2"]


# -- REMOVED_MEMBER_ACTIVE: a removed member's remaining access, and nothing else ---------

def test_removed_member_active(tmp_path):
    org = Org()
    left_on = org.person(apps=("CERNER",))          # + directory and CERNER still on
    app_left = org.person(apps=("PACS",))           # + directory off, PACS still on
    cleaned = org.person(apps=("CERNER",))          # - everything off
    came_back = org.person(apps=("CERNER",))        # - removed, then added again
    org.group("CS0000120", [came_back])
    org.provision(left_on, entra_last_success=days_ago(200))  # would also look dormant
    org.provision(app_left, enabled=False)                    # would look disabled-with-access
    org.provision(cleaned, enabled=False, app_active=False)
    for who in (left_on, app_left, cleaned):
        org.case.change(f"CS00004{org.n:02d}", "CS0000120", "add_members", [who], days_ago(300))
        org.n += 1
    org.case.change("CS0000490", "CS0000120", "remove_members",
                    [{"email": p["email"]} for p in (left_on, app_left, cleaned, came_back)],
                    days_ago(30))
    org.case.change("CS0000491", "CS0000120", "add_members", [came_back], days_ago(10))
    folder = org.case.write(tmp_path / "in")
    con = build_warehouse(folder, AS_OF)
    rows = {(r, e_, a or "") for r, e_, a in con.execute(
        "select rule, email, application from findings where request_number = 'CS0000120'"
    ).fetchall()}
    assert {(x, y) for r, x, y in rows if r == "REMOVED_MEMBER_ACTIVE"} == {
        (e(left_on), ""), (e(left_on), "CERNER"), (e(app_left), "PACS")}
    # one access, one finding: no other rule speaks of the removed members' access
    removed = {e(left_on), e(app_left), e(cleaned)}
    assert {r for r, x, _ in rows if x in removed} == {"REMOVED_MEMBER_ACTIVE"}


# -- DISABLED_WITH_ACCESS: the directory account is off, application access is not -------

def test_disabled_with_access(tmp_path):
    org = Org()
    disabled = org.person(apps=("CERNER",))         # +
    expired = org.person(apps=("PACS",))            # +
    all_off = org.person(apps=("CERNER",))          # -
    expires_later = org.person(apps=("CERNER",))    # -
    org.group("CS0000121", [disabled, expired, all_off, expires_later], provision=False)
    org.provision(disabled, enabled=False)
    org.provision(expired, expires=days_ago(3))
    org.provision(all_off, enabled=False, app_active=False)
    org.provision(expires_later, expires=days_ago(-30))
    assert org.findings(tmp_path, "DISABLED_WITH_ACCESS") == {
        ("CS0000121", e(disabled), "CERNER"), ("CS0000121", e(expired), "PACS")}


# -- DORMANT_ACCOUNT: no successful sign-in for more than 90 days -------------------------

def test_dormant_account(tmp_path):
    org = Org()
    people = [org.person(apps=()) for _ in range(5)]
    org.group("CS0000122", people, provision=False)
    entra_91, ad_105, entra_90, ad_104, app_recent = people
    org.provision(entra_91, entra_last_success=days_ago(91))                        # +
    org.provision(ad_105, entra_last_success=None, ad_last_logon=days_ago(105),
                  in_entra=False)                                                   # +
    org.provision(entra_90, entra_last_success=days_ago(90))                        # -
    org.provision(ad_104, entra_last_success=None, ad_last_logon=days_ago(104),
                  in_entra=False)                                                   # -
    org.provision(app_recent, entra_last_success=days_ago(200), apps=("CERNER",),
                  app_last_access=days_ago(5))                                      # -
    assert org.findings(tmp_path, "DORMANT_ACCOUNT") == {
        ("CS0000122", e(entra_91), ""), ("CS0000122", e(ad_105), "")}


# -- NEVER_SIGNED_IN: enabled, never used, created more than 30 days ago -------------------

def test_never_signed_in(tmp_path):
    org = Org()
    people = [org.person(apps=()) for _ in range(5)]
    org.group("CS0000123", people, provision=False)
    d31, d400, d30, used_once, disabled = people
    org.provision(d31, entra_last_success=None, created=days_ago(31))               # +
    org.provision(d400, entra_last_success=None, created=days_ago(400),
                  entra_last_any=days_ago(3))  # a failed attempt is no use          # +
    org.provision(d30, entra_last_success=None, created=days_ago(30))               # -
    org.provision(used_once, entra_last_success=days_ago(80), created=days_ago(100))  # -
    org.provision(disabled, entra_last_success=None, enabled=False)                 # -
    assert org.findings(tmp_path, "NEVER_SIGNED_IN") == {
        ("CS0000123", e(d31), ""), ("CS0000123", e(d400), "")}


def test_never_signed_in_when_no_export_gives_the_creation_date(tmp_path):
    """An AD export made without whenCreated and Graph pages without createdDateTime: the
    grace period cannot be measured. A never-used enabled account is listed, saying the
    date is unknown, rather than left off the support desk's list; a used one is not."""
    import csv

    org = Org()
    people = [org.person(apps=()) for _ in range(3)]
    org.group("CS0000123", people, provision=False)
    never, used, disabled = people
    org.provision(never, entra_last_success=None)                                   # +
    org.provision(used, entra_last_success=days_ago(5))                             # -
    org.provision(disabled, entra_last_success=None, enabled=False)                 # -
    folder = org.case.write(tmp_path / "in")
    with (folder / "ad.csv").open(newline="", encoding="utf-8") as fh:
        rows = [{k: v for k, v in r.items() if k != "whenCreated"}
                for r in csv.DictReader(fh)]
    with (folder / "ad.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, list(rows[0]), lineterminator="\r\n")
        w.writeheader()
        w.writerows(rows)
    graph = json.loads((folder / "entra.json").read_text(encoding="utf-8"))
    for user in graph["value"]:
        del user["createdDateTime"]
    (folder / "entra.json").write_text(json.dumps(graph), encoding="utf-8")
    con = build_warehouse(folder, AS_OF)
    rows = con.execute("select email, detail from findings "
                       "where rule = 'NEVER_SIGNED_IN'").fetchall()
    assert [r[0] for r in rows] == [e(never)]
    assert "creation date unknown" in rows[0][1]


def test_never_signed_in_says_when_the_logs_are_the_only_evidence(tmp_path):
    """No export gives a last sign-in as an attribute; sign-in logs of the last 40 days
    (Entra keeps 30; the evidence store, more) are the only evidence. An account made 400
    days ago with nothing in them is listed, and the detail says when the logs begin (an
    earlier sign-in would not show), not that it never signed in; one made 31 days ago,
    after the logs begin, never did."""
    org = Org()
    people = [org.person(apps=()) for _ in range(3)]
    org.group("CS0000123", people, provision=False)
    old, new, used = people
    org.provision(old, entra_last_success=None)
    org.provision(new, entra_last_success=None, created=days_ago(31))
    org.provision(used, entra_last_success=None)
    for d in range(1, 41):
        org.case.sign_ins.append((lan_of(used), days_ago(d), True))
    con = build_warehouse(org.case.write(tmp_path / "in"), AS_OF)
    details = dict(con.execute("select email, detail from findings "
                               "where rule = 'NEVER_SIGNED_IN'").fetchall())
    assert set(details) == {e(old), e(new)}
    assert "logs, which begin 2026-09-22 and are the only evidence" in details[e(old)]
    assert details[e(new)].endswith("never signed in; grace 30 days")


# -- APP_UNUSED: an application not used for more than 90 days by an active account -------

def test_app_unused(tmp_path):
    org = Org()
    people = [org.person(apps=("CERNER",)) for _ in range(5)]
    org.group("CS0000124", people, provision=False)
    d91, d200, d90, dormant, disabled = people
    org.provision(d91, app_last_access=days_ago(91))                                # +
    org.provision(d200, app_last_access=days_ago(200))                              # +
    org.provision(d90, app_last_access=days_ago(90))                                # -
    org.provision(dormant, entra_last_success=days_ago(200),
                  app_last_access=days_ago(120))  # DORMANT_ACCOUNT instead          # -
    org.provision(disabled, enabled=False,
                  app_last_access=days_ago(120))  # DISABLED_WITH_ACCESS instead     # -
    assert org.findings(tmp_path, "APP_UNUSED") == {
        ("CS0000124", e(d91), "CERNER"), ("CS0000124", e(d200), "CERNER")}


def test_app_unused_needs_a_source_that_reports_the_applications_use(tmp_path):
    """The Cerner list gives last access (an account in it without one was never used);
    the PACS list was exported without its last access column and no access log covers
    PACS: nothing says whether PACS is used, so no PACS account is APP_UNUSED ("never
    used" for every one of them, before), and the review notes it."""
    import csv

    org = Org()
    people = [org.person(apps=("CERNER", "PACS")) for _ in range(2)]
    org.group("CS0000124", people, provision=False)
    used, never = people
    org.provision(used, app_last_access=days_ago(3))
    org.provision(never)
    for a in org.case.app_accounts:
        if a.username == lan_of(never) and a.application == "CERNER":
            a.last_access = None                                                    # +
    folder = org.case.write(tmp_path / "in")
    with (folder / "apps.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for name, keep in (("apps.csv", lambda r: r["application"] != "PACS"),
                       ("pacs_users.csv", lambda r: r["application"] == "PACS")):
        chosen = [r for r in rows if keep(r)]
        if name == "pacs_users.csv":  # exported without last access
            chosen = [{k: v for k, v in r.items() if k != "last_access"} for r in chosen]
        with (folder / name).open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, list(chosen[0]))
            w.writeheader()
            w.writerows(chosen)
    con = build_warehouse(folder, AS_OF)
    assert con.execute("select email, application from findings where rule = 'APP_UNUSED'"
                       ).fetchall() == [(e(never), "CERNER")]
    assert con.execute("select subject from review_notes "
                       "where note = 'application use not reported'").fetchall() == [("PACS",)]


# -- DUPLICATE_IDENTITY: each extra account or enrolment of one person ---------------------

def test_duplicate_identity(tmp_path):
    org = Org()
    two_accounts = org.person()                                                     # +
    provider = org.person("Provider", "MD", ("CERNER",))
    same_name_1 = org.person(first="Sam")
    case_only = org.person()
    mover = org.person()
    org.group("CS0000125", [two_accounts, provider, same_name_1, mover], submitted=days_ago(400))
    org.case.accounts.append(Account(lan_of(two_accounts) + "2", two_accounts["email"],
                                     created=days_ago(50), entra_last_success=days_ago(2)))
    # the same NPI enrolled again under another email, in another group           # +
    provider_again = dict(provider, email="dr.case@otherpractice.example")
    # another person with the same name, another NPI and email                      # -
    same_name_2 = dict(same_name_1, email="sam.other@elsewhere.example")
    # the same email enrolled again in another group, written in another case      # +
    mover_again = dict(mover, email=mover["email"].upper())
    org.group("CS0000126", [same_name_2, case_only], submitted=days_ago(100), provision=False)
    org.case.accounts += [
        Account("samother", same_name_2["email"], entra_last_success=days_ago(1)),
        Account(lan_of(case_only), case_only["email"].title(),                      # -
                entra_last_success=days_ago(1))]
    org.case.change("CS0000501", "CS0000126", "add_members", [provider_again, mover_again],
                    days_ago(50))
    assert org.findings(tmp_path, "DUPLICATE_IDENTITY") == {
        ("CS0000125", e(two_accounts), ""),
        ("CS0000126", "dr.case@otherpractice.example", ""),
        ("CS0000126", e(mover), "")}


# -- SPONSOR_NOT_QUALIFIED: suffix, NPI, licensed state, license number ---------------------

def test_sponsor_not_qualified(tmp_path):
    org = Org()
    bad = {"CS0000127": org.sponsor(suffix="Office Manager"),                       # +
           "CS0000128": org.sponsor(npi=npi("123456789")[:9] + str(
               (int(npi("123456789")[9]) + 1) % 10)),                               # +
           "CS0000129": org.sponsor(licensed_state="")}                             # +
    good = {"CS0000130": org.sponsor(suffix="DO"),                                  # -
            "CS0000131": org.sponsor(suffix="md", npi=npi("987654321"),             # -
                                     licensed_state="AZ", state_license_number="7"),
            "CS0000132": org.sponsor(suffix="NP")}                                  # -
    for rn, s in {**bad, **good}.items():
        org.group(rn, sponsor=s)
    assert org.findings(tmp_path, "SPONSOR_NOT_QUALIFIED") == {
        (rn, e(s), "") for rn, s in bad.items()}


# -- GROUP_ROLES_INVALID: one sponsor and one administrator; a named representative -------

def test_group_roles_invalid(tmp_path):
    org = Org()
    org.group("CS0000133", corporate="YES", corporate_name="Lee Counsel")           # + no email
    _, gone = org.group("CS0000134")                                                # + admin left
    org.case.change("CS0000601", "CS0000134", "remove_members", [{"email": gone["email"]}],
                    days_ago(20))
    second = org.person("Sponsoring Physician", "MD", ("CERNER",))
    org.group("CS0000135", [second])                                                # + two sponsors
    org.group("CS0000136", corporate="NO")                                          # -
    # - the sponsor is the administrator, said in ServiceNow's display_value=all encoding
    sponsor_admin = org.sponsor()
    org.group("CS0000137", sponsor=sponsor_admin, admin=False)
    doc = org.case.submissions.pop()
    assert doc["group_administrator_same_as_sponsor"] is True
    extra = {"servicenow.json": json.dumps({"result": [servicenow_pairs(doc)]})}
    assert org.findings(tmp_path, "GROUP_ROLES_INVALID", extra) == {
        ("CS0000133", "", ""), ("CS0000134", "", ""), ("CS0000135", "", "")}


# -- DSM_ADDRESS_INVALID: a Direct address on a HISP domain, for providers only ------------

def test_dsm_address_invalid(tmp_path):
    org = Org()
    dsm = ("CERNER", "DSM")
    free_mail = org.person("Provider", "MD", dsm,
                           direct_secure_messaging={"direct_address": "case.md@gmail.com"})  # +
    no_address = org.person("Provider", "NP", dsm)                                          # +
    staff = org.person("Staff", "Billing", dsm,
                       direct_secure_messaging={"direct_address": "b@direct.clinic.example"})  # +
    direct = org.person("Provider", "MD", dsm,
                        direct_secure_messaging={"direct_address": "dr@direct.clinic.example"})  # -
    upper = org.person("Provider", "PA", dsm,
                       direct_secure_messaging={"direct_address": "PA@DIRECT.Clinic.Example"})  # -
    org.group("CS0000138", [free_mail, no_address, staff, direct, upper])
    assert org.findings(tmp_path, "DSM_ADDRESS_INVALID") == {
        ("CS0000138", e(p), "DSM") for p in (free_mail, no_address, staff)}


# -- APP_DETAILS_MISSING: Qventus role/facility; R2W fax, labs, alerts, recipients, privacy -

def test_app_details_missing(tmp_path):
    org = Org()
    no_facility = org.person("Staff", "Surgery Scheduler", ("CERNER", "QVENTUS"),
                             qventus={"role": "Scheduler", "facilities": []})       # +
    complete_q = org.person("Staff", "Surgery Scheduler", ("CERNER", "QVENTUS"),
                            qventus=QVENTUS)                                        # -
    no_labs = org.person("Provider", "MD", ("CERNER", "R2W"))                       # +
    no_labs["report2web"] = r2w([no_labs["email"]], lab_facilities=[])
    org.group("CS0000139", [no_facility, complete_q, no_labs])
    # R2W requested on forms of their own: one without the privacy box checked (+), one
    # with it checked, as ServiceNow writes a check box ("true") (-)
    unchecked = org.person("Provider", "MD", ("CERNER", "R2W"))
    unchecked["report2web"] = r2w([unchecked["email"]])
    checked = org.person("Provider", "DO", ("CERNER", "R2W"))
    checked["report2web"] = r2w([checked["email"]])
    for rn, who, box in (("CS0000701", unchecked, False), ("CS0000702", checked, "true")):
        org.case.change(rn, "CS0000139", "add_members", [who], days_ago(60))
        org.case.submissions[-1]["report2web_privacy_policy_accepted"] = box
        org.provision(who)
    assert org.findings(tmp_path, "APP_DETAILS_MISSING") == {
        ("CS0000139", e(no_facility), "QVENTUS"), ("CS0000139", e(no_labs), "R2W"),
        ("CS0000139", e(unchecked), "R2W")}


# -- R2W_RECIPIENT_INVALID: provider x recipient not an active, usable member --------------

def test_r2w_recipient_invalid(tmp_path):
    org = Org()
    member = org.person()
    removed = org.person()
    disabled = org.person()
    provider = org.person("Provider", "MD", ("CERNER", "R2W"))
    provider["report2web"] = r2w([
        "outsider@elsewhere.example",          # + not a member of the group
        removed["email"],                      # + removed from the group
        disabled["email"],                     # + account disabled
        member["email"].upper(),               # - an active member, in another case
        provider["email"],                     # - the provider themself
    ])
    org.group("CS0000140", [member, removed, provider], provision=True)
    org.case.change("CS0000801", "CS0000140", "add_members", [disabled], days_ago(200))
    org.provision(disabled, enabled=False)
    org.case.change("CS0000802", "CS0000140", "remove_members", [{"email": removed["email"]}],
                    days_ago(15))
    assert org.findings(tmp_path, "R2W_RECIPIENT_INVALID") == {
        ("CS0000140", "outsider@elsewhere.example", "R2W"),
        ("CS0000140", e(removed), "R2W"), ("CS0000140", e(disabled), "R2W")}


def test_never_signed_in_needs_a_sign_in_somewhere_among_the_inputs(tmp_path):
    """Inputs without a single sign-in (Graph users without signInActivity, AD without
    lastLogonTimestamp, no sign-in log, no application list) cannot tell an unused account
    from one whose use nobody exported: every enabled account was NEVER_SIGNED_IN (1,021
    on the 100-group bench folder so stripped). Nobody is judged then, and the review
    notes why; one member's sign-in among the same inputs makes the others' absence
    evidence again."""
    def org_of(someone_signed_in: bool) -> Org:
        org = Org()
        people = [org.person(apps=()) for _ in range(3)]
        org.group("CS0000140", people, provision=False)
        for p in people:
            org.provision(p, entra_last_success=None, created=days_ago(400))
        if someone_signed_in:
            signed_in = org.person(apps=())
            org.group("CS0000141", [signed_in], provision=False)
            org.provision(signed_in, entra_last_success=days_ago(2))
        return org, people

    org, people = org_of(False)
    assert org.findings(tmp_path / "none", "NEVER_SIGNED_IN") == set()
    con = build_warehouse(tmp_path / "none" / "in", AS_OF)
    assert con.execute("select note, subject from review_notes "
                       "where note = 'no sign-in evidence'").fetchall() == [
        ("no sign-in evidence", "sign-in activity")]
    assert con.execute("select count(*) from findings where rule = 'DORMANT_ACCOUNT'"
                       ).fetchone() == (0,)

    org, people = org_of(True)
    assert org.findings(tmp_path / "one", "NEVER_SIGNED_IN") == {
        ("CS0000140", e(p), "") for p in people}
    con = build_warehouse(tmp_path / "one" / "in", AS_OF)
    assert con.execute("select count(*) from review_notes "
                       "where note = 'no sign-in evidence'").fetchone() == (0,)


def test_sign_in_evidence_that_ends_well_before_the_as_of_date_is_noted(tmp_path):
    """Exports taken long before the as-of date (or an as-of date mistyped) count the days
    after them as days without use: the review notes the date of the latest sign-in among
    the inputs when it is more than `evidence_age_days` (14) before the as-of date, and
    the dormant run, whose disable list is acted on as it is, is refused."""
    from ccreview.contracts.completeness import sign_in_evidence_ends_early

    def notes(latest_days_ago: int) -> list:
        org = Org()
        people = [org.person(apps=()) for _ in range(2)]
        org.group("CS0000150", people, provision=False)
        org.provision(people[0], entra_last_success=days_ago(latest_days_ago))
        org.provision(people[1], entra_last_success=days_ago(latest_days_ago + 30))
        con = build_warehouse(org.case.write(tmp_path / str(latest_days_ago)), AS_OF)
        refusals.append(sign_in_evidence_ends_early(con))  # the dormant run's
        return con.execute("select subject, reference, detail from review_notes "
                           "where note = 'sign-in evidence ends early'").fetchall()

    refusals: list = []
    assert notes(14) == [] and refusals == [None]
    (subject, reference, detail), = notes(15)
    assert (subject, reference) == ("sign-in activity", "2026-10-17")
    assert "15 days before the as-of date 2026-11-01" in detail
    assert refusals[1].startswith("The latest sign-in among the inputs, anyone's, is on "
                                  "2026-10-17, 15 days before the as-of date 2026-11-01: ")
