"""Pulling a source's changes window by window, resumably (see `state`), and a snapshot
page by page. The source modules say how to ask for a page and how to write the file;
this module keeps the place, checks the window did not move under the pull, and writes."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ccreview.core.progress import progress_bar
from ccreview.sources.http import PullError, SourceClient
from ccreview.sources.state import (
    PullState,
    atomic_file,
    parse_utc,
    private_folder,
    utc_text,
    write_atomic,
)

MAX_RESTARTS = 3


@dataclass
class Page:
    body: Any  # kept as the part file: what the output is built from
    records: int
    next: Any  # where the next page starts (a URL, an offset); None: the last page
    total: int | None = None  # the window's size, when the API says it


@dataclass
class PullResult:
    source: str
    written: list[Path] = field(default_factory=list)
    records: int = 0
    window: tuple[str, str] | None = None
    resumed: bool = False
    requests: int = 0
    waited: float = 0.0  # seconds spent waiting as throttled or between retries
    note: str = ""

    def line(self, input_dir: Path) -> str:
        """What the pull did, in one line (counts and file names only)."""
        where = ", ".join(str(p.relative_to(input_dir)) for p in self.written) or "no file"
        span = f" changed {self.window[0]} to {self.window[1]}" if self.window else ""
        again = " (resumed an interrupted pull)" if self.resumed else ""
        waits = f", {self.waited:.0f} s waiting to retry" if self.waited >= 0.5 else ""
        return (f"{self.source}: {self.records} records{span} -> {where}{again}; "
                f"{self.requests} requests{waits}{'; ' + self.note if self.note else ''}")


@dataclass
class EventWindow:
    """How one source's changes are pulled: `fetch(client, start, end, position)` returns
    a page; `records(body)` the records of a kept page; `changed_at(record)` its change
    time (kept when start <= it < end: the API's bounds may be inclusive); `key(record)`
    identifies it (a record repeated across pages is written once); `path(start, end)` is
    the input file's and `write(file, records)` writes them into it as they come (a month
    of a tenant's sign-ins is millions of records: never all in memory)."""
    name: str
    first_from: Callable[[dt.datetime], dt.datetime]
    latency: dt.timedelta
    fetch: Callable[[SourceClient, dt.datetime, dt.datetime, Any], Page]
    records: Callable[[Any], Iterable[dict]]
    changed_at: Callable[[dict], dt.datetime | None]
    key: Callable[[dict], Any]
    path: Callable[[dt.datetime, dt.datetime], Path]
    write: Callable[[BinaryIO, Iterator[dict]], None]


def pull_window(client: SourceClient, spec: EventWindow, input_dir: Path,
                now: dt.datetime) -> PullResult:
    """The changes since the cursor (or the pull in progress, resumed) as one new file."""
    state = PullState(input_dir, spec.name)
    result = PullResult(spec.name, resumed=state.in_progress is not None)
    if state.in_progress is None:
        start = parse_utc(state.cursor) if state.cursor else spec.first_from(now)
        end = (now - spec.latency).replace(microsecond=0)
        if end <= start:
            result.note = "nothing to pull yet (the window has not closed)"
            return result
        state.start({"from": utc_text(start), "to": utc_text(end)})
    progress = state.in_progress
    assert progress is not None
    start, end = parse_utc(progress["from"]), parse_utc(progress["to"])
    result.window = (progress["from"], progress["to"])
    restarts = 0
    with progress_bar(progress.get("total"), f"pull {spec.name}", "records") as bar:
        while not progress["done"]:
            page = spec.fetch(client, start, end, progress["next"])
            known = progress.get("total")
            if progress["pages"] and page.total is not None and known is not None \
                    and page.total != known:
                # a record changed again mid-pull and left the window: later offsets
                # would skip one of its neighbours. Fetch the window again.
                restarts += 1
                if restarts > MAX_RESTARTS:
                    raise PullError(f"{spec.name}: the source kept changing during the pull "
                                    f"({MAX_RESTARTS} restarts); run it again later")
                state.start({"from": progress["from"], "to": progress["to"]})
                progress = state.in_progress
                continue
            if page.total is not None:
                bar.total = page.total
            state.add_page(page.body, page.next, page.total)
            bar.update(page.records)
    seen: set = set()

    def kept() -> Iterator[dict]:
        for body in state.page_bodies():
            for record in spec.records(body):
                when = spec.changed_at(record)
                key = spec.key(record)
                if (when is not None and not (start <= when < end)) or key in seen:
                    continue
                seen.add(key)
                yield record
    path = spec.path(start, end)
    try:
        with atomic_file(path) as fh:
            spec.write(fh, kept())
            if not seen:  # nothing new in the window: no file
                raise _NothingWritten
        result.written.append(path)
    except _NothingWritten:
        pass
    result.records = len(seen)
    result.requests, result.waited = client.requests, client.waited
    state.finish(progress["to"], result.written)
    return result


class _NothingWritten(Exception):
    """Raised inside `atomic_file` to leave no file behind."""


def write_json_document(fh: BinaryIO, key: str, records: Iterator[dict],
                        tail: Callable[[int], dict] | None = None) -> None:
    """`{"<key>": [records…], <tail(count)>}` written as the records come, one a line."""
    fh.write(b"{" + json.dumps(key).encode() + b": [")
    n = 0
    for record in records:
        fh.write((b",\n" if n else b"\n") + json.dumps(record, ensure_ascii=False).encode())
        n += 1
    fh.write(b"\n]")
    for name, value in (tail(n) if tail else {}).items():
        fh.write(b", " + json.dumps(name).encode() + b": " + json.dumps(value).encode())
    fh.write(b"}\n")


def pull_snapshot(client: SourceClient, name: str, input_dir: Path, folder: Path,
                  fetch: Callable[[SourceClient, Any], Page],
                  page_file: Callable[[int, Any], tuple[str, bytes]], now: dt.datetime
                  ) -> PullResult:
    """Every page of a listing (a snapshot: the whole directory), resumed at the page an
    interrupted pull stopped at (`fetch(client, None)` is the first page); the pages then
    replace `folder` whole: the readers never see half of one listing and half of
    another."""
    state = PullState(input_dir, name)
    previous = state.folder / f"{name}.previous"
    if previous.exists() and not folder.exists():  # a swap cut short: put it back
        previous.rename(folder)
    shutil.rmtree(previous, ignore_errors=True)
    result = PullResult(name, resumed=state.in_progress is not None)
    if state.in_progress is None:
        state.start({"started": utc_text(now)})
    progress = state.in_progress
    assert progress is not None
    with progress_bar(None, f"pull {name}", "records") as bar:
        while not progress["done"]:
            page = fetch(client, progress["next"])
            state.add_page(page.body, page.next, page.total)
            bar.update(page.records)
    building = state.folder / f"{name}.building"
    shutil.rmtree(building, ignore_errors=True)
    private_folder(building)
    for i, body in enumerate(state.page_bodies(), start=1):  # one page in memory at a time
        file_name, data = page_file(i, body)
        write_atomic(building / file_name, data)
        result.records += len(body.get("value") or [])
    private_folder(folder.parent)
    if folder.exists():
        folder.rename(previous)
    building.rename(folder)
    shutil.rmtree(previous, ignore_errors=True)
    result.written = sorted(folder.iterdir())
    result.requests, result.waited = client.requests, client.waited
    state.finish(None, result.written, last_complete=progress["started"])
    return result
