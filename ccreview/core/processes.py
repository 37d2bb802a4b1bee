"""Helper processes that must not outlive the run that started them (the temporary
Prefect server, the Data Docs builder): on Linux each gets the parent-death signal, so a
run killed with SIGKILL takes them with it. And helpers that must not keep the run waiting
as they end (`exit_at_once`)."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Callable


def _die_with_parent() -> None:  # runs in the child, between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _die_with_parent_yielding() -> None:
    _die_with_parent()
    os.nice(BACKGROUND_NICENESS)


# a background helper's priority: it takes the cores the run leaves idle, never the run's
BACKGROUND_NICENESS = 10


def die_with_parent(background: bool = False) -> Callable[[], None] | None:
    """`preexec_fn` for `subprocess.Popen`: the child gets SIGTERM when this process dies
    (and, `background`, a lower priority than the run's own work)."""
    if not sys.platform.startswith("linux"):
        return None
    return _die_with_parent_yielding if background else _die_with_parent


def exit_at_once() -> None:
    """An initializer for a pool worker whose work is files it wrote and results it
    returned: at shutdown it leaves without Python's teardown of what it imported (0.5 to
    1 s with pandas, DuckDB, Prefect or Great Expectations), which its pool's owner would
    wait for. Its results are out by then (multiprocessing flushes its queues before any
    exit handler runs). Exit handlers run last-registered first: this one runs before
    those registered when the worker started and ends the process, skipping them (and
    runs after any a later import registers)."""
    atexit.register(leave_now)


def leave_now(code: int = 0) -> None:
    """End this process now, its standard streams flushed, without the interpreter's
    teardown (every file it wrote is closed)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def drain_prefect() -> None:
    """Hand Prefect's log and event workers everything queued (best effort, 10 s each):
    before a temporary server stops, or a pool worker ends without Python's teardown."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for service in (APILogWorker, EventsWorker):
        with contextlib.suppress(Exception):  # best effort: the run's own work is done
            service.drain_all(timeout=10)
