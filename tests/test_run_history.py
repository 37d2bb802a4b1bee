"""Run history: new / still open / resolved between reviews, reruns replace."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import duckdb
import openpyxl

from ccreview.core.history import HISTORY, record_run
from ccreview.reports.access_review import ReviewContext, write_review_reports
from tests.cases import AS_OF, Account, AppAccount, Case, days_ago, person
from tests.conftest import build_warehouse


def _case(alan_last_sign_in_days: float) -> Case:
    sponsor = person("Ada", "Lovelace", "Sponsoring Physician", "MD")
    alan = person("Alan", "Turing", "Staff", "Billing")
    case = Case()
    case.register("CS0000001", sponsor, None, [alan])
    case.accounts += [Account("ada", sponsor["email"], entra_last_success=days_ago(1)),
                      Account("alan", alan["email"],
                              entra_last_success=days_ago(alan_last_sign_in_days)),
                      Account("ghost", "ghost@elsewhere.example")]
    case.app_accounts += [AppAccount("CERNER", "ada", last_access=days_ago(1)),
                          AppAccount("CERNER", "alan",
                                     last_access=days_ago(alan_last_sign_in_days))]
    return case


def _review(tmp_path, case, as_of, out):
    con = build_warehouse(case.write(tmp_path / f"in-{as_of}"), as_of, history=out / HISTORY)
    changes = record_run(con, out, as_of)
    return con, changes


def test_two_reviews_give_new_open_and_resolved(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    first = AS_OF - dt.timedelta(days=91)
    # first review: the ghost orphan only (Alan signed in 100 days before AS_OF = 9 before)
    _, c1 = _review(tmp_path, _case(100), first, out)
    assert c1 == {"previous_as_of": None, "new": 1, "still_open": 0, "resolved": 0}
    # second review: Alan is now dormant (new), the ghost is still there, nothing resolved
    con, c2 = _review(tmp_path, _case(100), AS_OF, out)
    assert c2 == {"previous_as_of": first.isoformat(), "new": 1, "still_open": 1,
                  "resolved": 0}
    # the ghost account was removed and Alan signed in again: both resolved
    case = _case(1)
    case.accounts = case.accounts[:2]
    _, c3 = _review(tmp_path, case, AS_OF + dt.timedelta(days=7), out)
    assert c3["resolved"] == 2 and c3["new"] == 0
    trend = con.execute("select as_of, rule, open_findings from finding_trend").fetchall()
    assert trend == [(first, "ORPHAN_ACCOUNT", 1), (AS_OF, "DORMANT_ACCOUNT", 1),
                     (AS_OF, "ORPHAN_ACCOUNT", 1)]


def test_rerunning_an_as_of_replaces_it(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    _review(tmp_path, _case(100), AS_OF, out)
    _review(tmp_path / "again", _case(100), AS_OF, out)
    history = duckdb.connect(str(out / HISTORY), read_only=True)
    assert history.execute("select count(*) from runs").fetchall() == [(1,)]
    assert history.execute("select count(*) from run_findings").fetchall() == [(2,)]
    run_id, counts, inputs = history.execute("select run_id, counts, inputs from runs"
                                             ).fetchall()[0]
    counts = json.loads(counts)
    assert run_id and counts["rows_read"] == counts["rows_accepted"] + \
        counts["rows_quarantined"] > 0
    assert sum(counts["findings_by_rule"].values()) == 2
    assert all(len(h) == 64 for h in json.loads(inputs).values())


def test_workbook_shows_changes_and_a_trend_chart(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    _review(tmp_path, _case(100), AS_OF - dt.timedelta(days=91), out)
    con, _ = _review(tmp_path, _case(100), AS_OF, out)
    path = [p for p in write_review_reports(con, out, ReviewContext(AS_OF, {}, "test"))
            if p.suffix == ".xlsx"][0]
    wb = openpyxl.load_workbook(path)
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(values_only=True) if r[0]}
    assert summary["New since the previous run"] == 1
    assert summary["Still open"] == 1
    assert len(wb["Trend"]._charts) == 1
    since = [c.value for c in wb["Findings"][1]].index("Since last run")
    statuses = {r[since] for r in wb["Findings"].iter_rows(min_row=2, values_only=True)}
    assert statuses == {"new", "still open"}


def test_an_older_history_file_gains_the_new_columns(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    old = duckdb.connect(str(out / HISTORY))
    old.execute("create table runs (as_of date primary key, recorded_at timestamp, "
                "inputs json, findings integer)")
    old.execute("insert into runs values ('2026-08-01', '2026-08-01', '{}', 0)")
    old.close()
    _review(tmp_path, _case(100), AS_OF, out)
    history = duckdb.connect(str(out / HISTORY), read_only=True)
    rows = history.execute("select as_of, run_id is not null from runs order by 1").fetchall()
    assert rows == [(dt.date(2026, 8, 1), False), (AS_OF, True)]


def test_history_says_who_held_what_at_an_earlier_review(tmp_path, capsys):
    """Point in time: each review keeps its entitlement snapshot; `history --as-of`
    answers "who had CERNER at the July review?" after the account was closed."""
    from ccreview.cli import main

    out = tmp_path / "out"
    out.mkdir()
    july = AS_OF - dt.timedelta(days=91)
    _review(tmp_path, _case(1), july, out)
    closed = _case(1)
    closed.app_accounts = [a if a.username != "alan" else AppAccount(
        "CERNER", "alan", active=False, last_access=days_ago(30)) for a in closed.app_accounts]
    _review(tmp_path, closed, AS_OF, out)

    def cerner(as_of: dt.date) -> dict[str, bool]:
        rows = list(csv.DictReader(io.StringIO(_history(out, as_of, capsys, main))))
        return {r["email"]: r["account_active"] == "True" for r in rows}

    alan = person("Alan", "Turing", "Staff", "Billing")["email"]
    assert cerner(july)[alan] is True
    assert cerner(AS_OF)[alan] is False
    assert main(["history", "--out", str(out), "--as-of", "2020-01-01"]) == 2
    assert "no review as of that date" in capsys.readouterr().err


def _history(out, as_of, capsys, main) -> str:
    target = out / f"held-{as_of}.csv"
    assert main(["history", "--out", str(out), "--as-of", as_of.isoformat(),
                 "--application", "CERNER", "--csv", str(target)]) == 0
    assert "Findings of that review" in capsys.readouterr().out
    assert target.stat().st_mode & 0o777 == 0o600
    return target.read_text(encoding="utf-8")
