"""The periodic review's outputs: `findings.csv` and `findings.parquet`, `quarantine.csv`,
`review_notes.csv` and the compliance workbook `access_review_<as-of>.xlsx` (Summary,
Findings, Entitlements, To resolve, Groups, Data quality, Trend and Run sheets).

Everything is read from the finished warehouse; nothing here computes a finding.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from ccreview.core.vocabulary import FINDING_COLUMNS
from ccreview.reports.files import atomic_path, write_csv
from ccreview.reports.xlsx import DATE_FORMAT, FreeformSheet, StreamingBook

FINDINGS_HEADERS = {
    "finding_key": "Finding key", "rule": "Rule", "severity": "Severity",
    "request_number": "Request number", "group_name": "Group", "email": "Email",
    "person_name": "Person", "lan_id": "LAN ID", "application": "Application",
    "detail": "Detail", "control": "Controls", "recommended_action": "Recommended action",
}
QUARANTINE_COLUMNS = ["table_name", "source_file", "source_line", "column_name", "rule",
                      "reason"]
NOTES_COLUMNS = ["note", "subject", "reference", "detail"]
GROUP_COLUMNS = ["request_number", "group_name", "sponsor", "sponsor_email", "admin_name",
                 "admin_email", "admin_phone", "corporate_representative", "daa_state",
                 "daa_missing_signers", "daa_first_signed", "daa_last_signed", "daa_lapses_on",
                 "active_members", "removed_members", "findings", "high_findings"]
GROUP_HEADERS = ["Request number", "Group", "Sponsoring Physician", "Sponsor email",
                 "Group Administrator", "Administrator email", "Administrator phone",
                 "Corporate/Legal Representative", "DAA state",
                 "DAA not signed by", "DAA first signed",
                 "DAA last signed", "DAA lapses on", "Active members", "Removed members",
                 "Findings", "High-severity findings", "Attestation of", "Attestation due",
                 "Attestation status"]
NOTES_HEADERS = ["Note", "Subject", "Reference", "Detail"]


@dataclass(frozen=True)
class ReviewContext:
    """What the Summary sheet states about the run besides the findings."""
    as_of: dt.date
    settings: dict[str, str]
    version: str


def write_review_reports(con: duckdb.DuckDBPyConnection, out_dir: Path,
                         ctx: ReviewContext) -> list[Path]:
    findings = con.execute(
        f"select {', '.join(FINDING_COLUMNS)} from findings").df()
    change = con.execute("select status, count(*) from finding_changes group by 1").fetchall()
    status = dict(con.execute("select finding_key, status from finding_changes").fetchall())
    trend = con.execute("select as_of, rule, open_findings from finding_trend").fetchall()
    quarantine = con.execute(
        f"select {', '.join(QUARANTINE_COLUMNS)} from quarantine "
        "order by source_file, source_line, column_name, rule").df()
    inputs = con.execute("select source_file, format, status, note, rows_read, rows_accepted, "
                         "rows_quarantined from input_summary order by source_file").df()
    catalog = con.execute("select rule, severity, description from findings_catalog").df()
    notes = con.execute(f"select {', '.join(NOTES_COLUMNS)} from review_notes").df()
    has_dq = _has_table(con, "data_quality_results")
    expectations = con.execute(
        "select suite, expectation, column_name, case when success then 'met' else 'NOT MET' "
        "end, rows from data_quality_results order by success, suite, expectation, column_name"
    ).fetchall() if has_dq else []
    quarantine_counts = con.execute(
        "select source_file, table_name, rule, any_value(reason), count(*) from quarantine "
        "group by all order by source_file, table_name, rule").fetchall()
    warning_counts = con.execute(
        "select source_file, table_name, rule, any_value(reason), count(*) from row_warnings "
        "group by all order by source_file, table_name, rule").fetchall()
    scope = con.execute("select groups, members, directory_accounts, application_accounts "
                        "from review_scope").df().iloc[0].to_dict()

    written = []
    csv_path = out_dir / "findings.csv"
    write_csv(csv_path, FINDING_COLUMNS, findings.itertuples(index=False, name=None))
    written.append(csv_path)
    parquet_path = out_dir / "findings.parquet"
    with atomic_path(parquet_path) as tmp:
        con.execute(f"copy (select {', '.join(FINDING_COLUMNS)} from findings) to "
                    f"'{tmp}' (format parquet)")
    written.append(parquet_path)
    notes_path = out_dir / "review_notes.csv"
    write_csv(notes_path, NOTES_COLUMNS, notes.itertuples(index=False, name=None))
    written.append(notes_path)
    q_path = out_dir / "quarantine.csv"
    write_csv(q_path, QUARANTINE_COLUMNS, quarantine.itertuples(index=False, name=None))
    written.append(q_path)
    xlsx_path = out_dir / f"access_review_{ctx.as_of.isoformat()}.xlsx"
    scope.update(change=dict(change), status=status, trend=trend)
    scope["group_rows"] = [list(r) for r in con.execute(
        f"select {', '.join(GROUP_COLUMNS)}, attestation_of, attestation_due, "
        "attestation_status from review_groups order by request_number").fetchall()]
    scope["evaluated_rules"] = {t.removeprefix("rule_").upper() for (t,) in con.execute(
        "select table_name from information_schema.tables where table_name like 'rule\\_%' "
        "escape '\\'").fetchall()}
    scope["run_inputs"] = [list(r) for r in con.execute(
        "select source_file, format, status, size_bytes, sha256, rows_read, rows_accepted, "
        "rows_quarantined from input_summary order by source_file").fetchall()]
    scope.update(quarantined=len(quarantine), to_resolve=len(notes),
                 expectations=expectations, quarantine_counts=quarantine_counts,
                 warning_counts=warning_counts)
    _write_workbook(xlsx_path, ctx, findings, catalog, inputs, scope, notes, con)
    written.append(xlsx_path)
    return written


ENTITLEMENT_COLUMNS = {
    "request_number": "Request number", "group_name": "Group", "person_name": "Person",
    "email": "Email", "role": "Role", "suffix": "Suffix", "member_status": "Member status",
    "application_name": "Application", "allowed_by_policy": "Allowed by policy",
    "requested": "Requested", "requested_on": "Requested on", "requested_in": "Requested in",
    "provisioned": "Provisioned", "account_active": "Account active", "accounts": "Accounts",
    "account_created_on": "Account created", "last_used_on": "Last used",
    "daa_state": "DAA state", "source": "Source", "findings": "Findings",
    "highest_severity": "Highest severity",
}


def _entitlement_rows(con: duckdb.DuckDBPyConnection, batch: int = 50_000):
    """Entitlement rows in batches: at hospital scale the sheet is hundreds of thousands of
    rows, so it is streamed from DuckDB to the workbook, never held as a DataFrame."""
    cols = ", ".join(f"{c}::date" if c.endswith("_on") else c for c in ENTITLEMENT_COLUMNS)
    result = con.execute(f"select {cols} from entitlement_review "
                         "order by request_number, person_name, email, application")
    while chunk := result.fetchmany(batch):
        yield from chunk


def _write_workbook(path: Path, ctx: ReviewContext, findings: pd.DataFrame,
                    catalog: pd.DataFrame, inputs: pd.DataFrame, scope: dict,
                    notes: pd.DataFrame, con: duckdb.DuckDBPyConnection) -> None:
    status = scope["status"]
    with StreamingBook(path, ctx.as_of) as book:
        _summary(book, ctx, findings, catalog, inputs, scope)
        rows = ([*r, status.get(r[0], "")] for r in findings.itertuples(index=False, name=None))
        book.table("Findings", [*(FINDINGS_HEADERS[c] for c in FINDING_COLUMNS),
                                "Since last run"], rows, severity_column="Severity")
        book.table("Entitlements", list(ENTITLEMENT_COLUMNS.values()), _entitlement_rows(con),
                   severity_column="Highest severity")
        book.table("To resolve", NOTES_HEADERS, notes.itertuples(index=False, name=None))
        book.table("Groups", GROUP_HEADERS, scope["group_rows"])
        _data_quality_sheet(book, scope)
        _trend_sheet(book, scope["trend"])
        _run_sheet(book, ctx, scope["run_inputs"])


def _data_quality_sheet(book: StreamingBook, scope: dict) -> None:
    """Dataset expectations (Great Expectations) and quarantine counts by file and rule."""
    expectations = scope["expectations"]
    ws = FreeformSheet(book, "Data quality")
    ws.line("Data quality", fmt="title")
    not_met = sum(1 for e in expectations if e[3] != "met")
    ws.line(f"{len(expectations)} dataset expectations, {not_met} not met; details in "
            "data_quality/index.html (Great Expectations Data Docs) beside this workbook"
            if expectations else "Dataset expectations were not run")
    ws.skip()
    ws.line("Dataset expectations", fmt="heading")
    ws.table(["Table", "Expectation", "Column(s)", "Result", "Rows"],
             [list(e) for e in expectations])
    ws.skip()
    ws.line("Quarantined rows by file and rule", fmt="heading")
    ws.table(["File", "Table", "Rule", "Reason", "Rows"],
             [list(q) for q in scope["quarantine_counts"]])
    ws.skip()
    ws.line("Rows kept with a warning, by file and rule", fmt="heading")
    ws.table(["File", "Table", "Rule", "Reason", "Rows"],
             [list(w) for w in scope["warning_counts"]])
    ws.widths((40, 40, 36, 60, 10))


def _summary(book: StreamingBook, ctx: ReviewContext, findings: pd.DataFrame,
             catalog: pd.DataFrame, inputs: pd.DataFrame, scope: dict) -> None:
    ws = FreeformSheet(book, "Summary")
    ws.line("Clinical Connectivity access review", fmt="title")
    ws.skip()
    facts = [
        ("As of", ctx.as_of),
        ("Produced by", f"ccreview {ctx.version}"),
        ("Groups reviewed", int(scope["groups"])),
        ("Active members", int(scope["members"])),
        ("Directory accounts", int(scope["directory_accounts"])),
        ("Application accounts", int(scope["application_accounts"])),
        ("Findings", len(findings)),
        ("New since the previous run", scope["change"].get("new", 0)),
        ("Still open", scope["change"].get("still open", 0)),
        ("Resolved since the previous run", scope["change"].get("resolved", 0)),
        ("Items to resolve (To resolve sheet)", int(scope["to_resolve"])),
        ("Input rows quarantined", int(scope["quarantined"])),
    ]
    for label, value in facts:
        ws.fact(label, value)
    ws.skip()
    ws.line("Findings by rule", fmt="heading")
    evaluated = scope["evaluated_rules"]
    counts = findings.groupby("rule").size().to_dict() if len(findings) else {}
    by_rule = []
    for rec in catalog.itertuples(index=False):
        n = counts.get(rec.rule, 0) if rec.rule in evaluated else "not evaluated yet"
        by_rule.append([rec.rule, rec.severity, n, rec.description])
    first = ws.row + 1  # the table's first data row (0-based)
    ws.table(["Rule", "Severity", "Findings", "What it means"], by_rule, severity_column=1)
    _findings_by_rule_chart(book, first, ws.row - 1)
    ws.skip()
    ws.line("Findings by severity", fmt="heading")
    by_sev = findings.groupby("severity").size().to_dict() if len(findings) else {}
    ws.table(["Severity", "Findings"], [[s, int(by_sev.get(s, 0))]
                                         for s in ("high", "medium", "low")], severity_column=0)
    ws.skip()
    ws.line("Findings by group (most first)", fmt="heading")
    by_group = sorted(([r[0], r[1], r[14], r[15]] for r in scope["group_rows"] if r[14]),
                      key=lambda r: (-r[2], r[0]))
    ws.table(["Request number", "Group", "Findings", "High-severity findings"], by_group)
    ws.skip()
    ws.line("Thresholds and settings used", fmt="heading")
    ws.table(["Setting", "Value"], [[k, v] for k, v in ctx.settings.items()])
    ws.skip()
    ws.line("Inputs", fmt="heading")
    ws.table(["File", "Format", "Status", "Note", "Rows read", "Accepted", "Quarantined"],
             [list(r) for r in inputs.itertuples(index=False, name=None)])
    ws.widths((44, 28, 14, 36, 12, 12, 12))
    ws.print_landscape()


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return con.execute("select count(*) from information_schema.tables where table_name = ?",
                       [name]).fetchall()[0][0] > 0


def _findings_by_rule_chart(book: StreamingBook, first: int, last: int) -> None:
    """A native bar chart of open findings per rule, beside the Summary's table."""
    chart = book.wb.add_chart({"type": "bar"})
    chart.add_series({"name": "Open findings",
                      "categories": ["Summary", first, 0, last, 0],
                      "values": ["Summary", first, 2, last, 2],
                      "data_labels": {"value": True}})
    chart.set_title({"name": "Open findings by rule"})
    chart.set_legend({"none": True})
    chart.set_y_axis({"reverse": True})
    chart.set_size({"width": 620, "height": 420})
    # right of the "What it means" text, which runs on over the next columns
    book.wb.get_worksheet_by_name("Summary").insert_chart(2, 9, chart)


