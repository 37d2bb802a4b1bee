"""What the returned attestations ask to change: `remediation_<as-of>.xlsx` (Summary of each
group's review status, every Revoke/Modify decision grouped by application team — all
teams on one sheet and one sheet per team — and the problems found in the returns) and
`remediation_<as-of>.csv` (the decisions, sorted by application team)."""

from __future__ import annotations

from pathlib import Path

from ccreview.core.attestation import REMEDIATION_COLUMNS, IntakeResult
from ccreview.reports.files import write_csv
from ccreview.reports.xlsx import FreeformSheet, StreamingBook, sheet_name

STATUS_HEADERS = ["Request number", "Group", "Status", "Due", "Returned files", "Rows",
                  "Decided", "Keep", "Revoke", "Modify", "Problems"]
PROBLEM_HEADERS = ["File", "Request number", "Sheet row", "Row ID", "Column", "Problem",
                   "Blocks the group"]


def write_remediation(result: IntakeResult, out_dir: Path) -> list[Path]:
    stem = f"remediation_{result.as_of.isoformat()}"
    csv_path = out_dir / f"{stem}.csv"
    write_csv(csv_path, list(REMEDIATION_COLUMNS),
              ([r[c] for c in REMEDIATION_COLUMNS] for r in result.remediation))
    xlsx_path = out_dir / f"{stem}.xlsx"
    problems_by_group = result.problems_by_group()
    teams = sorted({r["application_team"] for r in result.remediation})
    with StreamingBook(xlsx_path, result.as_of, "Attestation remediation") as book:
        ws = FreeformSheet(book, "Summary")
        ws.line("Attestation intake", fmt="title")
        ws.skip()
        ws.fact("Review as of", result.as_of)
        ws.fact("Received by", result.received_on)
        ws.fact("Files read", result.files)
        for status, n in sorted(result.groups_by_status().items()):
            ws.fact(f"Groups {status}", n)
        ws.fact("Access to revoke", sum(r["decision"] == "Revoke" for r in result.remediation))
        ws.fact("Access to change", sum(r["decision"] == "Modify" for r in result.remediation))
        ws.fact("Problems in the returns", len(result.problems))
        book.table("Groups", STATUS_HEADERS, (
            [g.request_number, g.group_name, g.status, g.due_on, "; ".join(g.files), g.rows,
             g.decided, g.decisions.get("Keep", 0), g.decisions.get("Revoke", 0),
             g.decisions.get("Modify", 0), problems_by_group.get(g.request_number, 0)]
            for g in result.groups))
        header = list(REMEDIATION_COLUMNS.values())
        book.table("To revoke or change",
                   header, ([r[c] for c in REMEDIATION_COLUMNS] for r in result.remediation),
                   severity_column="Severity")
        used = {"summary", "groups", "to revoke or change", "problems"}
        for team in teams:
            book.table(sheet_name(team, used), header,
                       ([r[c] for c in REMEDIATION_COLUMNS] for r in result.remediation
                        if r["application_team"] == team), severity_column="Severity")
        book.table("Problems", PROBLEM_HEADERS, (
            [p.file, p.request_number, p.sheet_row, p.row_id, p.column, p.problem,
             "yes" if p.blocking else "no"] for p in result.problems))
    return [xlsx_path, csv_path]
