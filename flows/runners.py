"""The task runner the report stage renders on: the same tasks run one at a time, on
threads, in a local process pool, or on a Dask cluster (prefect-dask) — chosen per run.

- `auto` (default, resolved by `resolve_runner`): `process` from 500 groups up, else
  `sequential`; the daily census, whose workbooks are small, `process` from 20,000 groups,
  `thread` from 2,000 (its census workbooks shared with a helper process of their own, the
  distribution list written meanwhile), else `sequential`.
- `process`: a pool of `workers` processes on this machine; rendering is CPU-bound
  Python (xlsx), so processes, not threads, give parallelism.
- `dask`: a `DaskTaskRunner`; with `CCREVIEW_DASK_ADDRESS` (e.g. tcp://scheduler:8786) it
  joins that cluster, otherwise it starts a local one with `workers` single-threaded
  processes. The workers must see the same folders (shared storage).
- `thread`: a thread pool (no start-up cost; little parallelism under the GIL).
- `sequential`: the tasks one after the other in the flow's process.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ccreview.core.errors import UsageError
from ccreview.core.processes import drain_prefect, leave_now

if TYPE_CHECKING:  # prefect loads in about a second: not for `ccreview --help`
    from prefect.task_runners import TaskRunner

RUNNERS = ("process", "dask", "thread", "sequential")
# `auto`: below this many groups a process pool's start-up (a few seconds per worker)
# costs more than the rendering it would share out (measured: see ARCHITECTURE.md)
AUTO_PROCESS_POOL_GROUPS = 500
# the census alone: its report stage at 1,000 groups took 3.5 s sequential and 9.0 s on a
# pool of two (the pool's start and stop cost about 9 s); at 10,000, 36.2 s and 27.2 s with
# xlsxwriter, 16.5 s and 19.0 s since its workbooks are written directly (xlsx_direct)
AUTO_PROCESS_POOL_GROUPS_CENSUS = 20_000
# below that, from this many groups (about as many census workbooks: see
# reports/r2w.py CENSUS_HELPER_BOOKS), two threads: the census task and its helper process,
# and the distribution list beside them (at 10,000 groups, the two written one after the
# other 10.4-11.9 s, side by side 9.2-9.8 s)
AUTO_THREADS_GROUPS_CENSUS = 2_000


def resolve_runner(kind: str, groups: int, units: int, census_only: bool = False) -> str:
    """`auto` -> process pool for a large review, sequential for a small one, threads for
    a daily census of 2,000 groups or more; a single render task never needs a pool."""
    if units <= 1:
        return "sequential"
    if kind == "auto":
        threshold = AUTO_PROCESS_POOL_GROUPS_CENSUS if census_only else \
            AUTO_PROCESS_POOL_GROUPS
        if groups >= threshold:
            return "process"
        return "thread" if census_only and groups >= AUTO_THREADS_GROUPS_CENSUS \
            else "sequential"
    return kind


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def make_task_runner(kind: str, workers: int) -> TaskRunner:
    from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

    if kind == "process":
        return ProcessPoolTaskRunner(max_workers=workers, initializer=exit_promptly)
    if kind == "thread":
        return ThreadPoolTaskRunner(max_workers=workers)
    if kind == "sequential":
        return ThreadPoolTaskRunner(max_workers=1)
    if kind == "dask":
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError:
            raise UsageError("the dask task runner needs prefect-dask: "
                             "pip install prefect-dask") from None
        address = os.environ.get("CCREVIEW_DASK_ADDRESS")
        if address:
            return DaskTaskRunner(address=address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1,
                                              "processes": True, "dashboard_address": None})
    raise UsageError(f"unknown task runner {kind!r}: choose one of {', '.join(RUNNERS)}")


def exit_promptly() -> None:
    """A process pool worker's initializer: when the pool shuts down, the worker leaves
    without Python's teardown of the modules it loaded (Prefect, pandas, DuckDB, the report
    code), which took 0.5-0.7 s per pool of two (`core.processes.exit_at_once`). What the
    run needs from a worker is already out by then: each task's result, its Prefect events
    (Prefect waits for them after every task) and logs (put on the pool's queue as they
    are written), and the queue itself flushed by multiprocessing before any exit handler
    runs. Exit handlers run last-registered first, so `_leave_now` runs before Prefect's
    (registered when the worker imported Prefect, before this initializer): it hands
    Prefect's event and log workers anything left (`core.processes.drain_prefect`), then
    ends the process."""
    atexit.register(_leave_now)


def _leave_now() -> None:
    drain_prefect()
    leave_now()


@contextlib.contextmanager
def stopping_meanwhile(runner: TaskRunner | None) -> Iterator[None]:
    """Stop `runner` in a background thread while the block runs; wait for it at the end:
    the run records its evidence and puts its files in place meanwhile (a process pool's
    workers leave at once, `exit_promptly`; a Dask cluster takes longer). The workers'
    last events still reach the server: the block ends first."""
    if runner is None:
        yield
        return
    stopping = threading.Thread(target=runner.__exit__, args=(None, None, None),
                                name="ccreview-report-pool-stop")
    stopping.start()
    try:
        yield
    finally:
        stopping.join()
