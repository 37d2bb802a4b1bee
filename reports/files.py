"""Writing report files safely: atomically, and with input-derived cells kept inert.

Every report is written to a temporary name in the destination folder and renamed when
complete, so a reader (or a crash) never sees half a file. Text built from input data is
never allowed to become a spreadsheet formula: in xlsx it is typed as a string cell; in
CSV it gets the OWASP escaping (a leading `'` before `=`, `+`, `-`, `@`, tab, CR or LF, at
the start of the cell and after every line break inside it, since a reader may split a
row at a bare CR). NUL bytes never reach a file. A file name built from input data is
taken only from a validated identifier and joined with `child_path`, which refuses
anything that would leave its folder.
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
_AFTER_BREAK = re.compile(r"([\r\n])(?=[=+\-@\t])")
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def child_path(folder: Path, name: str) -> Path:
    """`folder / name` for a file name built from input data: one plain name (letters,
    digits, `_`, `-`, `.`), never a separator, `..` or a hidden name, so the file cannot
    land outside `folder`."""
    if not SAFE_NAME.fullmatch(name) or ".." in name:
        raise ValueError("refusing an output file name built from unexpected input")
    path = folder / name
    if path.is_symlink():  # a plain name lands in `folder` unless it is a link
        raise ValueError("refusing an output path outside its folder")
    return path


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it over `path` if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_in_building(path: Path, data: bytes) -> None:
    """Write a file of a building folder (`start_building`), which is swapped in whole once
    complete: in place, owner-only, never through a link; no temporary file and rename,
    whose two extra file operations were a quarter of a census workbook's cost."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def csv_safe(value: object) -> object:
    """OWASP CSV-injection escaping for a cell built from input data, at its start and
    after each line break inside it; NUL bytes removed."""
    if not isinstance(value, str):
        return value
    value = value.replace("\x00", "")
    if "\n" in value or "\r" in value:  # (most cells have no line break to search after)
        value = _AFTER_BREAK.sub(r"\1'", value)
    if value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """Write a UTF-8 CSV atomically; returns the number of data rows."""
    n = 0
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        for row in rows:
            w.writerow(["" if v is None else csv_safe(v) for v in row])
            n += 1
    return n


# A folder of many files (attestation, census) is built beside its final place and swapped
# in whole, so a reader never sees some of this run's files beside some of the last run's.

def building_folder(out_dir: Path, folder: str) -> Path:
    return out_dir / f".{folder}.building"


def start_building(out_dir: Path, folder: str) -> Path:
    """A fresh, empty building folder for `out_dir/folder`."""
    building = building_folder(out_dir, folder)
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    return building


def replace_folder(source: Path, target: Path) -> None:
    """Put `source` where `target` is, replacing it."""
    shutil.rmtree(target, ignore_errors=True)
    source.rename(target)


def swap_in(out_dir: Path, folder: str, expected: Iterable[str]) -> Path:
    """Check that every expected file was built, then swap the building folder in."""
    building = building_folder(out_dir, folder)
    if any(not (building / name).is_file() for name in expected):
        raise RuntimeError(f"a file is missing from the {folder} building folder")
    final = out_dir / folder
    replace_folder(building, final)
    return final
