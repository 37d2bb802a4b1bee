"""One end-to-end run of the real Prefect flow, through the console command, on the
bundled sample: outputs, ground truth, reconciliation, idempotence, no data in logs."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pytest

from ccreview.cli import main
from ccreview.core.vocabulary import support_desk_rules
from tests.conftest import SAMPLE, expected_keys

pytestmark = pytest.mark.flow


@pytest.fixture(scope="module")
def review_run(prefect_harness, tmp_path_factory):
    """The sample plus one unusable file, reviewed twice into the same folder (the second
    time with --force: recomputed, not found unchanged), then a third time; each told to go
    on without the file it cannot read (--accept-shrink: by default refused)."""
    inp = tmp_path_factory.mktemp("input")
    shutil.copytree(SAMPLE, inp, dirs_exist_ok=True)
    (inp / "broken_export.json").write_text('{"value": [')
    out = tmp_path_factory.mktemp("out")
    runs = []
    for extra in ([], ["--force"], []):
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            code = main(["review", "--input", str(inp), "--out", str(out),
                         "--as-of", "2026-11-01", "--accept-shrink", *extra])
        runs.append({"code": code, "printed": printed.getvalue(),
                     "files": sorted(p.name for p in out.iterdir()),
                     "hidden": sorted(p.name for p in out.iterdir() if p.name.startswith(".")),
                     "findings_csv": (out / "findings.csv").read_bytes(),
                     "cells": _cells(out / "access_review_2026-11-01.xlsx"),
                     "hashes": {str(p.relative_to(out)): p.read_bytes() for p in
                                sorted(out.rglob("*")) if p.is_file()}})
    return out, runs


@pytest.fixture(scope="module")
def attest_run(review_run, tmp_path_factory):
    """Filled-in copies of the issued workbooks (three groups send nothing), taken in by
    `ccreview attest` after the due date."""
    from ccreview.synthetic.returns import fill_returns

    out, _ = review_run
    returned = tmp_path_factory.mktemp("returned")
    sent = fill_returns(out / "attestation", returned)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        code = main(["attest", "--returned", str(returned), "--out", str(out),
                     "--received-by", "2026-12-15"])
    return {"code": code, "printed": printed.getvalue(), "sent": sent}


def test_attest_writes_the_remediation_list(review_run, attest_run):
    out, _ = review_run
    assert attest_run["code"] == 0
    issued = sorted((out / "attestation").glob("CS*.xlsx"))
    assert len(issued) == 24 and len(attest_run["sent"]) == 21
    rem = pd.read_csv(out / "remediation_2026-11-01.csv", dtype=str, keep_default_na=False)
    assert set(rem["decision"]) == {"Revoke", "Modify"}
    assert list(rem["application_team"]) == sorted(rem["application_team"])
    groups = {r[0]: r[2] for r in openpyxl.load_workbook(
        out / "remediation_2026-11-01.xlsx")["Groups"].iter_rows(min_row=2, values_only=True)}
    assert sorted(groups.values()).count("overdue") == 3
    assert set(groups.values()) <= {"complete", "returned", "overdue"}
    history = duckdb.connect(str(out / "history.duckdb"), read_only=True)
    recorded = history.execute("select count(*) from attestation_status").fetchall()[0][0]
    history.close()
    assert recorded == 24
    assert "Attestations for the review of 2026-11-01" in attest_run["printed"]
    text = "\n".join(_stored_prefect_logs() + [attest_run["printed"]])
    stored = _stored_prefect_logs()
    assert any(m.startswith("attestation-intake-status ") for m in stored)
    assert any(m.startswith("attestation-intake-summary ") and "groups complete" in m
               for m in stored)
    for name in rem["person_name"]:
        assert name not in text


def _cells(path):
    wb = openpyxl.load_workbook(path)
    return {ws.title: [[c.value for c in r] for r in ws.iter_rows()] for ws in wb}


def _stored_prefect_logs() -> list[str]:
    """Every log line and artifact the Prefect server stored for the runs."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        logs = [log.message for log in client.read_logs()]
        artifacts = [f"{a.key} {a.data}" for a in client.read_artifacts()]
    return logs + artifacts


