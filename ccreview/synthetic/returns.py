"""Filled-in copies of attestation workbooks, as Group Administrators send them back: for
the demo and the tests of `ccreview attest`.

Each copy is opened and saved again with openpyxl (as a spreadsheet program would), its
rows re-sorted and a blank row inserted, and renamed after the group. Decisions: Revoke
for high-severity rows, Modify (with a comment) for medium, Keep for the rest. Every
`skip_every`-th group sends nothing; every `partial_every`-th decides only the rows that
need a decision.

    python -m ccreview.synthetic.returns out/attestation out/returned
"""

from __future__ import annotations

import argparse
import random
import re
from collections.abc import Callable
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from ccreview.core.attestation import REVIEW_HEADERS, REVIEW_SHEET

DECISION_COL = REVIEW_HEADERS.index("Decision") + 1
COMMENT_COL = REVIEW_HEADERS.index("Comment") + 1
SEVERITY_COL = REVIEW_HEADERS.index("Severity") + 1


def decide(severity: str | None, partial: bool) -> tuple[str | None, str | None]:
    if severity == "high":
        return "Revoke", "No longer needed"
    if partial:
        return None, None
    if severity == "medium":
        return "Modify", "Limit to the person's current role"
    return "Keep", None


def fill_copy(source: Path, target: Path, seed: int, partial: bool = False,
              edit: Callable[[Worksheet], None] | None = None) -> None:
    """A filled-in, re-sorted copy of one issued workbook; `edit` may tamper with it."""
    wb = load_workbook(source)
    ws = wb[REVIEW_SHEET]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    random.Random(seed).shuffle(rows)
    ws.delete_rows(2, ws.max_row)
    out_row = 2
    for i, values in enumerate(rows):
        if i == 1:
            out_row += 1  # a blank row, as people leave them
        decision, comment = decide(values[SEVERITY_COL - 1], partial)
        values[DECISION_COL - 1], values[COMMENT_COL - 1] = decision, comment
        for j, v in enumerate(values, start=1):
            cell = ws.cell(row=out_row, column=j, value=v)
            if isinstance(v, str):
                cell.data_type = "s"
        out_row += 1
    if edit is not None:
        edit(ws)
    target.parent.mkdir(parents=True, exist_ok=True)
    wb.save(target)


def fill_returns(issued_dir: Path, returned_dir: Path, seed: int = 1, skip_every: int = 8,
                 partial_every: int = 5) -> list[Path]:
    """Fill every issued workbook (but every `skip_every`-th) into `returned_dir`."""
    written = []
    for i, source in enumerate(sorted(issued_dir.glob("*.xlsx")), start=1):
        if skip_every and i % skip_every == 0:
            continue
        group = load_workbook(source, read_only=True)["Instructions"]["B3"].value or source.stem
        stem = re.sub(r"[^A-Za-z0-9]+", " ", str(group)).strip() + " - attestation"
        target = returned_dir / f"{stem}.xlsx"
        n = 1
        while target in written:  # two groups of the same name
            n += 1
            target = returned_dir / f"{stem} ({n}).xlsx"
        fill_copy(source, target, seed + i, partial=bool(partial_every)
                  and i % partial_every == 0)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ccreview.synthetic.returns",
        description="Fill in copies of issued attestation workbooks, as groups return them.")
    parser.add_argument("issued", type=Path, help="folder of issued workbooks (out/attestation)")
    parser.add_argument("returned", type=Path, help="folder for the filled-in copies")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    written = fill_returns(args.issued, args.returned, args.seed)
    print(f"filled in {len(written)} attestation workbooks in {args.returned}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
