"""Where a pull keeps its place: one cursor file per source and the pages of a pull in
progress, under `<input>/.ccreview-pull/` (owner-only; the readers skip hidden folders and
list this one as ccreview's own).

A pull fetches a *window* — [from, to) of the source's change time — page by page. Each
page is written to `<source>.partial/` and the cursor file records the window and where
the next page starts before the next request, so a pull that is interrupted (killed,
offline, retried out) resumes with the same window at the same page: no gap, no record
twice. Once the last page is in, the pages become one input file (written whole, atomically,
under a name made from the window, so finishing twice writes the same file), then the
cursor moves to the window's end and the pages are removed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from ccreview.core.vocabulary import PULL_STATE_FOLDER

STATE_FOLDER = PULL_STATE_FOLDER
KEPT_PULLS = 100


def utc_text(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(text: str) -> dt.datetime:
    """An ISO 8601 time as the APIs write it (`Z` or an offset; up to 7 fractional
    digits, as Graph writes) -> an aware UTC datetime."""
    s = text.strip().replace("Z", "+00:00")
    if "." in s:  # fractional seconds: Python takes 6 digits at most
        head, _, rest = s.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        s = head + "." + (digits + "000000")[:6] + rest[len(digits):]
    when = dt.datetime.fromisoformat(s)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC)


def stamp(when: dt.datetime) -> str:
    """A time as a file name part: 20261101T060000Z."""
    return when.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def private_folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A file written whole or not at all, owner-only: written under a hidden temporary
    name (the readers skip it), synced, then renamed; an exception leaves nothing."""
    private_folder(path.parent)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file whole or not at all, owner-only."""
    with atomic_file(path) as f:
        f.write(data)


class PullState:
    """The cursor and the pull in progress of one source, in `<input>/.ccreview-pull/`."""

    def __init__(self, input_dir: Path, name: str) -> None:
        self.folder = input_dir / STATE_FOLDER
        self.name = name
        self.path = self.folder / f"{name}.json"
        self.pages = self.folder / f"{name}.partial"
        self.data: dict[str, Any] = {}
        if self.path.exists():
            try:
                self.data = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                from ccreview.sources.http import PullError

                raise PullError(f"{self.path}: the pull's cursor cannot be read; remove it "
                                "to pull from the beginning again") from None

    @property
    def cursor(self) -> str | None:
        return self.data.get("cursor")

    @property
    def in_progress(self) -> dict[str, Any] | None:
        return self.data.get("in_progress")

    def save(self) -> None:
        write_atomic(self.path, json.dumps(self.data, indent=1, sort_keys=True).encode())

    def start(self, window: dict[str, Any]) -> None:
        """Begin a pull: no pages yet."""
        shutil.rmtree(self.pages, ignore_errors=True)
        private_folder(self.pages)
        self.data["in_progress"] = {**window, "next": None, "pages": 0, "done": False}
        self.save()

    def add_page(self, body: Any, next_position: Any, total: int | None) -> None:
        """Keep a page, then record where the next one starts (in that order: a crash in
        between fetches this page again and overwrites it)."""
        progress = self.data["in_progress"]
        n = progress["pages"] + 1
        write_atomic(self.pages / f"page_{n:06d}.json",
                     json.dumps(body, separators=(",", ":")).encode())
        progress.update(pages=n, next=next_position, done=next_position is None)
        if total is not None:
            progress["total"] = total
        self.save()

    def page_bodies(self) -> Iterator[Any]:
        """The kept pages, in order, one at a time."""
        for i in range(1, self.data["in_progress"]["pages"] + 1):
            yield json.loads((self.pages / f"page_{i:06d}.json").read_bytes())

    def finish(self, cursor: str | None, written: list[Path] | None = None,
               **extra: Any) -> None:
        """The pull's output is in place: move the cursor, record what it wrote (name,
        SHA-256, the window; the latest `KEPT_PULLS` pulls), forget the pages."""
        progress = self.data.pop("in_progress", None) or {}
        entry = {k: progress[k] for k in ("from", "to", "started") if k in progress}
        entry["files"] = [{"name": p.name, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
                          for p in written or []]
        self.data["pulls"] = [*self.data.get("pulls", []), entry][-KEPT_PULLS:]
        if cursor is not None:
            self.data["cursor"] = cursor
        self.data.update(extra)
        self.save()
        shutil.rmtree(self.pages, ignore_errors=True)
