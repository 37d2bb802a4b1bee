"""A run that fails or is killed leaves the previous run's reports and history intact, and
the next run succeeds."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

import ccreview.flows.access_review as flow_module
from tests.conftest import SAMPLE

pytestmark = pytest.mark.flow
AS_OF = "2026-11-01"


def _snapshot(out: Path) -> dict[str, str]:
    """Hash of every finished file (hidden temporary files and folders are not reports; the
    evidence store keeps what a failed run read: evidence, not a report)."""
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(out).parts)
            and p.name not in ("history.duckdb", "history.duckdb.wal", "evidence.duckdb",
                               "evidence.duckdb.wal")}


def _history_runs(out: Path) -> int:
    con = duckdb.connect(str(out / "history.duckdb"), read_only=True)
    try:
        return con.execute("select count(*) from run_findings").fetchall()[0][0]
    finally:
        con.close()


@pytest.fixture(scope="module")
def reviewed(prefect_harness, tmp_path_factory):
    out = tmp_path_factory.mktemp("safety")
    flow_module.access_review(str(SAMPLE), str(out), AS_OF)
    return out


@pytest.mark.parametrize(("stage", "target", "attr"), [
    ("ingest", flow_module, "collect_with_store"),
    ("validate", flow_module, "validate_ingested"),
    ("data quality", "ccreview.contracts.expectations", "run_expectations"),
    ("transform", flow_module, "build_models"),
    ("report", flow_module, "write_review_reports"),
])
def test_a_failing_stage_changes_nothing_and_hides_its_message(reviewed, monkeypatch, stage,
                                                              target, attr):
    before, history = _snapshot(reviewed), _history_runs(reviewed)

    def boom(*args, **kwargs):
        raise ValueError("could not convert jane.doe@example.org")  # data in the message

    monkeypatch.setattr(target if not isinstance(target, str) else __import__(
        target, fromlist=[attr]), attr, boom)
    with pytest.raises(flow_module.StageError) as exc:
        flow_module.access_review(str(SAMPLE), str(reviewed), "2026-11-02")
    assert f"the {stage} stage failed" in str(exc.value)
    assert "jane.doe" not in str(exc.value)
    assert _snapshot(reviewed) == before
    assert _history_runs(reviewed) == history
    assert not [p for p in reviewed.rglob(".*.tmp")]


def test_a_report_failing_midway_rolls_the_history_back(reviewed, monkeypatch):
    history = _history_runs(reviewed)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    before = _snapshot(reviewed)
    monkeypatch.setattr(flow_module, "write_dormant_reports", disk_full)
    with pytest.raises(OSError):
        flow_module.access_review(str(SAMPLE), str(reviewed), "2026-11-03")
    assert _history_runs(reviewed) == history
    assert _snapshot(reviewed) == before  # the reports that were written stayed aside
    assert not [p for p in reviewed.rglob(".*.tmp")]  # no half-written file left behind
    monkeypatch.undo()
    flow_module.access_review(str(SAMPLE), str(reviewed), "2026-11-03")  # the next run works
    assert _history_runs(reviewed) > history


def test_a_killed_run_leaves_the_previous_reports_and_the_next_run_succeeds(tmp_path):
    reviewed = tmp_path / "out"
    cli = Path(sys.executable).parent / "ccreview"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    first = subprocess.run([str(cli), "review", "--input", str(SAMPLE), "--out",
                            str(reviewed), "--as-of", AS_OF], env=env, capture_output=True,
                           text=True, check=False)
    assert first.returncode == 0, first.stderr[-500:]
    before = _snapshot(reviewed)
    for delay in (4.0, 9.0):  # during start-up / ingest, then later in the run
        proc = subprocess.Popen([str(cli), "review", "--input", str(SAMPLE), "--out",
                                 str(reviewed), "--as-of", AS_OF], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        time.sleep(delay)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        after = _snapshot(reviewed)
        # every report is either the previous run's or this run's complete file
        assert set(after) == set(before)
        assert not [p for p in reviewed.rglob(".*.tmp")]
    result = subprocess.run([str(cli), "review", "--input", str(SAMPLE), "--out",
                             str(reviewed), "--as-of", AS_OF, "--force"], env=env,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-500:]
    assert "nothing changed" not in result.stdout.lower()  # recomputed, not found current
    # same inputs, same as-of: the same reports, byte for byte (Great Expectations' Data
    # Docs embed build metadata and a DuckDB file its own layout: checked to be there)
    def reports(snapshot):
        return {k: v for k, v in snapshot.items()
                if not k.startswith("data_quality") and k != "warehouse.duckdb"}

    assert reports(_snapshot(reviewed)) == reports(before)
    assert (reviewed / "warehouse.duckdb").exists()
    assert (reviewed / "data_quality" / "index.html").exists()
