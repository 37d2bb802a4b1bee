"""The evidence store: each file ingested once, events kept beyond the folder, snapshots
replaced, retention applied, and the same findings as a run from scratch."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import shutil
from pathlib import Path

import duckdb
import openpyxl
import pytest

from ccreview.contracts.ingest import ingest_inputs, validate_ingested
from ccreview.contracts.store import (
    READ_AGAIN,
    already_stored_summary,
    commit_run,
    has_stored,
    ingest_with_store,
)
from ccreview.core.config import Retention, ReviewConfig, TimeZones
from ccreview.core.vocabulary import FINDING_COLUMNS
from ccreview.transforms.warehouse import build_models, load_reference_tables
from tests.conftest import SAMPLE, SAMPLE_AS_OF

ACTIVITY_RULES = ("DORMANT_ACCOUNT", "NEVER_SIGNED_IN", "APP_UNUSED")
EVENT_FOLDERS = ("signins", "access_logs")


SUMMARIES: list = []  # what the store did in each _build, latest last


def _build(folder: Path, as_of: dt.date, store: Path | None, run: str = "review",
           config: ReviewConfig | None = None) -> tuple[duckdb.DuckDBPyConnection, list]:
    config = config or ReviewConfig()
    con = duckdb.connect()
    if store is None:
        files = ingest_inputs(folder, con, config.application_lists, config.time_zones,
                              config.cultures)
    else:
        files, summary = ingest_with_store(folder, con, store, as_of, config, run)
        SUMMARIES.append(summary)
    validate_ingested(con)
    load_reference_tables(con, config, as_of)
    build_models(con)
    if store is not None:  # the run succeeded: what its folder held is recorded
        commit_run(con, store, as_of, config)
    return con, files


def _findings(con: duckdb.DuckDBPyConnection, rules: tuple[str, ...] | None = None) -> list:
    rows = con.execute(f"select {', '.join(FINDING_COLUMNS)} from findings "
                       "order by finding_key").fetchall()
    return [r for r in rows if rules is None or r[FINDING_COLUMNS.index("rule")] in rules]


def test_a_second_run_reads_no_file_again_and_finds_the_same(tmp_path):
    store = tmp_path / "evidence.duckdb"
    scratch, _ = _build(SAMPLE, SAMPLE_AS_OF, None)
    first, files1 = _build(SAMPLE, SAMPLE_AS_OF, store)
    assert (SUMMARIES[-1].new, SUMMARIES[-1].seen_before) == (20, 0)
    second, files2 = _build(SAMPLE, SAMPLE_AS_OF, store)
    assert (SUMMARIES[-1].new, SUMMARIES[-1].seen_before) == (0, 20)
    expected = _findings(scratch)
    assert len(expected) > 100
    assert _findings(first) == expected
    assert _findings(second) == expected
    # listed alike either way (same inputs and as-of, same reports), with the as-of of the
    # run that read each file
    assert [(f.source_file, f.status, f.sha256) for f in files2] == \
        [(f.source_file, f.status, f.sha256) for f in files1]
    assert {f.stored_as_of for f in files2 if f.status == "read"} == {SAMPLE_AS_OF}
    # run_manifest.json says so per input, and counts each application's accounts
    from ccreview.reports.run_manifest import write_run_manifest

    manifest = json.loads(write_run_manifest(
        second, tmp_path / "run_manifest.json", as_of=SAMPLE_AS_OF.isoformat(),
        input_dir=str(SAMPLE), settings={}, outputs=[]).read_text(encoding="utf-8"))
    read = [i for i in manifest["inputs"] if i["status"] == "read"]
    assert len(read) == 20
    assert {i.get("stored_as_of") for i in read} == {SAMPLE_AS_OF.isoformat()}
    assert manifest["accounts_by_application"] == dict(second.execute(
        "select application, count(*) from stg_application_accounts group by all"
    ).fetchall())
    with duckdb.connect(str(store), read_only=True) as s:
        assert s.execute("select count(*), count(distinct sha256) from files").fetchone() \
            == (20, 20)
    assert store.stat().st_mode & 0o777 == 0o600


def _strip_activity(src: Path, dst: Path) -> Path:
    """The sample as an organisation whose Graph pages carry no signInActivity, whose
    application lists carry no last-access date and whose AD export has no
    lastLogonTimestamp: the sign-in and access logs are the only activity evidence."""
    shutil.copytree(src, dst)
    for path in (dst / "entra").glob("*.json"):
        body = json.loads(path.read_text(encoding="utf-8"))
        for user in body["value"]:
            user.pop("signInActivity", None)
        path.write_text(json.dumps(body, indent=1), encoding="utf-8")
    for path in [*(dst / "applications").glob("*.csv"), *(dst / "directory").glob("*.csv")]:
        text = path.read_text(encoding="utf-8-sig")
        lines = text.splitlines(keepends=True)
        preamble = lines[0] if lines[0].startswith("#TYPE") else ""
        rows = list(csv.reader(io.StringIO(text[len(preamble):])))
        header = rows[0]
        blank = [i for i, h in enumerate(header) if h in ("last_access", "lastLogonTimestamp")]
        assert blank, path
        for row in rows[1:]:
            for i in blank:
                if i < len(row):
                    row[i] = ""
        out = io.StringIO()
        csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
        path.write_text(preamble + out.getvalue(), encoding="utf-8")
    for path in (dst / "applications").glob("*.xlsx"):
        wb = openpyxl.load_workbook(path)
        ws = wb.worksheets[0]
        header = [c.value for c in ws[1]]
        col = header.index("last_access") + 1
        for row in range(2, ws.max_row + 1):
            ws.cell(row, col).value = None
        wb.save(path)
    return dst


def test_events_kept_in_the_store_still_prove_activity_once_gone_from_the_folder(tmp_path):
    org = _strip_activity(SAMPLE, tmp_path / "org")
    store = tmp_path / "evidence.duckdb"
    with_events, _ = _build(org, SAMPLE_AS_OF, store)
    for name in EVENT_FOLDERS:
        shutil.rmtree(org / name)
    rerun, files = _build(org, SAMPLE_AS_OF, store)
    control, _ = _build(org, SAMPLE_AS_OF, None)  # no store: the events are gone
    expected = _findings(with_events, ACTIVITY_RULES)
    assert expected
    assert _findings(rerun, ACTIVITY_RULES) == expected
    assert _findings(rerun) == _findings(with_events)
    # the control proves the test can fail: without the events, activity looks different
    assert _findings(control, ACTIVITY_RULES) != expected
    kept = [f for f in files if f.status == "from store"]
    assert {f.format for f in kept} == {"entra-sign-in-log-csv", "application-access-log-csv"}
    assert all("[evidence store " in f.source_file for f in kept)


# an application access log's columns, as the hand-written logs below have them
ACCESS_LOG_HEADER = ["user", "application", "timestamp", "success"]


def _store_and_folder(tmp_path: Path) -> tuple[Path, Path]:
    """A store's path and an input folder holding only the sample's enrollment and
    directory exports (each test writes the events it is about)."""
    folder = tmp_path / "in"
    shutil.copytree(SAMPLE / "enrollment", folder / "enrollment")
    shutil.copytree(SAMPLE / "directory", folder / "directory")
    return tmp_path / "evidence.duckdb", folder


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, *rows])


def _events(con: duckdb.DuckDBPyConnection) -> list:
    return con.execute("select \"user\", application, occurred_at, success, source "
                       "from raw_sign_in_events order by all").fetchall()


def test_overlapping_exports_are_kept_once(tmp_path):
    store = tmp_path / "evidence.duckdb"
    sign_ins = (SAMPLE / "signins" / "entra_sign_ins_001.csv").read_text(encoding="utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(sign_ins)))
    access = (SAMPLE / "access_logs" / "application_access_001.csv").read_text(
        encoding="utf-8")
    a_header, *a_rows = list(csv.reader(io.StringIO(access)))
    folder = tmp_path / "in"
    # two exports overlapping by 300 rows each, in one folder and then a day later
    _write_csv(folder / "signins" / "a.csv", header, rows[:600])
    _write_csv(folder / "signins" / "b.csv", header, rows[300:])
    _write_csv(folder / "access_logs" / "a.csv", a_header, a_rows[:700])
    _write_csv(folder / "access_logs" / "b.csv", a_header, a_rows[400:])
    for name in ("directory", "enrollment"):
        shutil.copytree(SAMPLE / name, folder / name)
    con, _ = _build(folder, SAMPLE_AS_OF, store)
    later = tmp_path / "later"
    shutil.copytree(folder, later)
    shutil.rmtree(later / "signins")
    _write_csv(later / "signins" / "c.csv", header, rows[500:])  # overlaps everything
    con2, _ = _build(later, SAMPLE_AS_OF, store)
    whole = tmp_path / "whole"
    _write_csv(whole / "signins" / "all.csv", header, rows)
    _write_csv(whole / "access_logs" / "all.csv", a_header, a_rows)
    for name in ("directory", "enrollment"):
        shutil.copytree(SAMPLE / name, whole / name)
    reference, _ = _build(whole, SAMPLE_AS_OF, tmp_path / "other.duckdb")
    assert _events(con) == _events(reference)
    assert _events(con2) == _events(reference)  # a row repeated inside one export stays


def test_a_store_made_before_signers_kept_their_place_still_serves(tmp_path):
    """Envelope signers gained their place in the envelope (`source_path`, so that one
    person listed twice is two rows); a store filled before has none for its rows, which
    must still serve a run, with the same findings."""
    store = tmp_path / "evidence.duckdb"
    first, _ = _build(SAMPLE, SAMPLE_AS_OF, store)
    with duckdb.connect(str(store)) as s:
        s.execute("alter table rows_daa_recipients drop column source_path")
    again, _ = _build(SAMPLE, SAMPLE_AS_OF, store)
    assert SUMMARIES[-1].new == 0
    assert again.execute("select count(*) from stg_daa_recipients where source_path is null"
                         ).fetchone()[0] > 1
    assert _findings(again) == _findings(first)


def test_a_reexported_submission_is_kept_once(tmp_path):
    store, folder = _store_and_folder(tmp_path)
    con, first = _build(folder, SAMPLE_AS_OF, store)
    counts = [con.execute(f"select count(*) from raw_{t}").fetchone()[0]
              for t in ("enrollment_submissions", "enrollment_people",
                        "enrollment_app_requests")]
    # the same submissions exported again, formatted differently (another SHA-256)
    for path in sorted((folder / "enrollment").glob("*.json")):
        body = json.loads(path.read_text(encoding="utf-8"))
        path.with_name("again_" + path.name).write_text(json.dumps(body), encoding="utf-8")
    con2, files = _build(folder, SAMPLE_AS_OF, store)
    assert SUMMARIES[-1].new == 3
    assert [f.source_file for f in files if f.status == "read"
            and f.sha256 not in {g.sha256 for g in first}] == [
        f"enrollment/again_{p.name}" for p in sorted((SAMPLE / "enrollment").glob("*.json"))]
    assert [con2.execute(f"select count(*) from raw_{t}").fetchone()[0]
            for t in ("enrollment_submissions", "enrollment_people",
                      "enrollment_app_requests")] == counts
    assert _findings(con2) == _findings(con)
    # nothing of the re-exports is lost from the count: every row is one the store had
    again = con2.execute("select source_file, rows_read, rows_already_stored, note "
                         "from input_summary where source_file like 'enrollment/again_%' "
                         "order by 1").fetchall()
    originals = dict(con.execute("select source_file, rows_read from input_summary").fetchall())
    assert [(f, r, n) for f, r, n, _ in again] == [
        (f, 0, originals[f.replace("again_", "")]) for f, *_ in again]
    assert sum(n for _, _, n, _ in again) == SUMMARIES[-1].rows_already_stored > 0
    assert all("(the same request number and submission time): those are used" in note
               for *_, note in again)


def _ad_rows(con: duckdb.DuckDBPyConnection) -> set:
    return set(con.execute("select sam_account_name, enabled from raw_directory_accounts"
                           ).fetchall())


def test_snapshots_replace_each_other_and_answer_for_their_date(tmp_path):
    store = tmp_path / "evidence.duckdb"
    july, november = dt.date(2026, 7, 1), SAMPLE_AS_OF
    old = tmp_path / "july"
    shutil.copytree(SAMPLE, old)
    (old / "directory" / "ad_users_ps51.csv").unlink()  # July: one AD export
    _, _ = _build(old, july, store)
    con_old, _ = _build(old, july, tmp_path / "solo.duckdb")
    new, _ = _build(SAMPLE, november, store)  # November: both exports, as from scratch
    scratch, _ = _build(SAMPLE, november, None)
    assert _ad_rows(new) == _ad_rows(scratch)
    # a later folder without any directory export: the latest snapshot is the current state
    bare = tmp_path / "bare"
    shutil.copytree(SAMPLE, bare)
    shutil.rmtree(bare / "directory")
    only_cerner = bare / "applications"
    for p in only_cerner.iterdir():
        if p.name != "cerner_users.csv":
            p.unlink()
    dec = dt.date(2026, 12, 1)
    later, files = _build(bare, dec, store)
    assert _ad_rows(later) == _ad_rows(scratch)
    apps = dict(later.execute("select application, count(*) from raw_application_accounts "
                              "group by 1").fetchall())
    assert apps == dict(scratch.execute("select application, count(*) from "
                                        "raw_application_accounts group by 1").fetchall())
    # point in time: a rerun as of July sees July's export, not November's
    again, _ = _build(old, july, store)
    assert _ad_rows(again) == _ad_rows(con_old) != _ad_rows(scratch)


def _adt_message(control_id: str, event: str, fin: str, at: str, discharge: str = "") -> str:
    return "\r".join([
        f"MSH|^~\\&|CERNER|BANNER|CC|CC|{at}||ADT^{event}|{control_id}|P|2.5",
        f"EVN|{event}|{at}",
        f"PID|1||MRN{fin}^^^BANNER^MR||Doe^Jane||19700101|F|||||^PRN^PH^^^602^5550100|||||"
        f"{fin}",
        "PV1|1|I|4W^401^A^BANNER||||^Attending^Ann|||||||||||||" + fin
        + ("|" * 25 + discharge if discharge else ""),  # PV1-45
    ]) + "\r"


def test_retention_removes_old_events_and_discharged_visits_for_good(tmp_path):
    store, folder = _store_and_folder(tmp_path)
    feed = (_adt_message("M1", "A01", "F100", "20261001080000")  # discharged 2026-10-20
            + _adt_message("M2", "A03", "F100", "20261020080000")
            + _adt_message("M3", "A01", "F200", "20261028080000")  # still in
            # discharged on 10-10, the discharge cancelled the next day: still in
            + _adt_message("M4", "A01", "F300", "20261001080000")
            + _adt_message("M5", "A03", "F300", "20261010080000")
            + _adt_message("M6", "A13", "F300", "20261011080000")
            # the admission cancelled on 10-02: no visit since
            + _adt_message("M7", "A01", "F400", "20261001080000")
            + _adt_message("M8", "A11", "F400", "20261002080000")
            # a cancelled discharge, then discharged again on 10-12
            + _adt_message("M9", "A01", "F500", "20261001080000")
            + _adt_message("M10", "A03", "F500", "20261005080000")
            + _adt_message("M11", "A13", "F500", "20261006080000")
            + _adt_message("M12", "A03", "F500", "20261012080000")
            # the discharge reported on an update (PV1-45) on 10-12, the A03 lost: gone
            + _adt_message("M13", "A01", "F600", "20261001080000")
            + _adt_message("M14", "A08", "F600", "20261012090000", "20261012080000")
            # so reported, then cancelled (A13): still in
            + _adt_message("M15", "A01", "F700", "20261001080000")
            + _adt_message("M16", "A08", "F700", "20261005090000", "20261005080000")
            + _adt_message("M17", "A13", "F700", "20261006080000"))
    (folder / "adt").mkdir()
    (folder / "adt" / "feed.hl7").write_text(feed, encoding="utf-8")
    _write_csv(folder / "access_logs" / "log.csv", ACCESS_LOG_HEADER,
               [["olduser", "PACS", "2025-06-01T10:00:00Z", "true"],
                ["olduser", "PACS", "2025-07-01T10:00:00Z", "true"],  # latest: kept
                ["olduser", "PACS", "2025-07-02T10:00:00Z", "false"],
                ["olduser", "PACS", "2025-07-03T10:00:00Z", "maybe"],  # old, unparseable
                ["newuser", "PACS", "2026-10-29T10:00:00Z", "maybe"],  # recent, unparseable
                ["newuser", "PACS", "2026-10-30T10:00:00Z", "true"]])
    config = ReviewConfig(retention=Retention(event_days=400, adt_days_after_discharge=7))
    con, _ = _build(folder, SAMPLE_AS_OF, store, config=config)
    with duckdb.connect(str(store), read_only=True) as s:
        assert s.execute("select distinct fin from rows_adt_events order by fin"
                         ).fetchall() == [("F200",), ("F300",), ("F700",)]
        assert s.execute("select \"user\", occurred_at::date::varchar from "
                         "rows_sign_in_events order by all").fetchall() == [
            ("newuser", "2026-10-29"), ("newuser", "2026-10-30"), ("olduser", "2025-07-01")]
        # what was said of a removed row leaves with it; of a kept row, stays
        assert s.execute("select r.occurred_at::date::varchar, p.column_name from "
                         "parse_issues as p inner join rows_sign_in_events as r "
                         "using (sha256, file_row)").fetchall() == [("2026-10-29", "success")]
        assert s.execute("select count(*) from parse_issues "
                         "where table_name = 'sign_in_events'").fetchone() == (1,)
    # the same feed dropped in again is known by its SHA-256: the visit does not come back
    _build(folder, SAMPLE_AS_OF, store, config=config)
    with duckdb.connect(str(store), read_only=True) as s:
        assert s.execute("select count(distinct fin) from rows_adt_events").fetchone() == (3,)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:8]


def _inputs(con: duckdb.DuckDBPyConnection, like: str) -> list[tuple]:
    return con.execute("select source_file, status, rows_read, rows_accepted, "
                       "rows_quarantined, rows_already_stored, rows_not_used, note "
                       "from input_summary where source_file like ? order by 1",
                       [like]).fetchall()


def test_rows_retention_or_the_run_leaves_out_are_counted_with_the_reason(tmp_path):
    """Every row of a file is read, already stored or not used: rows past the store's
    retention, or (the census) sign-ins other than each account's latest success, had
    vanished from the run's counts (the sample's sign-in log: 1,035 rows, 1,029 read)."""
    store, folder = _store_and_folder(tmp_path)
    (folder / "adt").mkdir()
    (folder / "adt" / "feed.hl7").write_text(  # 2 messages of a visit discharged long ago
        _adt_message("M1", "A01", "F100", "20260901080000")
        + _adt_message("M2", "A03", "F100", "20260905080000")
        + _adt_message("M3", "A01", "F200", "20261028080000"), encoding="utf-8")
    _write_csv(folder / "access_logs" / "log.csv", ACCESS_LOG_HEADER,
               [["olduser", "PACS", "2025-06-01T10:00:00Z", "true"],   # past retention
                ["olduser", "PACS", "2025-07-01T10:00:00Z", "true"],   # latest: kept
                ["olduser", "PACS", "2025-07-02T10:00:00Z", "false"],  # past retention
                ["newuser", "PACS", "2026-10-29T10:00:00Z", "maybe"],  # quarantined
                ["newuser", "PACS", "2026-10-30T10:00:00Z", "true"],
                ["newuser", "PACS", "2026-10-31T10:00:00Z", "false"]])
    config = ReviewConfig(retention=Retention(event_days=400, adt_days_after_discharge=7))
    scratch, _ = _build(folder, SAMPLE_AS_OF, None, config=config)
    assert [r[:7] for r in _inputs(scratch, "access_logs/%")] == [
        ("access_logs/log.csv", "read", 6, 5, 1, 0, 0)]
    for _ in range(2):  # read and stored, then pruned from the store: counted alike
        con, _ = _build(folder, SAMPLE_AS_OF, store, config=config)
        (log, *_), (feed, *_) = _inputs(con, "access_logs/%"), _inputs(con, "adt/%")
        assert log[:7] == ("access_logs/log.csv", "read", 4, 3, 1, 0, 2)
        assert log[7] == ("2 rows not used: older than the evidence store keeps (400 days; "
                          "each account's latest successful sign-in is kept)")
        assert feed[:7] == ("adt/feed.hl7", "read", 1, 1, 0, 0, 2)
        assert "2 rows not used: visits that ended (discharged or cancelled) more than 7 " \
            "days before the as-of date" in feed[7]
    # the census copies each account's latest success: the rest of the log is not used
    census, _ = _build(folder, SAMPLE_AS_OF, store, "census", config=config)
    assert [r[:7] for r in _inputs(census, "access_logs/%")] == [
        ("access_logs/log.csv", "not read", 0, 0, 0, 0, 0),
        (f"access_logs/log.csv [evidence store {_sha(folder / 'access_logs' / 'log.csv')}]",
         "from store", 2, 2, 0, 0, 4)]
    note = _inputs(census, "access_logs/log.csv [%")[0][7]
    assert note.startswith("access_logs/log.csv, read by the run as of 2026-11-01: this run "
                           "does not read the folder's files of its kind, its rows are kept")
    assert note.endswith("; 4 rows not used: this run uses each account's latest successful "
                         "sign-in only")
    # the dormant lists use no ADT data: the stored feed is not listed as theirs
    dormant, _ = _build(folder, SAMPLE_AS_OF, store, "dormant", config=config)
    assert [r[:3] for r in _inputs(dormant, "adt/%")] == [("adt/feed.hl7", "not read", 0)]
    assert _inputs(dormant, "adt/%")[0][7] == ("an adt file this run does not use; the runs "
                                               "that use it read it")


@pytest.mark.parametrize("run, parsed, left", [
    ("census", {"enrollment", "docusign", "applications", "adt", "directory", "entra"},
     set()),
    ("dormant", {"directory", "entra", "signins", "access_logs", "applications",
                 "enrollment"}, {"adt_events"}),
])
def test_each_run_parses_only_what_it_needs(tmp_path, run, parsed, left):
    store = tmp_path / "evidence.duckdb"
    review, _ = _build(SAMPLE, SAMPLE_AS_OF, store)
    fresh = tmp_path / "fresh"
    shutil.copytree(SAMPLE, fresh)
    for path in fresh.rglob("*"):  # every export re-made: new bytes, the same rows
        data = path.read_bytes() if path.is_file() and path.parent != fresh else b""
        if path.suffix == ".csv":
            path.write_bytes(data.replace(b"\r\n", b"\n") if b"\r\n" in data
                             else data.replace(b"\n", b"\r\n"))
        elif path.suffix in (".json", ".hl7"):
            path.write_bytes(data + b"\n")
    known = {f.sha256 for f in _build(SAMPLE, SAMPLE_AS_OF, tmp_path / "x.duckdb")[1]}
    con, files = _build(fresh, SAMPLE_AS_OF, store, run=run)
    remade = {f.source_file: f.status for f in files
              if f.sha256 not in known and f.status in ("read", "not read", "unreadable")}
    assert remade, "the test re-made no export"
    assert {name: status for name, status in remade.items()
            if (status == "read") != (name.split("/")[0] in parsed)} == {}
    for table in left:
        assert con.execute(f"select count(*) from raw_{table}").fetchone() == (0,)
    rules = ("R2W_RECIPIENT_INVALID",) if run == "census" else ACTIVITY_RULES
    assert _findings(con, rules) == _findings(review, rules)
    # what the run writes is what the full review computes, though the census copied only
    # each account's latest successful sign-in
    for mart in (("r2w_distribution", "census_patients", "census_providers")
                 if run == "census" else ("dormant_accounts",)):
        query = f"select * from {mart} order by all"
        assert con.execute(query).fetchall() == review.execute(query).fetchall(), mart
    if run == "census":
        assert con.execute("select count(*) from raw_sign_in_events").fetchone()[0] < \
            review.execute("select count(*) from raw_sign_in_events").fetchone()[0] / 2


def test_a_census_in_a_fresh_store_checks_recipients_against_its_folder_s_directory(
        tmp_path):
    """The daily census in a folder of its own (a store no review filled): an R2W
    recipient whose directory account is disabled in the folder's exports is left off, as
    the review of the same folder leaves them off."""
    folder = shutil.copytree(SAMPLE, tmp_path / "in")
    ad = folder / "directory" / "ad_users_ps51.csv"
    ad.write_text("".join(line.replace('"True"', '"False"', 1) if "omar.okafor" in line
                          else line for line in ad.read_text(encoding="utf-8-sig")
                          .splitlines(keepends=True)), encoding="utf-8-sig")
    graph = folder / "entra" / "users_page_001.json"
    page = json.loads(graph.read_text(encoding="utf-8"))
    for user in page["value"]:
        if user.get("mail") == "omar.okafor@saltriverfm.com":
            user["accountEnabled"] = False
    graph.write_text(json.dumps(page), encoding="utf-8")
    review, _ = _build(folder, SAMPLE_AS_OF, tmp_path / "review.duckdb")
    census, _ = _build(folder, SAMPLE_AS_OF, tmp_path / "census.duckdb", run="census")
    query = ("select provider_email, recipient_email, problem from int_r2w_recipients "
             "order by all")
    assert ("heather.stevens@saltriverfm.com", "omar.okafor@saltriverfm.com",
            "has a disabled or expired account") in census.execute(query).fetchall()
    assert census.execute(query).fetchall() == review.execute(query).fetchall()


def test_retention_is_configuration():
    from ccreview.core.config import config_from_dict, load_config
    from ccreview.core.errors import UsageError

    example = load_config(Path(__file__).parent.parent / "data" / "config"
                          / "review.example.toml")
    assert example.retention == Retention(400, 7)
    assert config_from_dict({"retention": {"event_days": 60}}).retention.event_days == 60
    assert config_from_dict({}).as_flat_dict()["retention.adt_days_after_discharge"] == "7"
    for bad in ({"event_days": -1}, {"event_days": "400"}, {"keep": 3}):
        with pytest.raises(UsageError, match="retention"):
            config_from_dict({"retention": bad})


def test_an_unreadable_store_is_one_line_naming_it(tmp_path):
    from ccreview.core.errors import UsageError

    store = tmp_path / "evidence.duckdb"
    store.write_bytes(b"not a database, and Jane Doe's MRN 12345 " * 100)
    with pytest.raises(UsageError) as exc:
        _build(SAMPLE, SAMPLE_AS_OF, store)
    assert str(store) in str(exc.value) and "Jane" not in str(exc.value)
    assert "\n" not in str(exc.value)
    # and where a run without enrollment asks the store whether it has some
    with pytest.raises(UsageError) as exc:
        has_stored(store, SAMPLE_AS_OF, ("enrollment_people",))
    assert str(store) in str(exc.value) and "Jane" not in str(exc.value)


def test_a_run_that_did_not_succeed_changes_no_later_snapshot(tmp_path):
    store = tmp_path / "evidence.duckdb"
    reviewed, _ = _build(SAMPLE, SAMPLE_AS_OF, store)
    partial = tmp_path / "partial"
    shutil.copytree(SAMPLE, partial)
    for ad in (partial / "directory").glob("*.csv"):  # a partial directory export
        ad.write_text("\n".join(ad.read_text(encoding="utf-8-sig").splitlines()[:4]) + "\n")
    refused = duckdb.connect()  # read into the store, then refused: never committed
    ingest_with_store(partial, refused, store, SAMPLE_AS_OF + dt.timedelta(days=1),
                      ReviewConfig())
    assert refused.execute("select count(*) from ingested_directory_accounts"
                           ).fetchone()[0] < 10  # what it would have used
    # a later census whose folder holds no directory export takes the store's: the last
    # successful run's, not the refused one's
    shutil.rmtree(partial / "directory")
    shutil.rmtree(partial / "entra")
    census, files = _build(partial, SAMPLE_AS_OF + dt.timedelta(days=2), store, run="census")
    assert _ad_rows(census) == _ad_rows(reviewed)
    assert not [f for f in files if f.source_file.startswith("directory/")
                and "[evidence store" not in f.source_file]


def test_at_300_groups_the_store_gives_the_findings_of_a_run_from_scratch(tmp_path):
    """The generator's 300-group organisation: first run on an empty store, a second run
    reading nothing again, both byte for byte the findings of a from-scratch read."""
    from ccreview.synthetic import generate

    org = tmp_path / "org300"
    generate(org, 300, 7, SAMPLE_AS_OF)
    store = tmp_path / "evidence.duckdb"
    expected = _findings(_build(org, SAMPLE_AS_OF, None)[0])
    assert len(expected) == 866  # the ground truth's count for this seed
    assert _findings(_build(org, SAMPLE_AS_OF, store)[0]) == expected
    assert _findings(_build(org, SAMPLE_AS_OF, store)[0]) == expected
    assert (SUMMARIES[-1].new, SUMMARIES[-1].seen_before) == (0, SUMMARIES[-2].new)


ENTRA_HEADER = ["Date (UTC)", "Request ID", "User agent", "Correlation ID", "User ID", "User",
                "Username", "User type", "Application", "Application ID", "Resource",
                "IP address", "Location", "Status", "Sign-in error code", "Failure reason",
                "Client app", "Multifactor authentication result"]


def _entra(when: str, request_id: str, user: str, status: str = "Success") -> list[str]:
    return [when, request_id, "Mozilla/5.0", "c-" + request_id, "u-" + user, user.title(),
            f"{user}@ccpartners.example.org", "Member", "Clinical Connectivity Workspace",
            "app-1", "Windows Azure AD", "198.51.100.7", "Phoenix, Arizona, US", status,
            "0" if status == "Success" else "50126", "" if status == "Success" else
            "Invalid username or password", "Browser", ""]


def test_hand_written_overlapping_exports_are_kept_once_by_their_keys(tmp_path):
    """Written by hand in the exports' own formats, not by the generator: two Entra
    sign-in downloads overlapping by one Request ID, an access log whose second export
    repeats a row (same user, application, time, result) and adds one, a row repeated
    inside one export (kept: it is in the file twice), and two HL7 batches sharing a
    message control ID. A repeated sign-in whose date cannot be read leaves with its parse
    issue; a new one's is kept."""
    store = tmp_path / "evidence.duckdb"
    first, later = tmp_path / "first", tmp_path / "later"
    for folder in (first, later):
        shutil.copytree(SAMPLE / "enrollment", folder / "enrollment")
        shutil.copytree(SAMPLE / "directory", folder / "directory")
    _write_csv(first / "signins" / "SignIns_2026-10-30.csv", ENTRA_HEADER,
               [_entra("2026-10-29T08:00:00Z", "r-1", "ann"),
                _entra("2026-10-30T09:00:00Z", "r-2", "bob", "Failure")])
    _write_csv(later / "signins" / "SignIns_2026-10-31.csv", ENTRA_HEADER,
               [_entra("2026-10-30T09:00:00Z", "r-2", "bob", "Failure"),  # again
                _entra("2026-10-31T10:00:00Z", "r-3", "ann"),
                _entra("29.10.2026 08:00", "r-1", "ann"),  # again, its date unreadable
                _entra("31.10.2026 11:00", "r-4", "bob")])  # new, its date unreadable
    _write_csv(first / "access_logs" / "pacs.csv", ACCESS_LOG_HEADER,
               [["ann", "PACS", "2026-10-29T08:05:00Z", "true"],
                ["ann", "PACS", "2026-10-29T08:05:00Z", "true"]])  # twice in this export
    _write_csv(later / "access_logs" / "pacs.csv", ACCESS_LOG_HEADER,
               [["ann", "PACS", "2026-10-29T08:05:00Z", "true"],  # in the earlier export
                ["bob", "PACS", "2026-10-31T07:00:00Z", "false"]])
    (first / "adt").mkdir()
    (later / "adt").mkdir()
    (first / "adt" / "batch1.hl7").write_text(
        _adt_message("MSG1", "A01", "F1", "20261030080000"), encoding="utf-8")
    (later / "adt" / "batch2.hl7").write_text(
        _adt_message("MSG1", "A01", "F1", "20261030080000")
        + _adt_message("MSG2", "A02", "F1", "20261031080000"), encoding="utf-8")
    _build(first, SAMPLE_AS_OF, store)
    con, _ = _build(later, SAMPLE_AS_OF, store)
    events = con.execute("select source, \"user\", occurred_at::varchar, success "
                         "from raw_sign_in_events order by all").fetchall()
    assert events == [
        ("application_access_log", "ann", "2026-10-29 08:05:00", True),
        ("application_access_log", "ann", "2026-10-29 08:05:00", True),
        ("application_access_log", "bob", "2026-10-31 07:00:00", False),
        ("entra_sign_in_log", "ann@ccpartners.example.org", "2026-10-29 08:00:00", True),
        ("entra_sign_in_log", "ann@ccpartners.example.org", "2026-10-31 10:00:00", True),
        ("entra_sign_in_log", "bob@ccpartners.example.org", "2026-10-30 09:00:00", False)]
    # the Request IDs the store de-duplicated by are the store's alone: each once (r-1's
    # unreadable repeat left out, r-4 kept with its parse issue), none in the warehouse
    with duckdb.connect(str(store), read_only=True) as s:
        assert s.execute("select request_id from rows_sign_in_events "
                         "where request_id is not null order by 1").fetchall() == [
            ("r-1",), ("r-2",), ("r-3",), ("r-4",)]
    assert "request_id" not in {c for (c,) in con.execute(
        "select column_name from duckdb_columns() "
        "where table_name in ('ingested_sign_in_events', 'raw_sign_in_events')").fetchall()}
    assert con.execute("select message_control_id from raw_adt_events order by 1"
                       ).fetchall() == [("MSG1",), ("MSG2",)]
    # each later file's rows the store already had are counted and said in its note
    assert SUMMARIES[-1].rows_already_stored == 4
    # the run's one line for them (the command line's Inputs line, the Prefect artifact)
    assert already_stored_summary(SUMMARIES[-1].rows_already_stored) == (
        "4 rows of new files already in the evidence store from an earlier file (Inputs "
        "sheet: by file)")
    assert already_stored_summary(0) == ""
    assert con.execute("select source_file, rows_read, rows_already_stored, note "
                       "from input_summary where rows_already_stored > 0 order by 1"
                       ).fetchall() == [
        ("access_logs/pacs.csv", 1, 1, "1 of its rows the evidence store already had from an "
         "earlier file (the same user, application, time and result): those are used, not "
         "stored again"),
        ("adt/batch2.hl7", 1, 1, "1 of its rows the evidence store already had from an "
         "earlier file (the same message control ID): those are used, not stored again"),
        ("signins/SignIns_2026-10-31.csv", 2, 2, "2 of its rows the evidence store already "
         "had from an earlier file (the same Request ID): those are used, not stored again")]
    # the repeated row's unreadable date was left out with it; the new row's is kept
    assert con.execute("select source_file, source_line, rule from quarantine where "
                       "table_name = 'sign_in_events'").fetchall() == [
        ("signins/SignIns_2026-10-31.csv", 5, "datetime")]
    with duckdb.connect(str(store), read_only=True) as s:
        assert s.execute("select p.file_row, p.rule from parse_issues as p join files "
                         "using (sha256) where source_file = 'signins/SignIns_2026-10-31.csv'"
                         ).fetchall() == [(3, "datetime")]


