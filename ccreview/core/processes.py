"""Helper processes that must not outlive the run that started them (the temporary
Prefect server, the Data Docs builder): on Linux each gets the parent-death signal, so a
run killed with SIGKILL takes them with it."""

from __future__ import annotations

import ctypes
import signal
import sys
from collections.abc import Callable


def _die_with_parent() -> None:  # runs in the child, between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def die_with_parent() -> Callable[[], None] | None:
    """`preexec_fn` for `subprocess.Popen`: the child gets SIGTERM when this process dies."""
    return _die_with_parent if sys.platform.startswith("linux") else None
