"""How a run reaches Prefect: settings fixed before Prefect is imported, and one API
server per run that cannot outlive the run.

Prefect reads its settings once, when it is first imported, so `configure()` must run
before anything imports `prefect` (the command line calls it at import time). Without
`PREFECT_API_URL` a run starts its own temporary server (`TemporaryServer`): as soon as
the command line's checks pass, so that it starts while the run's modules load; one
start-up at a time per Prefect home (the server creates and migrates its SQLite database
on start, which two runs must not do at once); with the parent-death signal set, so that
a killed run does not leave its server behind. When Prefect cannot be reached the run
stops with one line saying why and what to do.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from ccreview.core.processes import die_with_parent, drain_prefect

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


def _prefect_home() -> Path:
    """PREFECT_HOME as Prefect resolves it, without importing Prefect."""
    return Path(os.environ.get("PREFECT_HOME") or "~/.prefect").expanduser()


def _api_url_configured() -> bool:
    """Whether a Prefect API URL is set, in the environment or (without importing Prefect,
    a cheap look) in the profiles file; when in doubt, yes: nothing is started early."""
    if os.environ.get("PREFECT_API_URL"):
        return True
    profiles = Path(os.environ.get("PREFECT_PROFILES_PATH")
                    or _prefect_home() / "profiles.toml")
    try:
        return "PREFECT_API_URL" in profiles.read_text(encoding="utf-8")
    except FileNotFoundError:
        return False
    except OSError:
        return True


class TemporaryServer:
    """Prefect's API server for one run, as Prefect's own temporary server runs it
    (uvicorn on 127.0.0.1 with the server app's factory, UI off), but spawned without
    importing Prefect's server package into this process (about 3 s) and as early as the
    command line knows it will run a flow, so that its start-up (about 4 to 8 s) overlaps
    this process's own imports and checks. One start at a time per Prefect home: the
    server creates and migrates its SQLite database as it starts."""

    EXIT_PORT_TAKEN = 3  # uvicorn's exit status when the port is in use

    def __init__(self) -> None:
        self.port = 0
        self.process: subprocess.Popen | None = None
        self._lock = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def spawn(self) -> None:
        if self._lock is None:
            home = _prefect_home()
            home.mkdir(parents=True, exist_ok=True)
            self._lock = open(home / ".ccreview-server-start.lock", "a")  # noqa: SIM115
            fcntl.flock(self._lock, fcntl.LOCK_EX)
        self.port = _free_port()
        import importlib.util

        spec = importlib.util.find_spec("prefect")
        if spec is None or not spec.submodule_search_locations:
            raise PrefectUnavailable("Prefect is not installed")
        package = Path(list(spec.submodule_search_locations)[0])
        env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
               "PREFECT__SERVER_FINAL": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--app-dir", str(package.parent), "--factory",
             "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port",
             str(self.port), "--log-level", "error", "--lifespan", "on"],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent())

    def wait_until_healthy(self, timeout: float) -> None:
        """Wait for the server to answer (respawning on another port if this one was
        taken); release the start lock. Raises PrefectUnavailable after `timeout` s."""
        import time
        import urllib.error
        import urllib.request

        try:
            if self.process is None:
                self.spawn()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.process.poll() == self.EXIT_PORT_TAKEN:
                    self.spawn()
                elif self.process.poll() is not None:
                    break
                try:
                    with urllib.request.urlopen(f"{self.api_url}/health", timeout=5) as r:
                        if r.status == 200:
                            return
                except (urllib.error.URLError, OSError):
                    pass
                time.sleep(0.1)
            self.stop()
            raise PrefectUnavailable(
                f"the temporary Prefect server did not start within {timeout:g} s (is the "
                "machine very busy?): set PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS "
                "higher, or run `prefect server start` and set PREFECT_API_URL")
        finally:
            self._release()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        self._release()

    def _release(self) -> None:
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None


def _free_port() -> int:
    import socket

    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_early: TemporaryServer | None = None


def start_server_early() -> None:
    """Start the run's temporary server now (when no API URL is configured), to be
    picked up by `prefect_api()`; it stops with this process at the latest."""
    global _early
    if _early is None and not _api_url_configured():
        import atexit

        _early = TemporaryServer()
        _early.spawn()
        atexit.register(_early.stop)


def _healthy(api_url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{api_url.rstrip('/')}/health", timeout=10).status_code == 200
    except httpx.HTTPError:
        return False


def stop_server_early() -> None:
    """Stop the server `start_server_early` started (a check after it refused the run),
    releasing the start lock now rather than when the process ends: a process that calls
    the command line again (a test, a script) would otherwise wait on its own lock."""
    global _early
    server, _early = _early, None
    if server is not None:
        server.stop()


@contextlib.contextmanager
def prefect_api() -> Iterator[str]:
    """The API this run talks to: `PREFECT_API_URL` when set (checked first), else a
    temporary server (the one `start_server_early` started, or one started here) stopped
    on the way out. Yields its URL."""
    global _early
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        get_current_settings,
        temporary_settings,
    )

    settings = get_current_settings()
    server, _early = _early, None
    if settings.api.url:
        if server is not None:
            server.stop()  # a profile named a server after all
        if not _healthy(settings.api.url):
            raise PrefectUnavailable(
                f"the Prefect server at PREFECT_API_URL ({settings.api.url}) does not "
                "answer: start it (`prefect server start`) or unset PREFECT_API_URL to use "
                "a temporary one")
        yield settings.api.url
        return
    server = server or TemporaryServer()
    server.wait_until_healthy(settings.server.ephemeral.startup_timeout_seconds)
    from prefect.context import refresh_global_settings_context

    previous = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = server.api_url  # for worker processes
    # and for threads Prefect starts without this context: the process pool's message
    # forwarder, finding no API URL, imported Prefect's server package and started a
    # second temporary server in the middle of the report stage (seconds of CPU), to
    # which it sent the workers' events
    refresh_global_settings_context()
    try:
        # no flow-run heartbeats: they let a long-lived server notice a crashed run, and
        # this server stops with the run (the engine's wait for its heartbeat thread cost
        # up to a second at the end of every run)
        with temporary_settings(updates={PREFECT_API_URL: server.api_url,
                                         PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            yield server.api_url
    finally:
        drain_prefect()  # send the run's last logs and events while the server still listens
        if previous is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = previous
        refresh_global_settings_context()
        server.stop()