@pytest.mark.parametrize("run", ["review", "census"])
def test_event_rows_of_a_file_no_run_committed_stay_out(tmp_path, run):
    """A refused run's event file is in the store but no successful run saw it: a later
    run must leave its rows out, with retention judging the rest (an old event, an
    account's latest success) as when every stored file is used."""
    store, folder = _store_and_folder(tmp_path)
    _write_csv(folder / "access_logs" / "log.csv", ACCESS_LOG_HEADER,
               [["olduser", "PACS", "2025-06-01T10:00:00Z", "true"],
                ["olduser", "PACS", "2025-07-01T10:00:00Z", "true"],  # latest: kept
                ["newuser", "PACS", "2026-10-30T10:00:00Z", "true"]])
    config = ReviewConfig(retention=Retention(event_days=400, adt_days_after_discharge=7))
    _build(folder, SAMPLE_AS_OF, store, config=config)
    refused = tmp_path / "refused"
    shutil.copytree(folder, refused)
    _write_csv(refused / "access_logs" / "stray.csv", ACCESS_LOG_HEADER,
               [["strayuser", "PACS", "2026-10-31T10:00:00Z", "true"],
                ["olduser", "PACS", "2025-08-01T10:00:00Z", "true"]])
    ingest_with_store(refused, duckdb.connect(), store, SAMPLE_AS_OF, config)  # no commit
    with duckdb.connect(str(store), read_only=True) as s:
        assert s.execute("select count(distinct sha256) from file_tables "
                         "where table_name = 'sign_in_events'").fetchone()[0] == 2
    later, _ = _build(folder, SAMPLE_AS_OF + dt.timedelta(days=1), store, run=run,
                      config=config)
    rows = later.execute("select \"user\", occurred_at::date::varchar "
                         "from ingested_sign_in_events order by all").fetchall()
    assert rows == [("newuser", "2026-10-30"), ("olduser", "2025-07-01")]


