"""The support desk's dormant and orphaned account lists."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re

import openpyxl
import pytest

from ccreview.contracts.readers.enrollment_json import unwrap
from ccreview.core.config import FindingException, ReviewConfig
from ccreview.reports.dormant_accounts import COLUMNS, SUPPORT_RULES, write_dormant_reports
from tests.cases import AS_OF, Account, AppAccount, Case, days_ago, person
from tests.conftest import SAMPLE, SAMPLE_AS_OF, build_warehouse, expected_keys

PERSON_RULES = set(SUPPORT_RULES) - {"ORPHAN_ACCOUNT"}


def _dormant_rows(con):
    return [dict(zip(COLUMNS, r, strict=True)) for r in con.execute(
        f"select {', '.join(COLUMNS)} from dormant_accounts").fetchall()]


def _admins_from_enrollment(folder):
    """The Group Administrator of each group, read straight from the submissions."""
    admins, removed = {}, set()
    for path in sorted((folder / "enrollment").glob("*.json")):
        body = unwrap(json.loads(path.read_text()))  # ServiceNow pairs -> their values
        for doc in body["result"] if isinstance(body, dict) else body:
            if doc["request_type"] == "new_group":
                who = doc["group_administrator"] or doc["sponsoring_physician"]
                admins[doc["request_number"]] = who["email"].lower()
            if doc["request_type"] == "remove_members":
                removed |= {(doc["group_request_number"], m["email"]) for m in doc["members"]}
    return {rn: e for rn, e in admins.items() if (rn, e) not in removed}


def test_sample_dormant_list_is_exactly_the_expected_accounts(sample_warehouse):
    rows = _dormant_rows(sample_warehouse)
    listed = {(rule, r["request_number"], r["email"]) for r in rows
              for rule in r["rules"].split(", ")}
    expected = {(rule, rn, email) for rule, rn, email, _ in
                expected_keys(SAMPLE, set(SUPPORT_RULES))}
    assert listed == expected
    assert len({(r["request_number"], r["email"]) for r in rows}) == len(rows)  # one row each


def test_each_account_has_its_source_and_the_right_contact(sample_warehouse):
    rows = _dormant_rows(sample_warehouse)
    admins = _admins_from_enrollment(SAMPLE)
    for r in rows:
        if "DORMANT_ACCOUNT" in r["rules"]:
            assert r["last_sign_in_source"] == "Entra ID"
            assert r["days_inactive"] > 90
        if r["request_number"]:
            assert r["admin_email"] == admins.get(r["request_number"]), r
            # NNN-NNN-NNNN, with the extension the form gave
            assert r["admin_phone"] is None or re.fullmatch(r"\d{3}-\d{3}-\d{4}( x\d+)?",
                                                            r["admin_phone"]), r
        if r["rules"] == "ORPHAN_ACCOUNT":
            assert r["recommended_action"].startswith("Disable the account")


def _case_with_service_account():
    sponsor = person("Ada", "Lovelace", "Sponsoring Physician", "MD")
    admin = person("Grace", "Hopper", "Group Administrator", "Office Manager")
    alan = person("Alan", "Turing", "Staff", "Billing")
    case = Case()
    case.register("CS0000001", sponsor, admin, [alan])
    case.accounts += [Account("ada", sponsor["email"], entra_last_success=days_ago(1)),
                      Account("grace", admin["email"], entra_last_success=days_ago(1)),
                      Account("alan", alan["email"], entra_last_success=days_ago(200)),
                      Account("svc_fax", "svc_fax@cc.example.org")]  # orphan service account
    case.app_accounts.append(AppAccount("CERNER", "alan", last_access=days_ago(200)))
    return case


def _exception(account, rule, expires):
    return FindingException(account=account, rule=rule, reason="fax service account",
                            approved_by="CISO", expires=expires)


def test_exceptions_active_expired_and_unknown(tmp_path):
    config = ReviewConfig(exceptions=(
        _exception("svc_fax", "ORPHAN_ACCOUNT", AS_OF),  # in force through today
        _exception("alan", "DORMANT_ACCOUNT", AS_OF - dt.timedelta(days=1)),  # expired
        _exception("nobody", "DORMANT_ACCOUNT", AS_OF + dt.timedelta(days=30)),
    ))
    con = build_warehouse(_case_with_service_account().write(tmp_path / "in"), AS_OF, config)
    status = dict(((a, r), s) for a, r, s in con.execute(
        "select account, rule, status from exception_status").fetchall())
    assert status == {("svc_fax", "ORPHAN_ACCOUNT"): "applied",
                      ("alan", "DORMANT_ACCOUNT"): "expired: not applied",
                      ("nobody", "DORMANT_ACCOUNT"): "unknown account: not applied"}
    rules = {r for (r,) in con.execute("select rule from findings").fetchall()}
    assert "ORPHAN_ACCOUNT" not in rules and "DORMANT_ACCOUNT" in rules
    suppressed = con.execute("select rule from findings_all where finding_key in "
                             "(select finding_key from finding_exceptions)").fetchall()
    assert suppressed == [("ORPHAN_ACCOUNT",)]
    assert [r["lan_id"] for r in _dormant_rows(con)] == ["alan"]


def test_same_person_in_two_groups_is_listed_for_each_group(tmp_path):
    case = _case_with_service_account()
    alan = case.submissions[0]["members"][0]
    case.register("CS0000002", person("Kurt", "Godel", "Sponsoring Physician", "MD"), None,
                  [alan], submitted=days_ago(300))
    con = build_warehouse(case.write(tmp_path / "in"), AS_OF)
    alan_rows = [(r["request_number"], r["lan_id"], r["admin_email"])
                 for r in _dormant_rows(con) if r["email"] == alan["email"]]
    assert alan_rows == [("CS0000001", "alan", "grace.hopper@clinic.example"),
                         ("CS0000002", "alan", "kurt.godel@clinic.example")]


def test_workbook_bulk_csv_and_sheet_per_administrator(sample_warehouse, tmp_path):
    written = write_dormant_reports(sample_warehouse, tmp_path, SAMPLE_AS_OF,
                                    {"thresholds.dormancy_days": "90"})
    names = {p.name for p in written}
    assert names == {"dormant_accounts.csv", "dormant_disable_lan_ids.csv",
                     "dormant_accounts_2026-11-01.xlsx"}
    wb = openpyxl.load_workbook(tmp_path / "dormant_accounts_2026-11-01.xlsx")
    rows = _dormant_rows(sample_warehouse)
    groups = {r["request_number"] for r in rows if r["request_number"]}
    assert wb.sheetnames[:2] == ["Summary", "All accounts"]
    assert wb.sheetnames[-1] == "Exceptions"
    admin_sheets = [s for s in wb.sheetnames if s.startswith("CS")]
    assert len(admin_sheets) == len(groups)
    assert all(len(s) <= 31 for s in wb.sheetnames)
    with (tmp_path / "dormant_disable_lan_ids.csv").open() as fh:
        bulk = list(csv.DictReader(fh))
    # directory accounts (with a UPN) only: an application-only username is not the
    # directory team's to disable
    to_disable = {r["lan_id"] for r in rows if r["enabled"] and r["lan_id"] and r["upn"]
                  and r["recommended_action"].startswith("Disable the account")}
    assert {b["lan_id"] for b in bulk} == to_disable and to_disable
    app_only = {r["lan_id"] for r in rows if r["lan_id"] and not r["upn"]}
    assert app_only and not app_only & {b["lan_id"] for b in bulk}


def test_a_sign_in_in_the_as_of_evening_is_no_day_inactive(tmp_path):
    """The as-of date ends at midnight in Phoenix, 07:00 UTC the next day: an orphan
    account's sign-in at 20:00 on the as-of date counts, and is dated by its UTC day (the
    next one). Listed as 0 days inactive, never -1."""
    case = _case_with_service_account()
    evening = dt.datetime(2026, 11, 2, 3, 0, tzinfo=dt.UTC)  # 1 November, 20:00 in Phoenix
    case.accounts[-1] = Account("svc_fax", "svc_fax@cc.example.org", entra_last_success=evening)
    con = build_warehouse(case.write(tmp_path / "in"), AS_OF)
    (svc,) = [r for r in _dormant_rows(con) if r["lan_id"] == "svc_fax"]
    assert svc["rules"] == "ORPHAN_ACCOUNT"
    assert svc["last_sign_in_at"] == dt.datetime(2026, 11, 2, 3, 0)
    assert svc["days_inactive"] == 0


def test_an_account_never_signed_in_has_no_days_inactive(sample_warehouse):
    """Days inactive count from the last sign-in; an account with none has no count (it
    was listed as 0 days, as if used today, and sorted below every dormant account).
    Every account with a sign-in has one."""
    rows = _dormant_rows(sample_warehouse)
    never = [r for r in rows if r["last_sign_in_at"] is None]
    assert any("NEVER_SIGNED_IN" in r["rules"] for r in never)
    assert all(r["days_inactive"] is None for r in never)
    assert all(r["days_inactive"] is not None for r in rows if r["last_sign_in_at"])


@pytest.mark.parametrize(("days", "dormant"), [(199, True), (200, False)])
def test_days_override_moves_the_threshold(tmp_path, days, dormant):
    config = ReviewConfig().with_dormancy_days(days)
    con = build_warehouse(_case_with_service_account().write(tmp_path / "in"), AS_OF, config)
    rules = {r for (r,) in con.execute("select rule from findings").fetchall()}
    assert ("DORMANT_ACCOUNT" in rules) is dormant


def test_300_group_dormant_list_is_exactly_the_expected_accounts(tmp_path_factory):
    from ccreview.synthetic import generate

    folder = tmp_path_factory.mktemp("org300-dormant")
    generate(folder, 300, 11, SAMPLE_AS_OF)
    con = build_warehouse(folder, SAMPLE_AS_OF)
    rows = _dormant_rows(con)
    listed = {(rule, r["request_number"], r["email"]) for r in rows
              for rule in r["rules"].split(", ")}
    expected = {(rule, rn, email) for rule, rn, email, _ in
                expected_keys(folder, set(SUPPORT_RULES))}
    assert listed == expected and len(expected) > 100
    admins = _admins_from_enrollment(folder)
    for r in rows:
        if r["request_number"]:
            assert r["admin_email"] == admins.get(r["request_number"]), r
        if "DORMANT_ACCOUNT" in r["rules"]:
            assert r["last_sign_in_source"] == "Entra ID"
