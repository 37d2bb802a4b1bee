"""The report stage renders the same files whichever task runner it runs on: one at a
time, a local process pool, or a local Dask cluster (prefect-dask)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import multiprocessing
import re
import threading
import time
from pathlib import Path

import pytest

import ccreview.flows.access_review as flow_module
from ccreview.core import progress
from ccreview.flows.access_review import render_plan
from ccreview.flows.runners import (
    AUTO_PROCESS_POOL_GROUPS,
    make_task_runner,
    resolve_runner,
    stopping_meanwhile,
)
from tests.conftest import SAMPLE

AS_OF = "2026-11-01"


def test_the_plan_shards_the_per_group_and_per_provider_workbooks():
    plan = render_plan(("review", "dormant", "r2w", "census"), 3)
    assert [u for u in plan if u[0] == "attestation"] == [("attestation", i, 6) for i in range(6)]
    assert [u for u in plan if u[0] == "census"] == [("census", i, 6) for i in range(6)]
    assert plan[0] == ("review", 0, 1)  # the largest single task first
    assert [u for u in plan if u[0] in ("review", "dormant", "r2w")] == [
        ("review", 0, 1), ("dormant", 0, 1), ("r2w", 0, 1)]
    assert render_plan(("dormant",), 4) == [("dormant", 0, 1)]


def test_auto_uses_a_process_pool_only_where_it_pays():
    assert resolve_runner("auto", AUTO_PROCESS_POOL_GROUPS, 5) == "process"
    assert resolve_runner("auto", AUTO_PROCESS_POOL_GROUPS - 1, 5) == "sequential"
    assert resolve_runner("dask", 10, 5) == "dask"
    # the daily census's small workbooks: a pool pays only from 20,000 groups
    assert resolve_runner("auto", 1_000, 5, census_only=True) == "sequential"
    assert resolve_runner("auto", 2_000, 5, census_only=True) == "thread"
    assert resolve_runner("auto", 19_999, 5, census_only=True) == "thread"
    assert resolve_runner("auto", 20_000, 5, census_only=True) == "process"
    assert resolve_runner("process", 10_000, 1) == "sequential"  # one task: no pool


def test_an_unknown_runner_is_a_usage_error():
    from ccreview.core.errors import UsageError

    with pytest.raises(UsageError, match="unknown task runner"):
        make_task_runner("gpu", 2)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bars_only_on_a_terminal_and_only_when_asked(monkeypatch):
    for wanted, stream, drawn in (("1", _Terminal(), True), ("1", io.StringIO(), False),
                                  ("0", _Terminal(), False)):
        monkeypatch.setenv(progress.ENV, wanted)
        monkeypatch.setattr("sys.stderr", stream)
        with progress.progress_bar(3, "report", "task") as bar:
            for _ in range(3):
                bar.update()
        assert ("report: " in stream.getvalue()) is drawn, (wanted, type(stream))


def _reports(out: Path) -> dict[str, str]:
    skip = ("data_quality", "warehouse.duckdb", "history.duckdb", "run_manifest.json",
            "evidence.duckdb")
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file()
            and not str(p.relative_to(out)).startswith(skip)
            and not any(part.startswith(".") for part in p.relative_to(out).parts)}


@pytest.mark.flow
def test_every_runner_renders_the_same_files(prefect_harness, tmp_path, sample_warehouse):
    outputs = {}
    for runner in ("sequential", "process", "dask", "thread"):
        out = tmp_path / runner
        result = flow_module.access_review(str(SAMPLE), str(out), AS_OF, task_runner=runner,
                                           workers=2)
        assert result["findings_by_rule"]
        if runner == "process":  # its workers stopped while the run finished, and are gone
            assert not multiprocessing.active_children()
        outputs[runner] = _reports(out)
    assert len(outputs["sequential"]) > 50  # workbooks, census, attestation, CSVs
    assert outputs["process"] == outputs["sequential"]
    assert outputs["dask"] == outputs["sequential"]
    # render threads open the warehouse side by side in one process (its patient database
    # attached once: a second attach failed every thread run)
    assert outputs["thread"] == outputs["sequential"]
    # worker processes log through the same redaction: no patient data in what Prefect keeps
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        stored = "\n".join(log.message for log in client.read_logs())
    assert "wrote" in stored and "shard" in stored  # the workers' own lines are there
    # the process run started its pool early: a warm-up task on each of its two workers
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs()
    started = [r for r in runs if r.name.startswith("start report worker")]
    assert len(started) == 2 and all(r.state.is_completed() for r in started)
    # in the same run as the renders (when a worker marks its warm-up running depends on
    # its imports: the order of the two is not asserted)
    renders = [r for r in runs if r.name.startswith("render")
               and r.flow_run_id == started[0].flow_run_id]
    assert len(renders) == len(render_plan(flow_module.ALL_REPORTS, 2))
    assert {r.flow_run_id for r in started} == {renders[0].flow_run_id}
    # its workers leave without Python's teardown (`exit_promptly`): every render's final
    # state and every line a worker logged reached the server all the same
    assert all(r.state.is_completed() for r in renders)
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    with get_client(sync_client=True) as client:
        lines = [log.message for log in client.read_logs(log_filter=LogFilter(
            flow_run_id=LogFilterFlowRunId(any_=[renders[0].flow_run_id])), limit=200)]
    logged = [re.fullmatch(r"wrote \d+ (\w+) workbooks \(shard (\d+) of (\d+)\)", m)
              for m in lines]
    assert sorted((m[1], int(m[2]) - 1, int(m[3])) for m in logged if m) == sorted(
        u for u in render_plan(flow_module.ALL_REPORTS, 2) if u[2] > 1)
    # the patients, from the same inputs read again (the kept warehouse holds none)
    patients = sample_warehouse.execute("select patient_family_name, fin, mrn "
                                        "from raw_adt_events").fetchall()
    assert patients
    for values in patients:
        for v in values:
            assert v not in stored


def _warehouse_with_groups(path: Path, groups: int) -> str:
    import duckdb

    with duckdb.connect(str(path)) as con:
        con.execute("create table ingested_enrollment_submissions as select 'CS' || (i % ?) "
                    "as group_request_number from range(?) as t(i)", [groups, 3 * groups])
    return str(path)


@pytest.mark.parametrize(("reports", "runner", "workers", "groups", "pool"), [
    (flow_module.ALL_REPORTS, "auto", 2, AUTO_PROCESS_POOL_GROUPS, True),
    (flow_module.ALL_REPORTS, "auto", 2, AUTO_PROCESS_POOL_GROUPS - 1, False),
    (flow_module.ALL_REPORTS, "process", 2, 3, True),
    (flow_module.ALL_REPORTS, "process", 1, 3, False),
    (flow_module.ALL_REPORTS, "sequential", 2, 20_000, False),
    (flow_module.ALL_REPORTS, "dask", 2, 20_000, False),
    (("census",), "process", 2, 20_000, False),
    (("dormant",), "auto", 2, 20_000, False),
])
def test_the_report_pool_starts_only_when_it_will_be_used(prefect_harness, tmp_path, reports,
                                                          runner, workers, groups, pool):
    """The review's process pool is started as soon as the rows are in, so that its
    workers' start overlaps validation and the models: only for a review that will render
    on it (the groups counted as the models count them)."""
    warehouse = _warehouse_with_groups(tmp_path / "w.duckdb", groups)
    started = flow_module.start_render_pool(warehouse, reports, runner, workers)
    try:
        assert (started is not None) is pool
    finally:
        if started is not None:
            started.__exit__(None, None, None)


class _HeldStop:
    """The pool, whose stop waits until the block says it has started: were the block run
    only after the stop, the wait would time out and say so."""

    def __init__(self, pool) -> None:
        self.pool = pool
        self.block_started = threading.Event()
        self.stopped = threading.Event()
        self.waited_for_block = False

    def __exit__(self, *exc) -> None:
        self.waited_for_block = self.block_started.wait(timeout=20)
        self.pool.__exit__(*exc)
        self.stopped.set()


@pytest.mark.parametrize("fails", [False, True])
def test_the_pool_stops_while_the_run_finishes(prefect_harness, tmp_path, fails):
    """The report pool's workers are stopped while the block runs (they take about half a
    second to exit), and are gone when it ends, whether it succeeds or fails."""
    warehouse = _warehouse_with_groups(tmp_path / "w.duckdb", 3)
    pool = flow_module.start_render_pool(warehouse, flow_module.ALL_REPORTS, "process", 2)
    assert pool is not None
    # submit hands the task to Prefect's resolver thread: the workers come up soon after
    deadline = time.monotonic() + 60
    while not multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert multiprocessing.active_children()
    held = _HeldStop(pool)
    with contextlib.suppress(RuntimeError), stopping_meanwhile(held):
        held.block_started.set()
        if fails:
            raise RuntimeError("a failure after the report stage")
    assert held.waited_for_block  # the stop ran beside the block, not before it
    assert held.stopped.is_set()  # and the block's end waited for it
    assert not multiprocessing.active_children()