def test_an_event_crossing_the_retention_line_later_is_removed_without_new_files(tmp_path):
    """Retention is judged again when the review date moves, even with no new file: an
    event inside retention on the first day and past it two days later goes (unless it is
    its account's latest success); a run that moves nothing changes nothing."""
    store, folder = _store_and_folder(tmp_path)
    day = SAMPLE_AS_OF
    at = lambda days: f"{(day - dt.timedelta(days=days)).isoformat()}T10:00:00Z"  # noqa: E731
    _write_csv(folder / "access_logs" / "log.csv", ACCESS_LOG_HEADER,
               [["crossing", "PACS", at(399), "true"],  # inside 400 days today, not later
                ["crossing", "PACS", at(10), "true"],  # its latest success
                ["idle", "PACS", at(399), "true"],  # idle's latest: always kept
                ["ancient", "PACS", at(500), "true"],  # past retention from the start
                ["ancient", "PACS", at(450), "false"]])  # (removed by the first prune)
    config = ReviewConfig(retention=Retention(event_days=400, adt_days_after_discharge=7))

    def stored() -> list:
        with duckdb.connect(str(store), read_only=True) as s:
            return s.execute("select \"user\", occurred_at::date from rows_sign_in_events "
                             "order by all").fetchall()

    _build(folder, day, store, config=config)
    assert len(stored()) == 4
    _build(folder, day + dt.timedelta(days=2), store, config=config)
    kept = [("ancient", day - dt.timedelta(days=500)),
            ("crossing", day - dt.timedelta(days=10)), ("idle", day - dt.timedelta(days=399))]
    assert stored() == kept
    _build(folder, day + dt.timedelta(days=2), store, config=config)  # nothing moved
    assert stored() == kept
    # a new export with a later success: the ancient one is no longer the latest
    _write_csv(folder / "access_logs" / "log2.csv", ACCESS_LOG_HEADER,
               [["ancient", "PACS", at(5), "true"]])
    _build(folder, day + dt.timedelta(days=2), store, config=config)
    assert stored() == [("ancient", day - dt.timedelta(days=5)), *kept[1:]]


