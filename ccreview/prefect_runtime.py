"""How a run reaches Prefect: settings fixed before Prefect is imported, and one API
server per run that cannot outlive the run.

Prefect reads its settings once, when it is first imported, so `configure()` must run
before anything imports `prefect` (the command line calls it at import time). Without
`PREFECT_API_URL` a run starts its own temporary server: in the main thread, one start-up
at a time per Prefect home (the server creates and migrates its SQLite database on start,
which two runs must not do at once), and with the parent-death signal set, so that a
killed run does not leave its server behind. When Prefect cannot be reached the run
stops with one line saying why and what to do.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

# local-use defaults; the environment (or a Prefect profile) overrides them
DEFAULTS = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # a loaded machine needs more than Prefect's 20 s to start the temporary server
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "PREFECT_LOGGING_LEVEL": "INFO",
}


class PrefectUnavailable(Exception):
    """Prefect's API could not be reached; the message says why and what to do."""


def configure() -> None:
    """Set the local-use defaults in the environment, before Prefect is imported."""
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)


def _die_with_parent() -> None:  # runs in the server's process, between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@contextlib.contextmanager
def _children_die_with_us() -> Iterator[None]:
    """Processes started in this block get SIGTERM when this thread ends (Linux)."""
    if not sys.platform.startswith("linux"):
        yield
        return
    real = subprocess.Popen

    def popen(*args, **kwargs):
        kwargs.setdefault("preexec_fn", _die_with_parent)
        return real(*args, **kwargs)

    subprocess.Popen = popen  # type: ignore[misc]
    try:
        yield
    finally:
        subprocess.Popen = real  # type: ignore[misc]


@contextlib.contextmanager
def _one_start_at_a_time(home: Path) -> Iterator[None]:
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".ccreview-server-start.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _healthy(api_url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{api_url.rstrip('/')}/health", timeout=10).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def prefect_api() -> Iterator[str]:
    """The API this run talks to: `PREFECT_API_URL` when set (checked first), else a
    temporary server started here and stopped on the way out. Yields its URL."""
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    settings = get_current_settings()
    if settings.api.url:
        if not _healthy(settings.api.url):
            raise PrefectUnavailable(
                f"the Prefect server at PREFECT_API_URL ({settings.api.url}) does not "
                "answer: start it (`prefect server start`) or unset PREFECT_API_URL to use "
                "a temporary one")
        yield settings.api.url
        return
    from prefect.server.api.server import SubprocessASGIServer

    timeout = settings.server.ephemeral.startup_timeout_seconds
    server = SubprocessASGIServer()
    with _one_start_at_a_time(Path(settings.home)), _children_die_with_us():
        try:
            server.start(timeout=timeout)
        except Exception:  # its message carries the server's output, not ours to show
            server.stop()
            raise PrefectUnavailable(
                f"the temporary Prefect server did not start within {timeout} s (is the "
                "machine very busy?): set PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS "
                "higher, or run `prefect server start` and set PREFECT_API_URL") from None
    previous = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = server.api_url  # for worker processes
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            yield server.api_url
    finally:
        _drain()  # send the run's last logs and events while the server still listens
        if previous is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = previous
        server.stop()


def _drain() -> None:
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for service in (APILogWorker, EventsWorker):
        with contextlib.suppress(Exception):  # best effort: the run's own work is done
            service.drain_all(timeout=10)