def _trend_sheet(book: StreamingBook, trend: list[tuple]) -> None:
    """Open findings per rule at each recorded review, with a native Excel line chart."""
    dates = sorted({t[0] for t in trend})
    rules = sorted({t[1] for t in trend})
    counts = {(d, r): n for d, r, n in trend}
    book.table("Trend", ["Review as of", *rules],
               [[d, *(counts.get((d, r), 0) for r in rules)] for d in dates])
    if not dates or not rules:
        return
    chart = book.wb.add_chart({"type": "line"})
    for j in range(1, len(rules) + 1):
        chart.add_series({"name": ["Trend", 0, j],
                          "categories": ["Trend", 1, 0, len(dates), 0],
                          "values": ["Trend", 1, j, len(dates), j],
                          "marker": {"type": "circle"}})
    chart.set_title({"name": "Open findings per rule, by review"})
    chart.set_y_axis({"name": "Open findings"})
    chart.set_x_axis({"name": "Review as of", "num_format": DATE_FORMAT, "date_axis": True})
    chart.set_size({"width": 900, "height": 380})
    book.wb.get_worksheet_by_name("Trend").insert_chart(len(dates) + 3, 0, chart)


def _run_sheet(book: StreamingBook, ctx: ReviewContext, inputs: list[list]) -> None:
    """The run as audit evidence: as-of, versions, every input with its SHA-256 and counts,
    every setting used."""
    from ccreview.reports.run_manifest import versions

    ws = FreeformSheet(book, "Run")
    ws.line(f"Review as of {ctx.as_of.isoformat()}", fmt="title")
    ws.skip()
    ws.table(["Component", "Version"], [[k, v] for k, v in versions().items()])
    ws.skip(2)
    ws.table(["Input file", "Format", "Status", "Bytes", "SHA-256", "Rows read", "Accepted",
              "Quarantined"], inputs)
    ws.skip(2)
    ws.table(["Setting", "Value"], [[k, v] for k, v in ctx.settings.items()])
    ws.widths((44, 28, 12, 12, 66, 12, 12, 12))