def _kept_latest(store: Path) -> list[tuple]:
    """(source, user, application, time) of the store's kept latest successes, after
    checking they are the rows a search over every stored event finds, with the stored
    rows' columns."""
    searched = ("select source, \"user\", application, occurred_at, sha256, file_row "
                "from {} as r where {} order by all")
    with duckdb.connect(str(store), read_only=True) as s:
        every = s.execute(searched.format("rows_sign_in_events", "r.success and ("
                          "r.\"user\", r.source, r.application, r.occurred_at) in ("
                          "select (\"user\", source, application, max(occurred_at)) "
                          "from rows_sign_in_events where success "
                          "group by \"user\", source, application)")).fetchall()
        merged = s.execute(searched.format("latest_sign_ins", "true")).fetchall()
        columns = [[d[0] for d in s.execute(f"select * from {t} limit 0").description]
                   for t in ("latest_sign_ins", "rows_sign_in_events")]
    assert merged == every and columns[0] == columns[1]
    return [row[:4] for row in merged]


def test_the_latest_successes_kept_as_files_are_stored_are_those_of_every_event(
        tmp_path, monkeypatch):
    """The census copies each account's latest successful sign-in from
    `store.latest_sign_ins`, merged as files are stored, instead of searching every stored
    event: a later file with older successes, a tie, a failure newer than the latest
    success and a first success must leave what the search over every event finds."""
    from ccreview.contracts import store as store_module

    store, folder = _store_and_folder(tmp_path)
    _write_csv(folder / "access_logs" / "log1.csv", ACCESS_LOG_HEADER,
               [["amy", "PACS", "2026-10-01T10:00:00Z", "true"],
                ["amy", "PACS", "2026-10-05T10:00:00Z", "true"],  # amy's latest
                ["amy", "PACS", "2026-10-06T10:00:00Z", "false"],  # newer, but failed
                ["bo", "PACS", "2026-10-03T10:00:00Z", "true"],
                ["cy", "Qventus", "2026-10-02T10:00:00Z", "false"]])  # no success yet

    def kept() -> list:
        return [(u, a, t.date().isoformat()) for _, u, a, t in _kept_latest(store)]

    _build(folder, SAMPLE_AS_OF, store)
    assert kept() == [("amy", "PACS", "2026-10-05"), ("bo", "PACS", "2026-10-03")]
    _write_csv(folder / "access_logs" / "log2.csv", ACCESS_LOG_HEADER,
               [["amy", "PACS", "2026-09-01T10:00:00Z", "true"],  # older: amy's stays
                ["bo", "PACS", "2026-10-20T10:00:00Z", "true"],  # bo's new latest
                ["cy", "Qventus", "2026-10-10T10:00:00Z", "true"],  # cy's first success
                ["di", "PACS", "2026-10-04T10:00:00Z", "true"],  # a tie: both kept
                ["di", "PACS", "2026-10-04T10:00:00Z", "true"]])
    _build(folder, SAMPLE_AS_OF, store)
    latest = [("amy", "PACS", "2026-10-05"), ("bo", "PACS", "2026-10-20"),
              ("cy", "QVENTUS", "2026-10-10"), ("di", "PACS", "2026-10-04"),
              ("di", "PACS", "2026-10-04")]
    assert kept() == latest
    # the census copies the same rows as the search over every stored event would give
    census, _ = _build(folder, SAMPLE_AS_OF, store, run="census")
    with monkeypatch.context() as m:
        m.setattr(store_module, "_latest_sign_ins_current", lambda con: False)
        searching, _ = _build(folder, SAMPLE_AS_OF, store, run="census")
    assert _events(census) == _events(searching)
    assert len(_events(census)) == len(latest)
    # a census as of a date before some of them counts the latest successes by then, as
    # the search over every stored event does (bo's of 10-03, not 10-20)
    earlier = dt.date(2026, 10, 12)
    _build(folder, earlier, store)  # a review as of then saw the files
    census_then, _ = _build(folder, earlier, store, run="census")
    with monkeypatch.context() as m:
        m.setattr(store_module, "_latest_sign_ins_current", lambda con: False)
        searching_then, _ = _build(folder, earlier, store, run="census")

    def by_then(con) -> list:
        return con.execute("select user_name, application, last_success_at::date::varchar "
                           "from int_last_successful_events order by all").fetchall()
    assert by_then(census_then) == by_then(searching_then) == [
        ("amy", "PACS", "2026-10-05"), ("bo", "PACS", "2026-10-03"),
        ("cy", "QVENTUS", "2026-10-10"), ("di", "PACS", "2026-10-04")]
    # a store made before the table existed gets it on its next run
    with duckdb.connect(str(store)) as s:
        s.execute("drop table latest_sign_ins")
        s.execute("drop table latest_sign_ins_files")
    again, _ = _build(folder, SAMPLE_AS_OF, store, run="census")
    assert kept() == latest and _events(again) == _events(census)
    # and one whose columns are no longer the stored rows' is made again
    with duckdb.connect(str(store)) as s:
        s.execute("alter table latest_sign_ins drop column request_id")
    again, _ = _build(folder, SAMPLE_AS_OF, store, run="census")
    assert kept() == latest and _events(again) == _events(census)


