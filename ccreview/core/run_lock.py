"""One run at a time per output folder.

A run holds an exclusive lock on `<out>/.ccreview.lock` (an OS file lock, so it ends with
the process however the process ends: a lock left by a dead run is simply taken over) and
writes into the file who holds it: process id, flow, start time. A second run waits up to
`wait_seconds` for it, then stops with a usage error naming the holder. The lock is
re-entrant within a process: the command line takes it before Prefect starts, and the
flow, which a deployment may also start, takes it again without waiting on itself.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from ccreview.core.errors import UsageError

LOCK_FILE = ".ccreview.lock"
DEFAULT_WAIT_SECONDS = 60.0
_held: dict[Path, int] = {}  # lock path -> depth, in this process


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "another run"
    return (f"{info.get('flow', 'a run')} (pid {info.get('pid', '?')} on "
            f"{info.get('host', '?')}, started {info.get('started', '?')})")


@contextlib.contextmanager
def holding(out: Path, flow: str, wait_seconds: float | None = None,
            label: str | None = None) -> Iterator[None]:
    """Hold `out`'s run lock for the block (creating `out` if needed); `label` names what
    is busy in the error (default: `--out <folder>`)."""
    out.mkdir(parents=True, exist_ok=True)
    path = (out / LOCK_FILE).resolve()
    if path in _held:
        _held[path] += 1
        try:
            yield
        finally:
            _held[path] -= 1
        return
    wait = DEFAULT_WAIT_SECONDS if wait_seconds is None else wait_seconds
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise UsageError(
                        f"{label or f'--out {out}'}: in use by {_holder(path)}; waited "
                        f"{wait:g} s. Run "
                        "again when it has finished (or give --wait SECONDS)") from None
                time.sleep(0.2)
        info = {"pid": os.getpid(), "flow": flow, "host": socket.gethostname(),
                "started": dt.datetime.now().astimezone().isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        _held[path] = 1
        try:
            yield
        finally:
            del _held[path]
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
