"""One HTTP client for every source: JSON over https, retried the way the APIs ask.

- **Throttling** (429) waits the `Retry-After` the server sends (seconds or an HTTP date),
  else backs off exponentially; so do transient failures (500, 502, 503, 504, and a
  connection that drops or times out). After `MAX_ATTEMPTS` the pull stops with one line.
- **401/403** stop at once with one line naming what the source needs (the permission, the
  role), given by the caller: retrying cannot fix a missing permission.
- Nothing here logs or raises a URL's query, a header or a body: an error names the
  source, the status and what to do. Tokens live in this object only.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable
from typing import Any

import httpx

from ccreview.core.errors import UsageError
from ccreview.core.secrets import secret

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
MAX_WAIT_SECONDS = 300.0  # a Retry-After longer than this is cut to it
TRANSIENT = frozenset({500, 502, 503, 504})
TIMEOUT = httpx.Timeout(60.0, connect=15.0)


class PullError(UsageError):
    """A pull that cannot go on: unreachable, refused or retried out. One line, naming
    the source and what to do; never a URL's query, a token or a body."""


def source_secret(source: str, what: str, variable: str, block: str | None,
                  block_key: str) -> str:
    """A source's secret (`ccreview.core.secrets.secret`), or one line saying where to put
    it."""
    value = secret(variable, block, f"pull.{source}.{block_key}")
    if not value:
        raise PullError(f"{source}: no {what}: set {variable} (or {variable}_FILE), or name "
                        f"a Prefect Secret block in [pull.{source}] {block_key}")
    return value


class SourceClient:
    """GETs (and the token POST) against one source, with its retries and its token.

    `authenticate` returns the Authorization header value; it is called first and again
    once when a request answers 401 (an expired token), never more."""

    def __init__(self, source: str, authenticate: Callable[[SourceClient], str],
                 denied: dict[int, str], backoff_seconds: float = 1.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.source = source
        self.denied = denied
        self.backoff_seconds = backoff_seconds
        self._authenticate = authenticate
        self._authorization: str | None = None
        self.http = httpx.Client(timeout=TIMEOUT, transport=transport,
                                 headers={"Accept": "application/json",
                                          "User-Agent": "ccreview-pull"})
        self.requests = 0
        self.waited = 0.0

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> SourceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, url: str, params: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None) -> httpx.Response:
        """GET with the source's token; the response of a 2xx (raises `PullError`
        otherwise)."""
        renewed = False
        while True:
            if self._authorization is None:
                self._authorization = self._authenticate(self)
            response = self.send("GET", url, params=params,
                                 headers={**(headers or {}),
                                          "Authorization": self._authorization},
                                 what="a page")
            if response.status_code == 401 and not renewed:
                self._authorization = None  # the token expired mid-pull: one more try
                renewed = True
                continue
            self.check(response, "a page")
            return response

    def send(self, method: str, url: str, what: str, **kwargs: Any) -> httpx.Response:
        """One request, retried on 429 and transient failures; the last response (the
        caller checks its status) or `PullError` when the server could not be reached."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                response = self.http.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                if attempt == MAX_ATTEMPTS:
                    raise PullError(f"{self.source}: {self._host(url)} cannot be reached "
                                    f"({exc.__class__.__name__}) after {attempt} attempts"
                                    ) from None
                self._wait(attempt, None, f"{exc.__class__.__name__}")
                continue
            finally:
                self.requests += 1
            if response.status_code == 429 or response.status_code in TRANSIENT:
                if attempt == MAX_ATTEMPTS:
                    raise PullError(f"{self.source}: {what} still answered HTTP "
                                    f"{response.status_code} after {attempt} attempts; "
                                    "run the pull again later (it resumes where it "
                                    "stopped)")
                self._wait(attempt, response.headers.get("Retry-After"),
                           f"HTTP {response.status_code}")
                continue
            return response
        raise AssertionError("unreachable")

    def check(self, response: httpx.Response, what: str) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        if status in self.denied:
            raise PullError(f"{self.source}: HTTP {status} — {self.denied[status]}")
        raise PullError(f"{self.source}: {what} answered HTTP {status} "
                        f"({response.reason_phrase or 'error'})")

    def json(self, response: httpx.Response, what: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise PullError(f"{self.source}: {what} is not JSON (HTTP "
                            f"{response.status_code}, {response.headers.get('content-type')})"
                            ) from None

    def _wait(self, attempt: int, retry_after: str | None, why: str) -> None:
        seconds = _retry_after_seconds(retry_after)
        if seconds is None:  # exponential backoff with jitter: 1, 2, 4, 8 … times the base
            seconds = self.backoff_seconds * (2 ** (attempt - 1)) * (1 + random.random() / 4)
        seconds = min(seconds, MAX_WAIT_SECONDS)
        log.warning("%s: %s; retrying in %.1f s (attempt %d of %d)", self.source, why,
                    seconds, attempt + 1, MAX_ATTEMPTS)
        self.waited += seconds
        time.sleep(seconds)

    @staticmethod
    def _host(url: str) -> str:
        return httpx.URL(url).host or "the server"


def _retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After` as seconds: a number, or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