# A second Active Directory export, written by hand as PowerShell 5.1's Export-Csv writes
# it: one good account and three the contracts judge (a UPN that is no address, kept as
# the implicit UPN with a warning; a missing LAN ID; an Enabled value that does not parse,
# which is a parse issue and not also "missing").
_AD_HEADER = ["DistinguishedName", "Enabled", "GivenName", "Name", "ObjectClass",
              "ObjectGUID", "SamAccountName", "Surname", "UserPrincipalName", "mail",
              "Company", "Department", "whenCreated", "lastLogonTimestamp", "pwdLastSet",
              "accountExpires"]


def _ad_account(sam: str, upn: str, enabled: str = "True") -> list[str]:
    return [f"CN=Vale\\, {sam},OU=Clinical Connectivity,DC=examplehealth,DC=org", enabled,
            "Ann", f"Vale, {sam}", "user", "0c5e1b2a-5a0e-4bde-9f38-3b0c9e1f2a77", sam, "Vale",
            upn, "", "Vale Clinic", "CS0001000", "3/2/2024 9:15:00 AM",
            "134345867787963120", "134345867787963120", "0"]


def _with_judged_accounts(tmp_path: Path) -> Path:
    folder = shutil.copytree(SAMPLE, tmp_path / "in")
    rows = [_ad_account("avale", "avale@ccpartners.examplehealth.org"),
            _ad_account("bvale", "not an address"),
            _ad_account("", "cvale@ccpartners.examplehealth.org"),
            _ad_account("dvale", "dvale@ccpartners.examplehealth.org", enabled="Perhaps")]
    out = io.StringIO()
    out.write("#TYPE Selected.Microsoft.ActiveDirectory.Management.ADUser\r\n")
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(
        [_AD_HEADER, *rows])
    (folder / "directory" / "ad_users_vale.csv").write_text(out.getvalue(),
                                                          encoding="utf-8-sig")
    return folder


