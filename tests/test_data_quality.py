"""The data-quality expectations are judged in DuckDB, where the data is; Great
Expectations judges the same frames in its own process while it builds the Data Docs, and
the run stops rather than publish two different verdicts. These cases, written by hand,
put each kind of expectation on both sides of its line — duplicates, nulls, an empty
table, `mostly` exactly at its threshold — so that any difference in the rules shows."""

from __future__ import annotations

import os
import time

import duckdb
import pytest

from ccreview.contracts.expectations import (
    SUITE_KINDS,
    DataDocsBuild,
    DataDocsError,
    data_docs_paths,
    measure_expectations,
    run_expectations,
)
from ccreview.contracts.store import RUN_READS
from tests.conftest import SAMPLE, SAMPLE_AS_OF, build_warehouse


def _verdicts(frame) -> dict[tuple[str, str], bool]:
    return {(r.suite, r.column_name): bool(r.success) for r in frame.itertuples()}


@pytest.fixture
def warehouse() -> duckdb.DuckDBPyConnection:
    """The sample's warehouse, its accepted rows copied into tables the cases can change
    (validation leaves views of the ingested rows)."""
    con = build_warehouse(SAMPLE, SAMPLE_AS_OF)
    views = [r[0] for r in con.execute(
        "select view_name from duckdb_views() where view_name like 'raw\\_%' escape '\\' "
        "and not internal").fetchall()]
    assert views
    for view in views:
        con.execute(f"create table _copy as select * from {view}")
        con.execute(f"drop view {view}")
        con.execute(f"alter table _copy rename to {view}")
    return con


def _adt(con: duckdb.DuckDBPyConnection, rows: int, duplicated_pairs: int) -> None:
    """raw_adt_events with `rows` messages of which `duplicated_pairs` pairs share an ID."""
    con.execute("create or replace table raw_adt_events as "
                "select * from raw_adt_events limit 0")
    for i in range(rows):
        control = f"dup{i // 2}" if i < 2 * duplicated_pairs else f"m{i}"
        con.execute("insert into raw_adt_events (message_control_id, message_at) "
                    "values (?, timestamp '2026-10-31 12:00:00')", [control])


