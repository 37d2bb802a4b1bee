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
from pathlib import Path

import duckdb

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
from ccreview.reports.xlsx import StreamingBook, fit_row, table_layout

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


def _workbook(path: Path, as_of: dt.date, due: dt.date, request_number: str,
              group_name: str, admin: str | None, sponsor: str | None,
              rows: list[tuple], catalog: dict[str, str]) -> None:
    with StreamingBook(path, as_of, f"Access attestation {request_number}",
                       small=True) as book:
        wb = book.wb
        _instructions(book, as_of, due, request_number, group_name, admin, sponsor, rows,
                      catalog)
        ws = wb.add_worksheet(REVIEW_SHEET)
        unlocked = wb.add_format({"locked": False, "bg_color": "#FFF2CC", "border": 1})
        shown_rows = [[("Yes" if v else "No") if isinstance(v, bool) else v for v in row]
                      for row in rows]
        evidence_widths, wrapped = table_layout(EVIDENCE_HEADERS, shown_rows, CAPS)
        widths = [*evidence_widths, *INPUT_WIDTHS]
        book.header_row(ws, 0, REVIEW_HEADERS, widths)
        sev = EVIDENCE_HEADERS.index("Severity")
        for i, row in enumerate(shown_rows, start=1):
            fit_row(ws, i, row, widths, wrapped)
            for j, value in enumerate(row):
                fmt = (book.fmt.get(f"severity:{value}") if j == sev else
                       book.fmt["wrap cell"] if j in wrapped else None)
                book.write(ws, i, j, value, fmt)
            ws.write_blank(i, len(EVIDENCE), None, unlocked)
            ws.write_blank(i, len(EVIDENCE) + 1, None, unlocked)
        last = max(len(rows), 1)
        decision_col = len(EVIDENCE)
        ws.data_validation(1, decision_col, last, decision_col, {
            "validate": "list", "source": list(DECISIONS), "ignore_blank": True,
            "input_title": "Decision", "input_message": "Keep, Revoke or Modify",
            "error_title": "Decision", "error_message": "Choose Keep, Revoke or Modify",
            "error_type": "stop"})
        book.set_widths(ws, widths)
        ws.freeze_panes(1, 1)
        ws.autofilter(0, 0, last, len(REVIEW_HEADERS) - 1)
        ws.repeat_rows(0)
        ws.hide_gridlines(0)
        ws.protect("", {"autofilter": True, "sort": True, "format_columns": True,
                        "format_rows": True, "select_locked_cells": True,
                        "select_unlocked_cells": True})
        ident = wb.add_worksheet(IDENTIFIER_SHEET)
        facts = [("ccreview", IDENTIFIER_TITLE), ("review_as_of", as_of.isoformat()),
                 ("request_number", request_number),
                 ("workbook_id", workbook_id(as_of, request_number, [r[0] for r in rows])),
                 ("rows", str(len(rows)))]
        for i, (k, v) in enumerate(facts):
            ident.write_string(i, 0, k)
            ident.write_string(i, 1, v)
        ident.protect("", {"select_locked_cells": False, "select_unlocked_cells": False})
        ident.very_hidden()
        wb.worksheets()[0].activate()


def _instructions(book: StreamingBook, as_of: dt.date, due: dt.date, request_number: str,
                  group_name: str, admin: str | None, sponsor: str | None, rows: list[tuple],
                  catalog: dict[str, str]) -> None:
    ws = book.wb.add_worksheet("Instructions")
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
    left = book.wb.add_format({"align": "left"})
    left_date = book.wb.add_format({"align": "left", "num_format": "yyyy-mm-dd"})
    for i, (label, value, style) in enumerate(lines):
        fmt = book.fmt[style] if style else book.fmt["wrap"]
        book.write(ws, i, 0, label, fmt)
        if style is None:  # wrapped text: as many lines as it needs (no auto height)
            book.write(ws, i, 1, value, book.fmt["wrap"])
            if isinstance(value, str) and len(value) > 110:
                ws.set_row(i, 15 * (len(value) // 110 + 1))
        else:
            book.write(ws, i, 1, value, left_date if isinstance(value, dt.date) else left)
    labels = [str(label) for label, _, style in lines if style == "bold"]
    book.set_widths(ws, (max(len(t) for t in labels) + 2, 100))
    ws.protect("", {"select_locked_cells": True, "select_unlocked_cells": True})