def _judged(con: duckdb.DuckDBPyConnection) -> tuple[list, list]:
    return (con.execute("select * from quarantine order by all").fetchall(),
            con.execute("select * from row_warnings order by all").fetchall())


def _reconciled(con: duckdb.DuckDBPyConnection) -> list:
    return con.execute("select * from input_reconciliation order by all").fetchall()


def test_the_store_keeps_each_file_s_verdicts_and_checks_only_new_rows(tmp_path,
                                                                       monkeypatch):
    """The contracts' checks run once per stored file: a later run takes the verdicts
    (quarantined rows, warnings) from the store and gives what a run from scratch gives;
    only a new file's rows are checked; other rules (another fingerprint) check all again."""
    from ccreview.contracts import ingest

    folder = _with_judged_accounts(tmp_path)
    store = tmp_path / "evidence.duckdb"
    scratch, _ = _build(folder, SAMPLE_AS_OF, None)
    expected = _judged(scratch)
    rules = {(r[0], r[4]) for r in expected[0]}
    assert {("directory_accounts", "not_nullable"), ("directory_accounts", "boolean")} \
        <= rules, rules
    # bvale's UPN is no address: kept as its implicit UPN, with a warning
    assert [r[4] for r in expected[1]] == ["implicit_upn", "npi_check_digit"]
    assert [r[2:5] for r in expected[0] if r[1] == "directory/ad_users_vale.csv"] == [
        (5, "sam_account_name", "not_nullable"), (6, "Enabled", "boolean")]

    checked: list[int] = []
    contract_failures = ingest._contract_failures

    def counting(schema, df):
        checked.append(len(df))
        return contract_failures(schema, df)

    monkeypatch.setattr(ingest, "_contract_failures", counting)
    first, _ = _build(folder, SAMPLE_AS_OF, store)
    assert _judged(first) == expected
    assert sum(checked) > 1000
    checked.clear()
    again, _ = _build(folder, SAMPLE_AS_OF, store)
    assert _judged(again) == expected and _reconciled(again) == _reconciled(first)
    assert sum(checked) == 0  # every row's verdict came from the store
    assert _findings(again) == _findings(scratch)
    # a store made before parse issues named their canonical column takes the column on
    with duckdb.connect(str(store)) as s:
        s.execute("alter table parse_issues drop column target_column")
    older, _ = _build(folder, SAMPLE_AS_OF, store)
    assert _findings(older) == _findings(scratch)
    assert (6, "Enabled", "boolean") in [r[2:5] for r in _judged(older)[0]
                                         if r[1] == "directory/ad_users_vale.csv"]

    # a new export, a day later: only its rows are checked
    (folder / "directory" / "ad_users_vale_2.csv").write_bytes(
        (folder / "directory" / "ad_users_vale.csv").read_bytes().replace(b"Vale", b"Vail"))
    later_day = SAMPLE_AS_OF + dt.timedelta(days=1)
    checked.clear()
    later, _ = _build(folder, later_day, store)
    assert set(checked) - {0} == {4}  # the new file's four accounts (by each schema)
    scratch_later, _ = _build(folder, later_day, None)
    assert _judged(later) == _judged(scratch_later)

    # changed rules: every row is checked again, and its verdicts kept anew
    monkeypatch.setattr(ingest, "rules_fingerprint", lambda: "other rules")
    monkeypatch.setattr("ccreview.contracts.store.rules_fingerprint", lambda: "other rules")
    checked.clear()
    other, _ = _build(folder, later_day, store)
    assert sum(checked) > 1000 and _judged(other) == _judged(scratch_later)
    checked.clear()
    _build(folder, later_day, store)
    assert sum(checked) == 0


def _feed_with_a_discharged_visit(tmp_path: Path) -> tuple[Path, Path, ReviewConfig]:
    """(store, input folder, config): enrollment and one ADT feed whose visit F100 was
    discharged on 2026-10-20 — one of its messages an event type the contract refuses —
    and visit F200 still in; ADT kept 7 days after discharge."""
    store = tmp_path / "evidence.duckdb"
    folder = tmp_path / "in"
    shutil.copytree(SAMPLE / "enrollment", folder / "enrollment")
    feed = (_adt_message("M1", "A01", "F100", "20261001080000")
            + _adt_message("M2", "A99", "F100", "20261005080000")  # refused
            + _adt_message("M3", "A03", "F100", "20261020080000")  # discharged
            + _adt_message("M4", "A01", "F200", "20261028080000"))
    (folder / "adt").mkdir()
    (folder / "adt" / "feed.hl7").write_text(feed, encoding="utf-8")
    return store, folder, ReviewConfig(
        retention=Retention(event_days=400, adt_days_after_discharge=7))


def test_what_the_store_said_of_a_removed_row_goes_with_it(tmp_path):
    """A discharged visit's messages leave the store with their verdicts: an ADT feed
    validated whole while the visit was recent (one message of an event type the
    contract refuses), then past retention."""
    store, folder, config = _feed_with_a_discharged_visit(tmp_path)

    def said() -> tuple:
        with duckdb.connect(str(store), read_only=True) as s:
            return s.execute("""
                select (select count(*) from verdicts where table_name = 'adt_events'),
                       (select count(*) from verdicts_made where table_name = 'adt_events'),
                       (select count(distinct fin) from rows_adt_events)""").fetchone()

    con, _ = _build(folder, dt.date(2026, 10, 25), store, config=config)
    assert [r[4] for r in _judged(con)[0]] == ["adt_event"]
    assert said() == (1, 1, 2)  # the feed validated whole: its verdicts kept
    con, _ = _build(folder, SAMPLE_AS_OF, store, config=config)
    assert _judged(con)[0] == []  # the visit is gone, and its quarantined message
    assert said() == (0, 1, 1)


def test_a_file_partly_used_is_not_taken_as_validated_until_used_whole(tmp_path):
    """A feed whose discharged visit retention leaves out is checked only in part: its
    verdicts are not kept then (the refused message of that visit was never checked);
    once retention has removed the visit from the store, the run uses every row the store
    keeps of it, and its verdicts are kept from then on."""
    store, folder, config = _feed_with_a_discharged_visit(tmp_path)

    def kept() -> tuple:
        with duckdb.connect(str(store), read_only=True) as s:
            return s.execute("""
                select (select count(*) from verdicts_made where table_name = 'adt_events'),
                       (select count(*) from rows_adt_events)""").fetchone()

    _build(folder, SAMPLE_AS_OF, store, config=config)
    assert kept() == (0, 1)  # checked: F200's one message of the feed's four
    _build(folder, SAMPLE_AS_OF, store, config=config)
    assert kept() == (1, 1)  # checked whole, as the store now keeps it


def _store_contents(store: Path) -> dict[str, list]:
    """Every stored row (the clock time each file was read at left out)."""
    with duckdb.connect(str(store), read_only=True) as s:
        tables = [t for (t,) in s.execute("select table_name from duckdb_tables() "
                                          "order by 1").fetchall()]
        return {t: s.execute(f"select * exclude (read_at) from {t} order by all" if t == "files"
                             else f"select * from {t} order by all").fetchall()
                for t in tables}