def test_runs_and_artifacts_say_which_review_they_are(review_run, attest_run):
    """Flow runs are named `<flow> <as-of>`; each flow's artifacts have keys of their own
    and descriptions that read as written (no `<as-of>` the UI would take for a tag)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        names = {r.name for r in client.read_flow_runs()}
        artifacts = {a.key: a.description or "" for a in client.read_artifacts()}
    assert {"access-review 2026-11-01", "attestation-intake latest review"} <= names
    assert {"access-review-summary", "access-review-findings-by-rule",
            "attestation-intake-summary", "attestation-intake-status"} <= set(artifacts)
    assert not {"review-summary", "findings-by-rule"} & set(artifacts)
    assert "remediation_2026-11-01.xlsx" in artifacts["attestation-intake-summary"]
    assert not any("<" in d for d in artifacts.values())


def test_a_rerun_with_nothing_changed_keeps_the_reports_as_they_are(review_run):
    """Same inputs, history, settings and code: the third run finds the second's reports
    current, writes nothing (not even the history) and says so."""
    _, runs = review_run
    assert "Nothing changed since the last run into" in runs[2]["printed"]
    assert "nothing changed" not in runs[1]["printed"].lower()
    assert "Current, unchanged:" in runs[2]["printed"]
    assert runs[2]["hashes"] == runs[1]["hashes"]
    assert "Findings: " in runs[2]["printed"]


def test_a_changed_or_damaged_output_is_recomputed(tmp_path, prefect_harness):
    out = tmp_path / "out"
    args = ["review", "--input", str(SAMPLE), "--out", str(out), "--as-of", "2026-11-01"]
    assert main(args) == 0
    good = (out / "findings.csv").read_bytes()
    (out / "findings.csv").write_bytes(good + b"edited by hand\n")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        assert main(args) == 0
    assert "nothing changed" not in printed.getvalue().lower()
    assert (out / "findings.csv").read_bytes() == good
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        assert main([*args, "--config", str(_config(tmp_path))]) == 0
    assert "nothing changed" not in printed.getvalue().lower()  # another setting


def _config(tmp_path):
    path = tmp_path / "review.toml"
    path.write_text("[thresholds]\ndormancy_days = 60\n", encoding="utf-8")
    return path


def test_review_exits_zero_and_writes_every_output(review_run):
    out, runs = review_run
    assert [r["code"] for r in runs] == [0, 0, 0]
    # besides the reports: the run lock, and from the second run on the history's backups
    assert runs[0]["hidden"] == [".ccreview.lock"]
    assert runs[1]["hidden"] == [".ccreview.lock", ".history-backups"]
    assert runs[0]["files"][1:] == ["access_review_2026-11-01.xlsx", "attestation", "census",
                                "data_quality",
                                "dormant_accounts.csv", "dormant_accounts_2026-11-01.xlsx",
                                "dormant_disable_lan_ids.csv", "evidence.duckdb",
                                "findings.csv",
                                "findings.parquet", "history.duckdb", "quarantine.csv",
                                "r2w_distribution.csv", "r2w_distribution_2026-11-01.xlsx",
                                "review_notes.csv", "review_summary_2026-11-01.html",
                                "run_manifest.json", "warehouse.duckdb"]
    # a rerun adds nothing but the backup of the history it changed, no temporary file
    assert [f for f in runs[1]["files"] if f != ".history-backups"] == runs[0]["files"]
    truth = pd.read_csv(SAMPLE / "expected_findings.csv")
    assert f"Findings: {len(truth)}" in runs[0]["printed"]
    assert "1 file(s) could not be used" in runs[0]["printed"]
    # the sample leaves nothing to resolve but its findings: no "To resolve" line
    with (out / "review_notes.csv").open(newline="", encoding="utf-8") as fh:
        assert list(csv.DictReader(fh)) == []
    assert "To resolve" not in runs[0]["printed"]


def test_findings_csv_matches_ground_truth(review_run):
    out, _ = review_run
    with (out / "findings.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["finding_key", "rule", "severity", "request_number",
                             "group_name", "email", "person_name", "lan_id", "application",
                             "detail", "control", "recommended_action"]
    found = {(r["rule"], r["request_number"], r["email"], r["application"]) for r in rows}
    assert found == expected_keys(SAMPLE)
    assert len({r["finding_key"] for r in rows}) == len(rows)
    parquet = duckdb.sql(f"select rule, request_number, email, application "
                         f"from read_parquet('{out / 'findings.parquet'}')").fetchall()
    assert set(parquet) == found and len(parquet) == len(rows)


def test_workbook_summary_and_findings(review_run):
    out, _ = review_run
    wb = openpyxl.load_workbook(out / "access_review_2026-11-01.xlsx")
    assert wb.sheetnames == ["Summary", "Findings", "Entitlements", "To resolve", "Groups",
                             "Data quality", "Trend", "Run"]
    assert len(wb["Summary"]._charts) == 1  # open findings by rule, a native chart
    groups = list(wb["Groups"].iter_rows(min_row=2, values_only=True))
    assert len(groups) == 24
    assert {g[8] for g in groups} >= {"completed", "lapsed", "renewal due"}
    run = [c for r in wb["Run"].iter_rows(values_only=True) for c in r if c]
    manifest = json.loads((out / "run_manifest.json").read_text())
    assert {i["sha256"] for i in manifest["inputs"]} <= set(run)
    dq = [c for r in wb["Data quality"].iter_rows(values_only=True) for c in r if c]
    assert any(str(c).startswith("19 dataset expectations, 0 not met") for c in dq)
    findings = pd.read_csv(out / "findings.csv", dtype=str, keep_default_na=False)
    assert wb["Findings"].max_row == len(findings) + 1
    summary = [[c for c in r if c is not None] for r in wb["Summary"].iter_rows(values_only=True)]
    flat = [v for r in summary for v in r]
    assert "broken_export.json" in flat and "unreadable" in flat
    assert ["Findings", len(findings)] in summary


def test_manifest_reconciles_every_input(review_run):
    out, _ = review_run
    manifest = json.loads((out / "run_manifest.json").read_text())
    statuses = {i["path"]: i["status"] for i in manifest["inputs"]}
    assert statuses["broken_export.json"] == "unreadable"
    assert statuses["expected_findings.csv"] == "ignored"
    read = [i for i in manifest["inputs"] if i["status"] == "read"]
    assert len(read) == 20
    for i in read:
        assert len(i["sha256"]) == 64
        for t in i["tables"].values():
            assert t["read"] == t["accepted"] + t["quarantined"]
    # every row of an event log: read, already stored, or not used (the sample's logs run
    # back past the evidence store's 400 days: those rows are counted, with the reason)
    for log in ("signins/entra_sign_ins_001.csv", "access_logs/application_access_001.csv"):
        with (SAMPLE / log).open(encoding="utf-8-sig", newline="") as fh:
            rows = sum(1 for _ in csv.DictReader(fh))
        (t,) = [e["tables"]["sign_in_events"] for e in read if e["path"] == log]
        assert t["read"] + t["already_stored"] + t["not_used"] == rows
        assert t["not_used"] > 0 and t["not_used_because"].startswith("older than the evidence")
    # said alike by the third run, which found nothing changed (its counts: the manifest's)
    inputs_lines = [[line for line in run["printed"].splitlines() if line.startswith("Inputs:")]
                    for run in review_run[1]]
    assert "rows not used by this run: past the evidence store's retention" in \
        inputs_lines[0][0]
    assert inputs_lines[2] == inputs_lines[0]
    outputs = {o["path"] for o in manifest["outputs"]}
    assert {"findings.csv", "findings.parquet", "quarantine.csv", "review_notes.csv",
            "access_review_2026-11-01.xlsx", "dormant_accounts.csv",
            "dormant_accounts_2026-11-01.xlsx", "dormant_disable_lan_ids.csv",
            "r2w_distribution.csv", "r2w_distribution_2026-11-01.xlsx",
            "census/census_manifest.csv"} <= outputs
    assert any(o.startswith("census/census_CS") for o in outputs)
    assert any(o.startswith("attestation/CS") for o in outputs)
    assert all((out / o).is_file() for o in outputs)  # paths relative to --out
    assert manifest["settings"]["thresholds.dormancy_days"] == "90"


def test_data_docs_show_no_data_values(review_run, sample_warehouse):
    out, _ = review_run
    pages = list((out / "data_quality").rglob("*.html"))
    assert (out / "data_quality" / "index.html") in pages and len(pages) > 3
    html = "\n".join(p.read_text(encoding="utf-8") for p in pages)
    assert "Each request number appears once" in html  # our words for each check
    # the values, from the same inputs read again (the kept warehouse holds no PHI)
    adt = sample_warehouse
    phi = adt.execute("select distinct patient_family_name, fin, mrn from raw_adt_events "
                      "limit 40").fetchall()
    emails = [e for (e,) in adt.execute("select email from raw_enrollment_people limit 40"
                                        ).fetchall()]
    for values in phi:
        for v in values:
            assert v not in html
    for e in emails:
        assert e not in html


def test_rerun_gives_identical_findings_and_workbook(review_run):
    _, (first, second, _) = review_run
    assert first["findings_csv"] == second["findings_csv"]
    assert first["cells"] == second["cells"]


def test_no_personal_data_in_logs_or_output(review_run, sample_warehouse):
    out, runs = review_run
    findings = pd.read_csv(out / "findings.csv", dtype=str, keep_default_na=False)
    truth = pd.read_csv(SAMPLE / "expected_findings.csv", dtype=str, keep_default_na=False)
    stored = _stored_prefect_logs()
    assert any("ingested" in m for m in stored)  # the flow's own log lines are there
    assert any(m.startswith("access-review-summary ") for m in stored)  # and its artifacts
    assert any(m.startswith("access-review-findings-by-rule ") and "ORPHAN_ACCOUNT" in m
               for m in stored)
    text = "\n".join(stored + [r["printed"] for r in runs])
    for email in filter(None, truth["email"]):
        assert email not in text
    for name in filter(None, findings["person_name"]):
        assert name not in text
    patients = sample_warehouse.execute(
        "select patient_family_name || ' ' || patient_given_name, fin, mrn, "
        "strftime(birth_date, '%Y%m%d'), strftime(birth_date, '%Y-%m-%d') "
        "from raw_adt_events").fetchall()
    assert patients
    for values in patients:
        for v in values:
            assert v not in text, "PHI in logs or output"


def test_one_census_workbook_per_subscribed_provider(review_run):
    out, _ = review_run
    dist = pd.read_csv(out / "r2w_distribution.csv", dtype=str, keep_default_na=False)
    subscribed = dist[dist["physician_census"] == "True"][["request_number", "provider_npi"]]
    expected = {f"census_{rn}_{npi}_2026-11-01.xlsx"
                for rn, npi in subscribed.drop_duplicates().itertuples(index=False)}
    written = {p.name for p in (out / "census").glob("census_*.xlsx")}
    assert written == expected and expected
    manifest = pd.read_csv(out / "census" / "census_manifest.csv", dtype=str)
    assert set(manifest["file"]) == expected


def test_the_census_builds_only_what_its_workbooks_read(review_run, tmp_path, monkeypatch):
    """The daily census builds the models its reports read and what they need (no rule,
    no finding), and writes the same distribution list and census workbooks, byte for
    byte, as the full review of the same folder and date — here as from 2,000 groups: on
    two threads, its workbooks shared with a second process, which opens the run's
    warehouse and patient data itself."""
    from ccreview.reports import r2w

    monkeypatch.setattr(r2w, "CENSUS_HELPER_BOOKS", 1)
    here: list[int] = []  # the workbooks this process wrote
    write_here = r2w._write_census_books
    monkeypatch.setattr(r2w, "_write_census_books", lambda con, building, as_of, password,
                        providers: here.append(len(providers))
                        or write_here(con, building, as_of, password, providers))
    reviewed, _ = review_run
    out = tmp_path / "census-out"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        code = main(["census", "--input", str(SAMPLE), "--out", str(out),
                     "--as-of", "2026-11-01", "--no-store", "--task-runner", "thread"])
    assert code == 0, printed.getvalue()[-2000:]
    census = sorted(p.relative_to(out) for p in (out / "census").iterdir())
    assert len(census) > 2
    books = len(census) - 1  # and the manifest
    assert here == [(books + 1) // 2]  # every other one; the rest: the second process's
    for name in [*census, "r2w_distribution.csv", "r2w_distribution_2026-11-01.xlsx"]:
        assert (out / name).read_bytes() == (reviewed / name).read_bytes(), name
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        tables = {t for (t,) in con.execute("select table_name from information_schema."
                                            "tables").fetchall()}
    assert {"census_providers", "r2w_distribution", "int_r2w_recipients"} <= tables
    assert not {t for t in tables if t.startswith("rule_")}
    assert not {"findings", "findings_all", "finding_exceptions", "dormant_accounts"} & tables
    manifest = json.loads((out / "run_manifest.json").read_text())
    assert "findings_by_rule" not in manifest
    # how the feed was used, counts only: recorded and said, the same as the review's
    with duckdb.connect(str(reviewed / "warehouse.duckdb"), read_only=True) as con:
        cur = con.execute("select * from census_summary")
        feed = dict(zip([d[0] for d in cur.description], cur.fetchone(), strict=True))
    assert manifest["census_feed"] == feed
    assert feed["messages"] > feed["duplicate_messages"] > 0 and feed["on_census"] > 0
    assert (f"ADT feed: {feed['messages']} messages ({feed['duplicate_messages']} sent "
            f"twice), {feed['visits']} visits: {feed['on_census']} in the hospital in census "
            f"scope, {feed['on_census_pcp_not_subscribed']} of them") in printed.getvalue()


def test_the_dormant_lists_on_their_own_are_the_review_s(review_run, tmp_path):
    """`ccreview dormant` into a folder of its own (a fresh evidence store) matches the
    accounts against the folder's enrollment and writes the review's lists byte for byte;
    with no enrollment in its folder and none in its store it stops before writing
    anything, rather than call every account an orphan to disable."""
    reviewed, _ = review_run
    out = tmp_path / "dormant-out"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        code = main(["dormant", "--input", str(SAMPLE), "--out", str(out),
                     "--as-of", "2026-11-01"])
    assert code == 0, printed.getvalue()[-2000:]
    for name in ("dormant_accounts.csv", "dormant_disable_lan_ids.csv"):
        assert (out / name).read_bytes() == (reviewed / name).read_bytes(), name
    # what it says it found: the support desk's findings, not every rule's
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        support, every = con.execute(
            "select count(*) filter (where rule in ?), count(*) from findings",
            [list(support_desk_rules())]).fetchone()
    assert 0 < support < every
    assert f"Support findings: {support}\n" in printed.getvalue()
    _refused_without_its_evidence(tmp_path, "dormant",
                                  ("directory", "entra", "signins", "applications"),
                                  "found no enrollment submissions or portal member list")


def test_a_census_with_no_directory_export_anywhere_stops(prefect_harness, tmp_path):
    """The census leaves off R2W recipients whose account is disabled or dormant: with no
    directory export in its folder and none in its evidence store it cannot tell, and
    stops before writing anything rather than send patient alerts unchecked."""
    _refused_without_its_evidence(tmp_path, "census",
                                  ("enrollment", "docusign", "applications", "adt"),
                                  "found no directory export (Active Directory or Entra ID "
                                  "users)")


def _refused_without_its_evidence(tmp_path: Path, run: str, kinds: tuple[str, ...],
                                  says: str) -> None:
    """`run` on those folders of the sample, into a new --out (a fresh store): exit 2, the
    reason, nothing written (not even the folder or its lock file), and no flow run
    started; the flow itself, as a deployment starts it, refuses the same way."""
    from ccreview.core.errors import UsageError
    from ccreview.flows import access_review
    from ccreview.flows.access_review import RUN_OF_REPORTS, run_stages

    bare = tmp_path / f"{run}-in"
    for kind in kinds:
        shutil.copytree(SAMPLE / kind, bare / kind)
    out = tmp_path / f"{run}-refused"
    printed = io.StringIO()
    flow = {"dormant": "dormant_accounts", "census": "daily_census"}[run]

    def started(*_args, **_kwargs):
        raise AssertionError("the flow started (and its failure hooks would run)")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(access_review, flow, started)
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            code = main([run, "--input", str(bare), "--out", str(out), "--as-of",
                         "2026-11-01"])
    assert code == 2, printed.getvalue()[-2000:]
    assert says in printed.getvalue()
    assert not out.exists()
    reports = next(r for r, name in RUN_OF_REPORTS.items() if name == run)
    with pytest.raises(UsageError, match=re.escape(says)):
        run_stages(str(bare), str(out), "2026-11-01", None, reports)
    assert not out.exists()


EXTERNAL = re.compile(r"""(?:\b(?:src|href)\s*=\s*["']|url\(\s*["']?)(?:https?:)?//""",
                      re.IGNORECASE)


def test_every_page_a_run_writes_works_offline(review_run, tmp_path):
    """The Data Docs load nothing from the internet (a closed hospital network would show
    a blank page): no external src, href or CSS url in any page (and, in the next test,
    where Chromium is installed, the index renders to something that is not blank)."""
    out, _ = review_run
    pages = sorted((out / "data_quality").rglob("*.html"))
    assert len(pages) > 10
    offenders = [str(p.relative_to(out)) for p in pages
                 if EXTERNAL.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
    assert (out / "data_quality" / "static" / "styles" / "ccreview_offline.css").is_file()
    index = (out / "data_quality" / "index.html").read_text(encoding="utf-8")
    listed = re.findall(r'ccreview-offline-index">.*?</div>', index, re.S)[0]
    # the index's script-filled tables, listed as plain links to every page
    assert listed.count('href="validations/') == listed.count('href="expectations/') >= 8


def _screenshot(page, shot, size: str) -> set[bytes]:
    """The colours of `page` rendered by headless Chromium (the test skips without it)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("Chromium is not installed (the page was checked for external assets)")
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", f"--screenshot={shot}",
                    f"--window-size={size}", page.as_uri()],
                   capture_output=True, timeout=120, check=False)
    return _png_colours(shot)


def test_the_data_docs_render_offline_in_a_browser(review_run, tmp_path):
    out, _ = review_run
    colours = _screenshot(out / "data_quality" / "index.html", tmp_path / "index.png",
                          "1200,900")
    assert len(colours) > 3  # text, tables and a background, not a blank page


def test_the_html_summary_holds_counts_only_and_loads_nothing(review_run):
    """`review_summary_<as-of>.html`: the headline counts and charts (inline SVG), no
    person, email, account, group or patient, nothing to fetch from anywhere."""
    out, _ = review_run
    path = out / "review_summary_2026-11-01.html"
    page = path.read_text(encoding="utf-8")
    manifest = json.loads((out / "run_manifest.json").read_text())
    assert path.name in {o["path"] for o in manifest["outputs"]}
    assert not EXTERNAL.search(page)
    assert "default-src 'none'" in page  # the browser may load nothing, even if asked
    assert page.count("<svg") == 3  # by rule, by severity, since the previous review
    findings = pd.read_csv(out / "findings.csv", dtype=str, keep_default_na=False)
    assert f'<div class="v">{len(findings)}</div><div class="k">Findings</div>' in page
    top_rule = findings["rule"].value_counts()
    assert f"<td>{top_rule.index[0]}</td>" in page
    identifying = {v for c in ("email", "person_name", "group_name", "lan_id",
                               "request_number") for v in findings[c] if len(v) >= 5}
    census = next(p for p in sorted((out / "census").glob("*.xlsx"))
                  if openpyxl.load_workbook(p)["Census"].max_row > 3)
    patients = {str(v) for r in openpyxl.load_workbook(census)["Census"].iter_rows(
        min_row=4, values_only=True) for v in r[:5] if v}
    assert identifying and patients
    assert sorted(v for v in identifying | patients if v in page) == []


def test_the_html_summary_renders_in_a_browser(review_run, tmp_path):
    out, _ = review_run
    colours = _screenshot(out / "review_summary_2026-11-01.html", tmp_path / "summary.png",
                          "1000,1400")
    # text, tiles, and the severities' bar colours (high, medium, low)
    assert {bytes.fromhex(c) for c in ("c0504d", "e3a21a", "4f81bd")} <= colours


def _png_colours(path) -> set[bytes]:
    """The distinct pixel colours (RGB) of an 8-bit RGB or RGBA PNG, decoded in full
    (each row's filter undone), enough to tell a blank page and which colours it shows."""
    import struct
    import zlib

    data = path.read_bytes()
    pos, idat, width, channels = 8, b"", 0, 4
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width = struct.unpack(">I", chunk[:4])[0]
            channels = {2: 3, 6: 4}.get(chunk[9], 4)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    previous = bytearray(stride)
    colours: set[bytes] = set()
    for start in range(0, len(raw), stride + 1):
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = previous[i]
            c = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else
                                      b if pb <= pc else c)) & 0xFF
        colours.update(bytes(line[i:i + 3]) for i in range(0, stride, channels))
        previous = line
    return colours