SCENARIOS = {
    # each: SQL (or a function) breaking the sample, and the verdicts it must give
    "duplicates, nulls and an empty column": (
        [
            # a LAN ID twice; a null one (nulls are not duplicates)
            "insert into raw_directory_accounts select * from raw_directory_accounts "
            "limit 1",
            "update raw_directory_accounts set user_principal_name = null "
            "where rowid in (select rowid from raw_directory_accounts limit 3)",
            # no successful sign-in at all: the max is empty, and fails
            "update raw_entra_users set last_successful_sign_in_at = null",
            # the same (application, username) twice, one of them null in both columns
            "insert into raw_application_accounts select * from raw_application_accounts "
            "limit 1",
            "insert into raw_application_accounts (application, username) "
            "values (null, null), (null, null)",
        ],
        {("directory_accounts", "sam_account_name"): False,
         ("directory_accounts", "upn"): True,
         ("entra_users", "last_successful_sign_in_at"): False,
         ("application_accounts", "application, username"): False}),
    "an empty table": (
        ["delete from raw_adt_events"],
        {("adt_events", "message_control_id"): True,  # no values: met
         ("adt_events", "message_at"): False}),  # no latest message: not current
    "mostly exactly at 90%": (
        lambda con: _adt(con, 20, 1),  # 18 of 20 unique: 0.9
        {("adt_events", "message_control_id"): True}),
    "mostly just below 90%": (
        lambda con: _adt(con, 10, 1),  # 8 of 10: 0.8
        {("adt_events", "message_control_id"): False}),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_duckdb_and_great_expectations_judge_alike(warehouse, tmp_path, name):
    change, expected = SCENARIOS[name]
    if callable(change):
        change(warehouse)
    else:
        for sql in change:
            warehouse.execute(sql)
    docs = tmp_path / "data_quality"
    measured = run_expectations(warehouse, SAMPLE_AS_OF, docs)  # raises if they differ
    verdicts = _verdicts(measured)
    assert {k: verdicts[k] for k in expected} == expected
    assert (docs / "index.html").is_file()
    assert not any(p.exists() for p in data_docs_paths(docs))  # frames and staging gone


@pytest.mark.parametrize("run, unread", [("census", {"sign_in_events"}),
                                         ("dormant", {"daa_envelopes", "adt_events"})])
def test_a_run_judges_only_the_tables_it_reads(warehouse, tmp_path, run, unread):
    """The daily census reads no sign-in export and the dormant run no DocuSign or ADT
    file, so those suites' frames are empty: "the export is current" was not met on every
    such run, an alarm about nothing. They are not judged; Great Expectations agrees on
    the rest and the Data Docs are built without them."""
    for suite in unread:  # what such a run leaves of the kinds it does not read
        warehouse.execute(f"delete from raw_{suite}")
    docs = tmp_path / "data_quality"
    measured = run_expectations(warehouse, SAMPLE_AS_OF, docs, reads=RUN_READS[run])
    assert set(measured["suite"]) == set(SUITE_KINDS) - unread
    assert measured["success"].all()
    assert {s for (s,) in warehouse.execute("select suite from data_quality_not_judged"
                                            ).fetchall()} == unread
    assert (docs / "index.html").is_file()
    # a review reads every kind: the same empty tables are judged, and not current
    review = measure_expectations(warehouse, SAMPLE_AS_OF)
    assert set(review.loc[~review["success"], "suite"]) == unread


def test_a_disagreement_stops_the_run_rather_than_publish_both(warehouse, tmp_path):
    docs = tmp_path / "data_quality"
    build = run_expectations(warehouse, SAMPLE_AS_OF, docs, wait=False)
    build.measured.loc[0, "success"] = not build.measured.loc[0, "success"]
    with pytest.raises(DataDocsError, match="disagree on 2 expectation results"):
        build.finish()
    assert not docs.exists()


def test_the_same_review_gives_the_same_data_docs(warehouse, tmp_path):
    """Great Expectations writes the batch's load time (the clock) and a random id into
    every validation page; they are taken out, so two builds of one review are the same
    files byte for byte (the pages name the review's date, not when they were built)."""
    sites = []
    for name in ("first", "second"):
        run_expectations(warehouse, SAMPLE_AS_OF, tmp_path / name)
        sites.append({p.relative_to(tmp_path / name): p.read_bytes()
                      for p in sorted((tmp_path / name).rglob("*")) if p.is_file()})
    assert len([p for p in sites[0] if p.suffix == ".html"]) > 5
    assert sites[0] == sites[1]
    assert not any(b"ge_load_time" in body for body in sites[0].values())


def test_a_builder_that_fails_says_so_and_publishes_nothing(warehouse, tmp_path):
    """The builder leaves without Python's teardown once its result file is written: a
    build that fails still reaches the run as a failure (its exit status and the error's
    class, never a message that could quote data), and no Data Docs are published."""
    docs = tmp_path / "data_quality"
    build = DataDocsBuild.start(docs, SAMPLE_AS_OF)
    frames, _ = data_docs_paths(docs)
    measured = measure_expectations(warehouse, SAMPLE_AS_OF, frames)
    (frames / "enrollment_people.parquet").write_bytes(b"not a parquet file")
    build.go(measured)
    with pytest.raises(DataDocsError, match=r"the Data Docs builder failed \(\w+\)$"):
        build.finish()
    assert build.process.returncode == 1
    assert not docs.exists() and not any(p.exists() for p in data_docs_paths(docs))


def test_the_builder_started_early_waits_for_the_frames(warehouse, tmp_path):
    """A run starts its builder before reading its inputs (Great Expectations' import then
    overlaps them); the builder does nothing until told the frames are there, and a run
    that stops first (an unchanged rerun, a failed stage) leaves no process and no file."""
    import time

    docs = tmp_path / "data_quality"
    early = DataDocsBuild.start(docs, SAMPLE_AS_OF)
    time.sleep(8)  # long enough to import Great Expectations and reach the wait
    assert early.process.poll() is None  # still waiting
    assert not any(p.exists() for p in data_docs_paths(docs))
    measured = run_expectations(warehouse, SAMPLE_AS_OF, docs, build=early)
    assert len(measured) == 19 and (docs / "index.html").is_file()
    assert early.process.poll() is not None

    stopped = DataDocsBuild.start(tmp_path / "stopped", SAMPLE_AS_OF)
    stopped.cancel()
    assert stopped.process.poll() is not None
    assert not any(p.exists() for p in data_docs_paths(tmp_path / "stopped"))
    never_told = DataDocsBuild.start(tmp_path / "never", SAMPLE_AS_OF)
    never_told.process.stdin.close()  # the run ended without a data-quality stage
    assert never_told.process.wait(120) == 0
    assert not any(p.exists() for p in data_docs_paths(tmp_path / "never"))
    with pytest.raises(DataDocsError, match="never given the frames"):
        never_told.finish()
    other = DataDocsBuild.start(tmp_path / "other", SAMPLE_AS_OF)
    with pytest.raises(ValueError, match="another folder or date"):
        run_expectations(warehouse, SAMPLE_AS_OF, tmp_path / "elsewhere", build=other)
    assert other.process.poll() is not None


def test_the_command_line_s_early_builder_is_taken_by_the_run(warehouse, tmp_path):
    """The command line starts a builder before Prefect's server (it knows no folder or
    date yet); the run's build takes that process rather than start another, and a later
    build starts its own. Unused, it ends with the process that started it."""
    import subprocess
    import sys

    from ccreview.contracts import expectations

    expectations.start_builder_early()
    early = expectations._early
    assert early is not None and early.poll() is None
    expectations.start_builder_early()  # once per process
    assert expectations._early is early
    docs = tmp_path / "data_quality"
    build = DataDocsBuild.start(docs, SAMPLE_AS_OF)
    assert build.process is early and expectations._early is None
    measured = run_expectations(warehouse, SAMPLE_AS_OF, docs, build=build)
    assert len(measured) == 19 and (docs / "index.html").is_file()
    later = DataDocsBuild.start(tmp_path / "later", SAMPLE_AS_OF)
    assert later.process is not early
    later.cancel()

    probe = subprocess.run([sys.executable, "-c", (
        "from ccreview.contracts import expectations as e\n"
        "e.start_builder_early(); print(e._early.pid)")],
        capture_output=True, text=True, timeout=120, check=True)
    pid = int(probe.stdout)
    for _ in range(100):  # gone once its parent exited (killed at exit)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the unused early builder outlived its process")


def test_measuring_needs_no_great_expectations(warehouse):
    """The judging half imports nothing from Great Expectations (seconds of import): in a
    fresh interpreter, where nothing else could have imported it first."""
    import subprocess
    import sys

    frame = measure_expectations(warehouse, SAMPLE_AS_OF)
    assert len(frame) == 19 and frame["success"].all()
    probe = subprocess.run([sys.executable, "-c", (
        "import sys\n"
        "from tests.conftest import SAMPLE, SAMPLE_AS_OF, build_warehouse\n"
        "from ccreview.contracts.expectations import measure_expectations\n"
        "measure_expectations(build_warehouse(SAMPLE, SAMPLE_AS_OF), SAMPLE_AS_OF)\n"
        "print(sorted(m for m in sys.modules if m.startswith('great_expectations')))\n")],
        capture_output=True, text=True, check=True, cwd=str(SAMPLE.parent.parent))
    assert probe.stdout.strip() == "[]"