@pytest.mark.parametrize("worker", ["alive", "killed"])
def test_files_read_ahead_by_a_second_process_are_stored_as_if_read_here(tmp_path,
                                                                         monkeypatch, worker):
    """Large folders are hashed and read by a second process while this one loads the
    event logs (`read_ahead`). Forced on for the sample (with a truncated JSON export, a
    copy of a file and a hand-written PowerShell AD export with bad rows), every file is
    listed, stored, quarantined and found as when read here; if the worker dies, the
    files it had not prepared are read here."""
    from ccreview.contracts import read_ahead
    from ccreview.contracts import store as store_module

    folder = _with_judged_accounts(tmp_path)
    (folder / "enrollment" / "truncated.json").write_text('{"result": [{"number": "REQ00',
                                                          encoding="utf-8")
    shutil.copy(folder / "directory" / "ad_users_vale.csv", folder / "ad_copy.csv")
    (folder / "audit").mkdir()  # an event log between other files: taken out of turn
    _write_csv(folder / "audit" / "entra_sign_ins_extra.csv", ENTRA_HEADER,
               [_entra("2026-10-30T08:15:00Z", "r-extra-1", "avale"),
                _entra("10/31/2026, 9:05:00 PM", "r-extra-2", "bvale", "Failure"),
                _entra("yesterday", "r-extra-3", "avale")])
    made: list = []

    class Watched(read_ahead.ReadAhead):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)
            self.taken: list = []
            if worker == "killed":
                for process in list(self._pool._processes.values()):
                    process.kill()

        def take(self):
            self.taken.append(super().take())
            return self.taken[-1]

    monkeypatch.setattr(store_module, "ReadAhead", Watched)
    here, here_files = _build(folder, SAMPLE_AS_OF, tmp_path / "here.duckdb")
    assert made == []  # the sample is far below the size worth a second process
    monkeypatch.setattr(read_ahead, "READ_AHEAD_BYTES", 1)
    ahead, ahead_files = _build(folder, SAMPLE_AS_OF, tmp_path / "ahead.duckdb")
    assert len(made) == 1 and len(made[0].taken) == len(ahead_files)  # every file taken
    prepared = [p for p in made[0].taken if p is not None]
    if worker == "alive":  # read there: the event logs hashed, the others parsed
        assert len(prepared) == len(ahead_files)
        assert sum(p.recognised is not None for p in prepared) > 10
        assert [p.unreadable for p in prepared if p.unreadable] == [
            "not valid JSON (truncated or corrupted)"]
    else:
        assert prepared == []

    def listed(files: list) -> list:
        return sorted((f.source_file, f.format, f.status, f.note, f.sha256, f.tables)
                      for f in files)

    assert listed(ahead_files) == listed(here_files)
    assert ("enrollment/truncated.json", "unreadable") in {
        (f.source_file, f.status) for f in ahead_files}
    assert {f.status for f in ahead_files if f.source_file == "ad_copy.csv"} == {"read"}
    assert _judged(ahead) == _judged(here) and _reconciled(ahead) == _reconciled(here)
    assert _findings(ahead) == _findings(here)
    for table in ("sign_in_events", "directory_accounts", "enrollment_submissions"):
        rows = f"select * from ingested_{table} order by _row_id"
        assert ahead.execute(rows).fetchall() == here.execute(rows).fetchall()
    assert _store_contents(tmp_path / "ahead.duckdb") == _store_contents(
        tmp_path / "here.duckdb")


def test_the_latest_successes_kept_from_entra_downloads_follow_each_source(tmp_path):
    """Written by hand as the Entra admin centre downloads sign-ins, beside an access log:
    the latest success is kept per source (the same person's Entra sign-in and PACS access
    both stay), a success whose date is unreadable stands until a dated one arrives, and
    two sign-ins at the same second with different Request IDs are both kept."""
    store, folder = _store_and_folder(tmp_path)
    _write_csv(folder / "signins" / "SignIns_2026-10-30.csv", ENTRA_HEADER,
               [_entra("29.10.2026 08:00", "r-1", "ann"),  # a success, its date unreadable
                _entra("2026-10-30T09:00:00Z", "r-2", "ann", "Failure"),
                _entra("2026-10-28T07:00:00Z", "r-3", "bob")])
    _write_csv(folder / "access_logs" / "pacs.csv", ACCESS_LOG_HEADER,
               [["ann@ccpartners.example.org", "PACS", "2026-10-29T08:05:00Z", "true"]])
    _build(folder, SAMPLE_AS_OF, store)
    workspace = "Clinical Connectivity Workspace"
    ann, bob = "ann@ccpartners.example.org", "bob@ccpartners.example.org"
    first = _kept_latest(store)
    assert [(src, u, a, t and t.isoformat()) for src, u, a, t in first] == [
        ("application_access_log", ann, "PACS", "2026-10-29T08:05:00"),
        ("entra_sign_in_log", ann, workspace, None),
        ("entra_sign_in_log", bob, workspace, "2026-10-28T07:00:00")]
    _write_csv(folder / "signins" / "SignIns_2026-10-31.csv", ENTRA_HEADER,
               [_entra("2026-10-31T10:00:00Z", "r-4", "ann"),  # ann's first dated success
                _entra("2026-10-28T07:00:00Z", "r-5", "bob")])  # bob's, the same second
    _build(folder, SAMPLE_AS_OF, store)
    assert [(src, u, a, t.isoformat()) for src, u, a, t in _kept_latest(store)] == [
        ("application_access_log", ann, "PACS", "2026-10-29T08:05:00"),
        ("entra_sign_in_log", ann, workspace, "2026-10-31T10:00:00"),
        ("entra_sign_in_log", bob, workspace, "2026-10-28T07:00:00"),
        ("entra_sign_in_log", bob, workspace, "2026-10-28T07:00:00")]


def test_a_json_sign_in_log_accumulates_in_the_store_once_per_request(tmp_path):
    """A Graph sign-in page is an event file: its sign-ins stay when the export is gone,
    and a later page overlapping it adds only the requests it had not (by Request ID)."""
    folder = shutil.copytree(SAMPLE, tmp_path / "in")

    def page(*ids):
        return json.dumps({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns",
            "value": [{"id": f"0b5c7e4d-1a2b-4c3d-8e9f-{n:012d}",
                       "createdDateTime": f"2026-10-{20 + n}T08:00:00Z",
                       "userPrincipalName": "someone@ccpartners.examplehealth.org",
                       "appDisplayName": "Clinical Connectivity",
                       "status": {"errorCode": 0}} for n in ids]})

    (folder / "signins_a.json").write_text(page(1, 2))
    store = tmp_path / "evidence.duckdb"
    _build(folder, SAMPLE_AS_OF, store)
    (folder / "signins_a.json").unlink()
    (folder / "signins_b.json").write_text(page(2, 3))
    _build(folder, SAMPLE_AS_OF + dt.timedelta(days=1), store)
    with duckdb.connect(str(store), read_only=True) as s:
        assert s.execute("select request_id from rows_sign_in_events where request_id "
                         "like '0b5c7e4d-%' order by 1").fetchall() == [
            (f"0b5c7e4d-1a2b-4c3d-8e9f-{n:012d}",) for n in (1, 2, 3)]
        assert s.execute("select distinct kind from files where source_file like "
                         "'signins_%.json'").fetchall() == [("event",)]


# -- files the store holds as read by earlier readers or under other reading settings ----

def _created(con: duckdb.DuckDBPyConnection) -> list:
    return con.execute("select sam_account_name, created_at from raw_directory_accounts "
                       "order by all").fetchall()


def test_a_file_held_under_other_reading_settings_is_read_again(tmp_path):
    """A store's rows are a reading of each file: when the reading settings change (here
    the directory host's clock, Phoenix to UTC), the folder's files are read again, as a
    from-scratch run reads them, and not left as read before."""
    store = tmp_path / "evidence.duckdb"
    folder = shutil.copytree(SAMPLE, tmp_path / "in")
    phoenix, _ = _build(folder, SAMPLE_AS_OF, store)
    utc = ReviewConfig(time_zones=TimeZones(directory="UTC", adt="America/Phoenix"))
    again, files = _build(folder, SAMPLE_AS_OF, store, config=utc)
    scratch, _ = _build(folder, SAMPLE_AS_OF, None, config=utc)
    assert _created(again) == _created(scratch) != _created(phoenix)
    assert (SUMMARIES[-1].new, SUMMARIES[-1].read_again, SUMMARIES[-1].seen_before) == (
        20, 20, 0)
    assert all(READ_AGAIN in f.note and f.stored_as_of == SAMPLE_AS_OF
               for f in files if f.status == "read")
    _, files = _build(folder, SAMPLE_AS_OF, store, config=utc)  # and then known again
    assert (SUMMARIES[-1].new, SUMMARIES[-1].seen_before) == (0, 20)
    assert not any(READ_AGAIN in (f.note or "") for f in files)
    with duckdb.connect(str(store), read_only=True) as s:
        assert s.execute("select count(*), count(distinct sha256), count(distinct readers) "
                         "from files").fetchone() == (20, 20, 1)


