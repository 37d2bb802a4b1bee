"""Hashing and parsing input files in a second process while this one loads event logs.

Grain: one prepared result per input file, handed back in the order asked.

Through the evidence store, a new file is hashed, then read: an event log by DuckDB (in
this process, on every core, the interpreter mostly idle), every other format by a Python
reader (JSON, XLSX, HL7, CSV: one core, holding the interpreter). Profiled at 10,000
groups, the Python readers took ~18 s and hashing ~5 s of the ingest, one after the other
with DuckDB's loads, while the second core sat half idle. So when a folder has enough of
both, the event logs are taken first and a worker process (spawned, not forked: this
process has DuckDB's threads) meanwhile hashes them and then reads the other files, with
the same readers; results come back in order. Below `READ_AHEAD_BYTES` of either, a
second process's start (its imports) costs more than it saves, and files are read here.

The worker holds no connection and writes nothing; what it reads comes back through the
process pipe only. A file the store already has (`known`) is hashed, not read. If the
worker dies, the files not yet prepared are read in this process instead.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from ccreview.contracts.readers import Recognised, read_input_file
from ccreview.core.digest import file_sha256
from ccreview.core.errors import UnreadableInputError

READ_AHEAD_BYTES = 16 << 20  # of event logs and of other files, each: at 1,000 groups 570 / 31 MB

_KNOWN: frozenset[str] = frozenset()  # the worker's copy of the store's SHA-256s


@dataclass(frozen=True)
class Prepared:
    """One file as the worker left it: `sha256` is empty when the file could not be
    hashed (reading it here says why); `recognised` is None when it was not read (an event
    log, loaded here, or a file the store has); `unreadable` is the reader's reason for
    refusing it."""
    sha256: str
    recognised: Recognised | None = None
    unreadable: str | None = None

    def read(self, path: Path, settings: tuple) -> Recognised:
        """What reading the file here would have returned (or raised)."""
        if self.unreadable is not None:
            raise UnreadableInputError(str(path), self.unreadable)
        if self.recognised is not None:
            return self.recognised
        return read_input_file(path, *settings)


def _remember(known: frozenset[str]) -> None:
    global _KNOWN
    _KNOWN = known


def _prepare(path: str, settings: tuple | None) -> Prepared:
    """In the worker: hash the file, and read it (`settings` given) unless it is known."""
    try:
        sha = file_sha256(Path(path))
    except OSError:
        return Prepared("")
    if settings is None or sha in _KNOWN:
        return Prepared(sha)
    try:
        return Prepared(sha, read_input_file(Path(path), *settings))
    except UnreadableInputError as exc:
        return Prepared(sha, unreadable=exc.reason)


class ReadAhead:
    """A worker preparing `jobs` ((path, read it?) in the order they will be taken)."""

    def __init__(self, jobs: list[tuple[Path, bool]], settings: tuple,
                 known: frozenset[str]) -> None:
        self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_remember, initargs=(known,))
        self._futures: list[Future[Prepared]] = [
            self._pool.submit(_prepare, str(path), settings if read else None)
            for path, read in jobs]
        self._next = 0

    def take(self) -> Prepared | None:
        """The next file's preparation; None when the worker is gone (read it here)."""
        future = self._futures[self._next]
        self._next += 1
        try:
            return future.result()
        except BrokenProcessPool:
            return None

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def worth_reading_ahead(event_bytes: int, other_bytes: int) -> bool:
    return event_bytes >= READ_AHEAD_BYTES and other_bytes >= READ_AHEAD_BYTES
