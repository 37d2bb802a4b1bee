"""Attestation workbooks: one per group, for its Group Administrator and Sponsoring
Physician to confirm or revoke each member's access and send back.

Each workbook (`attestation/<request number>.xlsx`) has an Instructions sheet, a Review
sheet with every member x application and its evidence, a Decision drop-down (Keep /
Revoke / Modify) and a Comment column — the only unlocked cells — and a very hidden,
protected `ccreview` sheet naming the review period, the group and the workbook. The
returned copies are read back by `ccreview attest` (see `contracts.attestation_returns`),
which matches rows by their Row ID, so re-sorting, filtering and renaming are harmless.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
from xlsxwriter.utility import xl_range

from ccreview.core.attestation import (
    DECISIONS,
    EVIDENCE,
    EVIDENCE_HEADERS,
    IDENTIFIER_SHEET,
    IDENTIFIER_TITLE,
    REVIEW_HEADERS,
    REVIEW_SHEET,
    due_date,
    workbook_id,
)
from ccreview.reports.files import building_folder, child_path, start_building, swap_in, write_csv
from ccreview.reports.xlsx import (
    FORMATS,
    StreamingBook,
    header_height,
    row_height,
    table_layout,
)
from ccreview.reports.xlsx_direct import DirectBook, NotDirect

# the evidence columns are as wide as their content, these at most; Decision and Comment
CAPS = {"Person": 24, "Email": 30, "Role": 20, "Application": 22, "Accounts": 16,
        "Findings": 26}
INPUT_WIDTHS = (12, 36)
FOLDER = "attestation"


def write_attestation_workbooks(con: duckdb.DuckDBPyConnection, out_dir: Path,
                                as_of: dt.date, due_days: int) -> list[Path]:
    """One workbook per group with at least one member x application, in a folder built
    aside and swapped in whole, so a failed run leaves the previous folder intact. (The
    flow runs the same three steps with the groups split into shards.)"""
    prepare_attestation(out_dir)
    write_attestation_shard(con, out_dir, as_of, due_days, 0, 1)
    return finish_attestation(con, out_dir, as_of, due_days)


def prepare_attestation(out_dir: Path) -> None:
    start_building(out_dir, FOLDER)


def _groups_to_attest(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute("select distinct request_number from "
                                      "entitlement_review order by 1").fetchall()]


def write_attestation_shard(con: duckdb.DuckDBPyConnection, out_dir: Path, as_of: dt.date,
                            due_days: int, shard: int, shards: int) -> int:
    """The workbooks of every `shards`-th group from `shard`, into the building folder."""
    mine = _groups_to_attest(con)[shard::shards]
    if not mine:
        return 0
    cols = ", ".join(f"{c}::date" if c.endswith("_on") else c for c, _ in EVIDENCE)
    rows = con.execute(f"select request_number, {cols} from entitlement_review "
                       "where request_number in (select unnest(?::varchar[])) "
                       "order by request_number, person_name, email, application_name",
                       [mine]).fetchall()
    groups = {r[0]: r[1:] for r in con.execute(
        "select request_number, group_name, admin_name, sponsor from group_overview"
    ).fetchall()}
    catalog = dict(con.execute("select rule, description from findings_catalog").fetchall())
    by_group: dict[str, list[tuple]] = {}
    for r in rows:
        by_group.setdefault(r[0], []).append(r[1:])
    building = building_folder(out_dir, FOLDER)
    due = due_date(as_of, due_days)
    for request_number, group_rows in sorted(by_group.items()):
        group_name, admin, sponsor = groups.get(request_number, ("", None, None))
        _workbook(child_path(building, f"{request_number}.xlsx"), as_of, due, request_number,
                  group_name or "", admin, sponsor, group_rows, catalog)
    return len(by_group)


MANIFEST = "attestation_manifest.csv"
MANIFEST_COLUMNS = ["file", "request_number", "group_name", "send_to", "admin_name",
                    "admin_email", "sponsor", "sponsor_email", "due_on", "rows",
                    "rows_needing_decision"]


def finish_attestation(con: duckdb.DuckDBPyConnection, out_dir: Path, as_of: dt.date,
                       due_days: int) -> list[Path]:
    """Check every group's workbook is there, write the mailing list
    (`attestation_manifest.csv`: which workbook goes to whom, due when) and swap the
    folder in."""
    names = [f"{rn}.xlsx" for rn in _groups_to_attest(con)]
    due = due_date(as_of, due_days)
    manifest = [[f"{rn}.xlsx", rn, name, _send_to(admin_email, sponsor_email),
                 admin, admin_email, sponsor, sponsor_email, due, rows, high]
                for rn, name, admin, admin_email, sponsor, sponsor_email, rows, high
                in con.execute(
                    "select request_number, group_name, admin_name, admin_email, sponsor, "
                    "sponsor_email, rows, rows_needing_decision from attestation_groups "
                    "order by request_number").fetchall()]
    write_csv(building_folder(out_dir, FOLDER) / MANIFEST, MANIFEST_COLUMNS, manifest)
    final = swap_in(out_dir, FOLDER, names)
    return [*(final / n for n in names), final / MANIFEST]


def _send_to(*addresses: str | None) -> str:
    """Each address once, administrators first (a sponsor who is also the administrator,
    or an address given in another case, is one recipient)."""
    seen: dict[str, str] = {}
    for field in addresses:
        for a in (field or "").split(";"):
            if a.strip():
                seen.setdefault(a.strip().lower(), a.strip())
    return "; ".join(seen.values())


# the book's own formats, besides the report formats (`FORMATS`)
UNLOCKED = "attestation unlocked"  # the Decision and Comment cells
OWN_FORMATS = {"attestation left": {"align": "left"},
               "attestation left date": {"align": "left", "num_format": "yyyy-mm-dd"},
               UNLOCKED: {"locked": False, "bg_color": "#FFF2CC", "border": 1}}
INSTRUCTIONS_SHEET = "Instructions"
# each sheet's protection (xlsxwriter's `protect` options, and the element it writes)
PROTECTION = {
    INSTRUCTIONS_SHEET: ({"select_locked_cells": True, "select_unlocked_cells": True},
                         '<sheetProtection sheet="1" objects="1" scenarios="1"/>'),
    REVIEW_SHEET: ({"autofilter": True, "sort": True, "format_columns": True,
                    "format_rows": True, "select_locked_cells": True,
                    "select_unlocked_cells": True},
                   '<sheetProtection sheet="1" objects="1" scenarios="1" formatColumns="0" '
                   'formatRows="0" sort="0" autoFilter="0"/>'),
    IDENTIFIER_SHEET: ({"select_locked_cells": False, "select_unlocked_cells": False},
                       '<sheetProtection sheet="1" objects="1" scenarios="1" '
                       'selectLockedCells="1" selectUnlockedCells="1"/>'),
}
DECISION_PROMPT = {"input_title": "Decision", "input_message": "Keep, Revoke or Modify",
                   "error_title": "Decision", "error_message": "Choose Keep, Revoke or Modify"}


@dataclass
class _Layout:
    """One attestation workbook's cells, by sheet: (row, column, value, format name), row
    heights and column widths — what both writers put where."""
    title: str
    instructions: list[tuple[int, int, object, str]]
    instruction_heights: dict[int, float]
    instruction_widths: tuple[int, int]
    review: list[tuple[int, int, object, str | None]]  # the header and the evidence
    review_heights: dict[int, float]
    review_widths: list[int]
    review_rows: int  # each with a Decision and a Comment cell, blank and unlocked
    facts: list[tuple[str, str]]

    @property
    def last(self) -> int:
        """The review table's last row (the header's, for a table of no row)."""
        return max(self.review_rows, 1)

    def input_cells(self) -> list[tuple[int, int]]:
        """(row, column) of every Decision and Comment cell."""
        return [(i, j) for i in range(1, self.review_rows + 1)
                for j in (len(EVIDENCE), len(EVIDENCE) + 1)]


def _workbook(path: Path, as_of: dt.date, due: dt.date, request_number: str,
              group_name: str, admin: str | None, sponsor: str | None,
              rows: list[tuple], catalog: dict[str, str], direct: bool = True) -> None:
    """One group's workbook, in its building folder: written directly (`xlsx_direct`),
    or through StreamingBook when a value needs it (`direct=False`: always; the tests
    compare the two byte for byte)."""
    layout = _layout(as_of, due, request_number, group_name, admin, sponsor, rows, catalog)
    if direct:
        try:
            _write_direct(path, as_of, layout)
            return
        except NotDirect:
            pass
    _write_streaming(path, as_of, layout)


def _layout(as_of: dt.date, due: dt.date, request_number: str, group_name: str,
            admin: str | None, sponsor: str | None, rows: list[tuple],
            catalog: dict[str, str]) -> _Layout:
    lines = _instruction_lines(as_of, due, request_number, group_name, admin, sponsor, rows,
                               catalog)
    instructions: list[tuple[int, int, object, str]] = []
    heights: dict[int, float] = {}
    for i, (label, value, style) in enumerate(lines):
        instructions.append((i, 0, label, style or "wrap"))
        if style is None:  # wrapped text: as many lines as it needs (no auto height)
            instructions.append((i, 1, value, "wrap"))
            if isinstance(value, str) and len(value) > 110:
                heights[i] = 15 * (len(value) // 110 + 1)
        else:
            instructions.append((i, 1, value, "attestation left date"
                                 if isinstance(value, dt.date) else "attestation left"))
    labels = [str(label) for label, _, style in lines if style == "bold"]

    shown_rows = [[("Yes" if v else "No") if isinstance(v, bool) else v for v in row]
                  for row in rows]
    evidence_widths, wrapped = table_layout(EVIDENCE_HEADERS, shown_rows, CAPS)
    widths = [*evidence_widths, *INPUT_WIDTHS]
    review: list[tuple[int, int, object, str | None]] = [
        (0, j, h, "header") for j, h in enumerate(REVIEW_HEADERS)]
    review_heights: dict[int, float] = {}
    if (points := header_height(REVIEW_HEADERS, widths)) is not None:
        review_heights[0] = points
    sev = EVIDENCE_HEADERS.index("Severity")
    for i, row in enumerate(shown_rows, start=1):
        if (points := row_height(row, widths, wrapped)) is not None:
            review_heights[i] = points
        for j, value in enumerate(row):
            fmt = ((f"severity:{value}" if f"severity:{value}" in FORMATS else None)
                   if j == sev else "wrap cell" if j in wrapped else None)
            review.append((i, j, value, fmt))
    facts = [("ccreview", IDENTIFIER_TITLE), ("review_as_of", as_of.isoformat()),
             ("request_number", request_number),
             ("workbook_id", workbook_id(as_of, request_number, [r[0] for r in rows])),
             ("rows", str(len(rows)))]
    return _Layout(f"Access attestation {request_number}", instructions, heights,
                   (max(len(t) for t in labels) + 2, 100), review, review_heights, widths,
                   len(rows), facts)


def _write_direct(path: Path, as_of: dt.date, layout: _Layout) -> None:
    book = DirectBook(OWN_FORMATS)
    ws = book.add_sheet(INSTRUCTIONS_SHEET, layout.instruction_widths,
                        protection=PROTECTION[INSTRUCTIONS_SHEET][1])
    for row, col, value, fmt in layout.instructions:
        ws.write(row, col, value, fmt)
    for row, points in layout.instruction_heights.items():
        ws.set_row(row, points)
    decision = len(EVIDENCE)
    validation = (
        '<dataValidations count="1"><dataValidation type="list" allowBlank="1" '
        'showInputMessage="1" showErrorMessage="1" errorTitle="{error_title}" '
        'error="{error_message}" promptTitle="{input_title}" prompt="{input_message}" '
        'sqref="{sqref}"><formula1>"{decisions}"</formula1></dataValidation>'
        '</dataValidations>').format(
            **DECISION_PROMPT, decisions=",".join(DECISIONS),
            sqref=xl_range(1, decision, layout.last, decision))
    ws = book.add_sheet(REVIEW_SHEET, layout.review_widths, frozen=(1, 1),
                        filter_range=(0, 0, layout.last, len(REVIEW_HEADERS) - 1),
                        title_row=0, protection=PROTECTION[REVIEW_SHEET][1],
                        validations=validation, gridlines=True)
    for row, points in layout.review_heights.items():
        ws.set_row(row, points)
    for row, col, value, fmt in layout.review:
        ws.write(row, col, value, fmt)
    for row, col in layout.input_cells():
        ws.blank(row, col, UNLOCKED)
    ws = book.add_sheet(IDENTIFIER_SHEET, protection=PROTECTION[IDENTIFIER_SHEET][1],
                        very_hidden=True)
    for i, (k, v) in enumerate(layout.facts):
        ws.write(i, 0, k)
        ws.write(i, 1, v)
    book.write(path, as_of, layout.title, in_building=True)


def _write_streaming(path: Path, as_of: dt.date, layout: _Layout) -> None:
    with StreamingBook(path, as_of, layout.title, small=True) as book:
        wb = book.wb
        own = {name: wb.add_format(props) for name, props in OWN_FORMATS.items()}
        formats = {**book.fmt, **own}
        ws = wb.add_worksheet(INSTRUCTIONS_SHEET)
        for row, col, value, fmt in layout.instructions:
            book.write(ws, row, col, value, formats[fmt])
        for row, points in layout.instruction_heights.items():
            ws.set_row(row, points)
        book.set_widths(ws, layout.instruction_widths)
        ws.protect("", PROTECTION[INSTRUCTIONS_SHEET][0])
        ws = wb.add_worksheet(REVIEW_SHEET)
        for row, points in layout.review_heights.items():
            ws.set_row(row, points)
        for row, col, value, fmt in layout.review:
            book.write(ws, row, col, value, formats[fmt] if fmt else None)
        for row, col in layout.input_cells():
            ws.write_blank(row, col, None, formats[UNLOCKED])
        decision = len(EVIDENCE)
        ws.data_validation(1, decision, layout.last, decision, {
            "validate": "list", "source": list(DECISIONS), "ignore_blank": True,
            **DECISION_PROMPT, "error_type": "stop"})
        book.set_widths(ws, layout.review_widths)
        ws.freeze_panes(1, 1)
        ws.autofilter(0, 0, layout.last, len(REVIEW_HEADERS) - 1)
        ws.repeat_rows(0)
        ws.hide_gridlines(0)
        ws.protect("", PROTECTION[REVIEW_SHEET][0])
        ident = wb.add_worksheet(IDENTIFIER_SHEET)
        for i, (k, v) in enumerate(layout.facts):
            ident.write_string(i, 0, k)
            ident.write_string(i, 1, v)
        ident.protect("", PROTECTION[IDENTIFIER_SHEET][0])
        ident.very_hidden()
        wb.worksheets()[0].activate()


def _instruction_lines(as_of: dt.date, due: dt.date, request_number: str, group_name: str,
                       admin: str | None, sponsor: str | None, rows: list[tuple],
                       catalog: dict[str, str]) -> list[tuple[object, object, str | None]]:
    """The Instructions sheet's lines: (label, value, style); style None: wrapped text."""
    high = sum(1 for r in rows if r[EVIDENCE_HEADERS.index("Severity")] == "high")
    lines: list[tuple[object, object, str | None]] = [
        ("Clinical Connectivity access attestation", None, "title"),
        (None, None, None),
        ("Group", group_name, "bold"),
        ("Request number", request_number, "bold"),
        ("Group Administrator", admin or "(none on record)", "bold"),
        ("Sponsoring Physician", sponsor or "(none on record)", "bold"),
        ("Review as of", as_of, "bold"),
        ("Please return by", due, "bold"),
        ("Rows to review", len(rows), "bold"),
        ("Rows that need a decision (high severity)", high, "bold"),
        (None, None, None),
        ("What to do", None, "heading"),
        ("1.", "Open the Review sheet. Each row is one person's access to one application, "
               "with what we know about it: whether their role allows it, when it was "
               "requested, whether an account exists, when it was last used, and any "
               "findings of the review.", None),
        ("2.", "In the Decision column choose Keep, Revoke or Modify from the drop-down.", None),
        ("3.", "Rows with severity 'high' must have a decision; please decide every row.", None),
        ("4.", "For Modify, say in the Comment column what should change.", None),
        ("5.", "Only Decision and Comment can be edited. Sorting and filtering are fine; "
               "please do not add, delete or retype rows.", None),
        ("6.", "Save the workbook (any file name) and send it back to Compliance by the "
               "date above. The Sponsoring Physician's approval is assumed when the Group "
               "Administrator returns it.", None),
        (None, None, None),
    ]
    codes = sorted({c for r in rows for c in str(r[EVIDENCE_HEADERS.index("Findings")] or "")
                    .split(", ") if c})
    if codes:
        lines.append(("What the findings mean", None, "heading"))
        lines += [(c, catalog.get(c, ""), None) for c in codes]
    return lines