def test_a_file_held_as_an_earlier_reader_read_it_is_read_again(tmp_path):
    """After an upgrade, a file the folder still holds is read by the new readers: here
    the earlier reading of the access log had every event failed and of the AD export no
    logon; the findings are then a from-scratch run's. A stored file the folder no longer
    holds keeps the rows it was read with (there is nothing to read again)."""
    store = tmp_path / "evidence.duckdb"
    folder = shutil.copytree(SAMPLE, tmp_path / "in")
    scratch, _ = _build(folder, SAMPLE_AS_OF, None)
    _build(folder, SAMPLE_AS_OF, store)
    gone = folder / "signins" / "entra_sign_ins_001.csv"
    with duckdb.connect(str(store)) as s:
        s.execute("update rows_sign_in_events set success = false where sha256 in "
                  "(select sha256 from files where source_file like 'access_logs/%')")
        s.execute("update rows_directory_accounts set last_logon_at = null")
        s.execute("update files set readers = 'an earlier version' where source_file "
                  "like 'access_logs/%' or source_file like 'directory/%' or source_file = ?",
                  [gone.relative_to(folder).as_posix()])
        gone_rows = s.execute("select count(*) from rows_sign_in_events where sha256 = ("
                              "select sha256 from files where source_file = ?)",
                              [gone.relative_to(folder).as_posix()]).fetchone()[0]
    assert gone_rows > 0
    gone.unlink()
    again, files = _build(folder, SAMPLE_AS_OF, store)
    assert SUMMARIES[-1].read_again == 3  # the access log and both AD exports
    assert sorted(f.source_file for f in files if READ_AGAIN in (f.note or "")) == [
        "access_logs/application_access_001.csv", "directory/ad_users_ps51.csv",
        "directory/ad_users_ps7.csv"]
    assert _findings(again) == _findings(scratch)
    assert len(_findings(again, ACTIVITY_RULES)) > 0
    with duckdb.connect(str(store), read_only=True) as s:
        assert s.execute("select count(*) from rows_sign_in_events where sha256 = ("
                         "select sha256 from files where source_file = ?)",
                         [gone.relative_to(folder).as_posix()]).fetchone()[0] == gone_rows
        assert s.execute("select readers from files where source_file = ?",
                         [gone.relative_to(folder).as_posix()]).fetchone() == (
            "an earlier version",)
    _kept_latest(store)  # the kept latest successes are those of the stored events


def _checked_run(folder: Path, store: Path, as_of: dt.date, warehouse: Path) -> None:
    """A review's ingest into `store`, refused as the flow refuses it (an export that says
    it is incomplete, a source missing) before the run commits; else committed."""
    from ccreview.flows.access_review import check_incomplete_exports

    with duckdb.connect(str(warehouse)) as con:
        ingest_with_store(folder, con, store, as_of, ReviewConfig())
        validate_ingested(con)
    check_incomplete_exports(str(warehouse))
    with duckdb.connect(str(warehouse)) as con:
        commit_run(con, store, as_of, ReviewConfig())


def test_a_new_sign_in_export_missing_its_last_page_is_refused_beside_stored_ones(
        tmp_path):
    """Sign-in pages are judged in the folder: last week's complete Graph pages, kept in
    the store after they left the folder, must not hide that this week's export is a
    first page alone (its older sign-ins missing; people who signed in only then would
    be listed as dormant)."""
    from ccreview.core.errors import UsageError

    store, folder = _store_and_folder(tmp_path)
    for kind in ("applications", "docusign"):  # a review's folder: nothing else is missing
        shutil.copytree(SAMPLE / kind, folder / kind)
    graph = "https://graph.microsoft.com/v1.0"

    def page(name: str, day: int, follows: bool) -> None:
        body = {"@odata.context": f"{graph}/$metadata#auditLogs/signIns",
                "value": [{"id": f"req-{name}", "createdDateTime": f"2026-10-{day:02d}T08:00Z",
                           "userPrincipalName": "someone@cc.example.org",
                           "appDisplayName": "Cerner Millennium",
                           "status": {"errorCode": 0}}]}
        if follows:
            body["@odata.nextLink"] = f"{graph}/auditLogs/signIns?$skiptoken={name}"
        (folder / "signins").mkdir(exist_ok=True)
        (folder / "signins" / f"{name}.json").write_text(json.dumps(body))

    def run(as_of: dt.date) -> None:
        _checked_run(folder, store, as_of, tmp_path / f"w-{as_of}.duckdb")

    page("week1_page1", 20, follows=True)
    page("week1_page2", 18, follows=False)
    run(SAMPLE_AS_OF)  # complete
    for old in (folder / "signins").iterdir():
        old.unlink()
    page("week2_page1", 30, follows=True)
    with pytest.raises(UsageError, match=r"Entra ID sign-ins: each of the 1 Graph page"):
        run(SAMPLE_AS_OF + dt.timedelta(days=7))


def test_a_source_left_out_of_the_folder_is_taken_from_the_store_or_refused(tmp_path):
    """A later run's folder without the Cerner list reviews the list the store holds (the
    snapshot of the last run): nothing is missing. The same folder into a new store, with
    no list of Cerner anywhere, is refused: every Cerner request would be reviewed as not
    provisioned."""
    from ccreview.core.errors import UsageError

    folder = tmp_path / "in"
    shutil.copytree(SAMPLE, folder, ignore=shutil.ignore_patterns("expected_*"))

    def run(store: Path, as_of: dt.date) -> None:
        _checked_run(folder, store, as_of, tmp_path / f"w-{store.stem}-{as_of}.duckdb")

    run(tmp_path / "evidence.duckdb", SAMPLE_AS_OF)
    (folder / "applications" / "cerner_users.csv").unlink()
    run(tmp_path / "evidence.duckdb", SAMPLE_AS_OF + dt.timedelta(days=7))
    with pytest.raises(UsageError, match=r"^No CERNER account is among the inputs"):
        run(tmp_path / "new.duckdb", SAMPLE_AS_OF + dt.timedelta(days=7))


def test_a_file_wholly_quarantined_is_judged_in_the_folder_not_from_the_store(tmp_path):
    """An AD export whose every row is quarantined (its dates in a format no culture
    reads) is refused while in the folder. A run that took it anyway (--accept-shrink)
    leaves it in the store as part of the directory snapshot; a later folder with no
    directory export, which the store stands in for, is not refused for it: the refusal
    said to fix the file or take it out, and there is no folder file to act on."""
    import re

    from ccreview.contracts.completeness import incomplete_export

    folder = tmp_path / "in"
    shutil.copytree(SAMPLE, folder, ignore=shutil.ignore_patterns("expected_*"))
    ps7 = folder / "directory" / "ad_users_ps7.csv"
    ps7.write_text(re.sub(r"(\d{1,2})/(\d{1,2})/(\d{4}) (\d{1,2}:\d{2}:\d{2}) [AP]M",
                          r"\2.\1.\3 \4", ps7.read_text(encoding="utf-8")), encoding="utf-8")
    store = tmp_path / "evidence.duckdb"
    first, _ = _build(folder, SAMPLE_AS_OF, store)  # committed, as with --accept-shrink
    assert re.match(r"directory/ad_users_ps7\.csv: every one of its 124 rows was "
                    r"quarantined", incomplete_export(first) or "")
    shutil.rmtree(folder / "directory")
    later, files = _build(folder, SAMPLE_AS_OF + dt.timedelta(days=7), store)
    assert sorted(f.source_file.split(" [")[0] for f in files if f.status == "from store"
                  and f.source_file.startswith("directory/")) == \
        ["directory/ad_users_ps51.csv", "directory/ad_users_ps7.csv"]
    assert incomplete_export(later) is None


def test_an_export_the_store_stands_in_for_is_named_once_it_is_old(tmp_path):
    """A later review whose folder lacks the Cerner list reviews the list the store kept,
    which is right for a day or two, and misleading months later: the accounts are as they
    were when that run read them. Past `evidence_age_days` (14) the review notes name the
    stored file and its as-of; inside it, or with the list in the folder, nothing."""
    store = tmp_path / "evidence.duckdb"
    first, later = tmp_path / "first", tmp_path / "later"
    shutil.copytree(SAMPLE, first)
    shutil.copytree(SAMPLE, later)
    (later / "applications" / "cerner_users.csv").unlink()
    _build(first, SAMPLE_AS_OF, store)

    def notes(as_of: dt.date, folder: Path = later) -> list:
        con, _ = _build(folder, as_of, store)
        return con.execute("select subject, reference, detail from review_notes "
                           "where note = 'export taken from the evidence store'").fetchall()

    assert notes(SAMPLE_AS_OF + dt.timedelta(days=14)) == []
    (subject, reference, detail), = notes(SAMPLE_AS_OF + dt.timedelta(days=15))
    assert subject.startswith("applications/cerner_users.csv [evidence store ")
    assert reference == "2026-11-01"
    assert "15 days before this review" in detail
    assert notes(SAMPLE_AS_OF + dt.timedelta(days=60), first) == []  # the folder has it
