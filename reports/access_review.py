"""The periodic review's outputs: `findings.csv` and `findings.parquet`, `quarantine.csv`,
`review_notes.csv` and the compliance workbook `access_review_<as-of>.xlsx` (Summary,
Findings and To resolve sheets).

Everything is read from the finished warehouse; nothing here computes a finding.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font

from reports.files import atomic_path, write_csv
from reports.xlsx import SEVERITY_FILLS, save_workbook, set_value, write_table
from transforms.warehouse import FINDING_COLUMNS, rule_models

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
                 "daa_first_signed", "daa_last_signed", "daa_lapses_on", "active_members",
                 "removed_members", "findings", "high_findings"]
GROUP_HEADERS = ["Request number", "Group", "Sponsoring Physician", "Sponsor email",
                 "Group Administrator", "Administrator email", "Administrator phone",
                 "Corporate/Legal Representative", "DAA state", "DAA first signed",
                 "DAA last signed", "DAA lapses on", "Active members", "Removed members",
                 "Findings", "High-severity findings"]
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
    has_history = _has_table(con, "finding_changes")
    change = (con.execute("select status, count(*) from finding_changes group by 1").fetchall()
              if has_history else [])
    status = dict(con.execute("select finding_key, status from finding_changes").fetchall()
                  ) if has_history else {}
    trend = (con.execute("select as_of, rule, open_findings from finding_trend").fetchall()
             if has_history else [])
    quarantine = con.execute(
        f"select {', '.join(QUARANTINE_COLUMNS)} from quarantine "
        "order by source_file, source_line, column_name, rule").df()
    inputs = con.execute("""
        select f.source_file, f.format, f.status, f.note,
               coalesce(sum(r.rows_read), 0)::bigint as rows_read,
               coalesce(sum(r.rows_accepted), 0)::bigint as rows_accepted,
               coalesce(sum(r.rows_quarantined), 0)::bigint as rows_quarantined
        from input_files as f
        left join input_reconciliation as r using (source_file)
        group by all order by f.source_file""").df()
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
    scope = con.execute("""
        select
            (select count(*) from int_groups) as groups,
            (select count(*) from int_members where member_status = 'active') as members,
            (select count(*) from int_directory_identities) as directory_accounts,
            (select count(*) from stg_application_accounts) as application_accounts
    """).df().iloc[0].to_dict()

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
        f"select {', '.join(GROUP_COLUMNS)} from group_overview").fetchall()]
    scope["run_inputs"] = [list(r) for r in con.execute("""
        select f.source_file, f.format, f.status, f.size_bytes, f.sha256,
               coalesce(sum(r.rows_read), 0), coalesce(sum(r.rows_accepted), 0),
               coalesce(sum(r.rows_quarantined), 0)
        from input_files as f left join input_reconciliation as r using (source_file)
        group by all order by f.source_file""").fetchall()]
    scope.update(quarantined=len(quarantine), to_resolve=len(notes),
                 expectations=expectations, quarantine_counts=quarantine_counts,
                 warning_counts=warning_counts)
    _write_workbook(xlsx_path, ctx, findings, catalog, inputs, scope, notes)
    written.append(xlsx_path)
    return written


def _write_workbook(path: Path, ctx: ReviewContext, findings: pd.DataFrame,
                    catalog: pd.DataFrame, inputs: pd.DataFrame, scope: dict,
                    notes: pd.DataFrame) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "Summary"
    _summary(ws, ctx, findings, catalog, inputs, scope)
    fs = wb.create_sheet("Findings")
    status = scope["status"]
    rows = [[*r, status.get(r[0], "")] for r in findings.itertuples(index=False, name=None)]
    write_table(fs, [*(FINDINGS_HEADERS[c] for c in FINDING_COLUMNS), "Since last run"], rows,
                severity_column="Severity")
    ns = wb.create_sheet("To resolve")
    write_table(ns, NOTES_HEADERS, [list(r) for r in notes.itertuples(index=False, name=None)])
    write_table(wb.create_sheet("Groups"), GROUP_HEADERS, scope["group_rows"])
    _data_quality_sheet(wb.create_sheet("Data quality"), scope)
    _trend_sheet(wb.create_sheet("Trend"), scope["trend"])
    _run_sheet(wb.create_sheet("Run"), ctx, scope["run_inputs"])
    save_workbook(wb, path, ctx.as_of)


def _data_quality_sheet(ws, scope: dict) -> None:
    """Dataset expectations (Great Expectations) and quarantine counts by file and rule."""
    expectations = scope["expectations"]
    set_value(ws.cell(row=1, column=1), "Data quality")
    ws.cell(row=1, column=1).font = Font(bold=True, size=14)
    not_met = sum(1 for e in expectations if e[3] != "met")
    set_value(ws.cell(row=2, column=1),
              f"{len(expectations)} dataset expectations, {not_met} not met; details in "
              "data_quality/index.html (Great Expectations Data Docs) beside this workbook"
              if expectations else "Dataset expectations were not run")
    row = 4
    set_value(ws.cell(row=row, column=1), "Dataset expectations")
    ws.cell(row=row, column=1).font = Font(bold=True, size=12)
    _small_table(ws, row + 1, ["Table", "Expectation", "Column(s)", "Result", "Rows"],
                 [list(e) for e in expectations])
    row += len(expectations) + 3
    set_value(ws.cell(row=row, column=1), "Quarantined rows by file and rule")
    ws.cell(row=row, column=1).font = Font(bold=True, size=12)
    counts = [list(q) for q in scope["quarantine_counts"]]
    _small_table(ws, row + 1, ["File", "Table", "Rule", "Reason", "Rows"], counts)
    row += len(counts) + 3
    set_value(ws.cell(row=row, column=1), "Rows kept with a warning, by file and rule")
    ws.cell(row=row, column=1).font = Font(bold=True, size=12)
    warnings = [list(w) for w in scope["warning_counts"]]
    _small_table(ws, row + 1, ["File", "Table", "Rule", "Reason", "Rows"], warnings)
    for col, width in zip("ABCDE", (40, 40, 36, 60, 10), strict=True):
        ws.column_dimensions[col].width = width


def _summary(ws, ctx: ReviewContext, findings: pd.DataFrame, catalog: pd.DataFrame,
             inputs: pd.DataFrame, scope: dict) -> None:
    bold = Font(bold=True)
    title = ws.cell(row=1, column=1)
    set_value(title, "Clinical Connectivity access review")
    title.font = Font(bold=True, size=14)
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
    row = 3
    for label, value in facts:
        set_value(ws.cell(row=row, column=1), label)
        ws.cell(row=row, column=1).font = bold
        set_value(ws.cell(row=row, column=2), value)
        row += 1

    row += 1
    set_value(ws.cell(row=row, column=1), "Findings by rule")
    ws.cell(row=row, column=1).font = Font(bold=True, size=12)
    row += 1
    evaluated = {m.removeprefix("rule_").upper() for m in rule_models()}
    counts = findings.groupby("rule").size().to_dict() if len(findings) else {}
    by_rule = []
    for rec in catalog.itertuples(index=False):
        status = counts.get(rec.rule, 0) if rec.rule in evaluated else "not evaluated yet"
        by_rule.append([rec.rule, rec.severity, status, rec.description])
    header_row = row
    _small_table(ws, row, ["Rule", "Severity", "Findings", "What it means"], by_rule)
    for i, r in enumerate(by_rule, start=header_row + 1):
        fill = SEVERITY_FILLS.get(r[1])
        if fill:
            ws.cell(row=i, column=2).fill = fill
    row += len(by_rule) + 2

    set_value(ws.cell(row=row, column=1), "Thresholds and settings used")
    ws.cell(row=row, column=1).font = Font(bold=True, size=12)
    row += 1
    settings = [[k, v] for k, v in ctx.settings.items()]
    _small_table(ws, row, ["Setting", "Value"], settings)
    row += len(settings) + 2

    set_value(ws.cell(row=row, column=1), "Inputs")
    ws.cell(row=row, column=1).font = Font(bold=True, size=12)
    row += 1
    in_rows = [list(r) for r in inputs.itertuples(index=False, name=None)]
    _small_table(ws, row, ["File", "Format", "Status", "Note", "Rows read", "Accepted",
                           "Quarantined"], in_rows)
    for col, width in zip("ABCDEFG", (44, 28, 14, 36, 12, 12, 12), strict=True):
        ws.column_dimensions[col].width = width
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _small_table(ws, row: int, header: list[str], rows: list[list]) -> None:
    for j, h in enumerate(header, start=1):
        c = ws.cell(row=row, column=j)
        set_value(c, h)
        c.font = Font(bold=True)
    for i, r in enumerate(rows, start=row + 1):
        for j, v in enumerate(r, start=1):
            set_value(ws.cell(row=i, column=j), v)


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return con.execute("select count(*) from information_schema.tables where table_name = ?",
                       [name]).fetchall()[0][0] > 0


def _trend_sheet(ws, trend: list[tuple]) -> None:
    """Open findings per rule at each recorded review, with a native Excel line chart."""
    from openpyxl.chart import LineChart, Reference

    dates = sorted({t[0] for t in trend})
    rules = sorted({t[1] for t in trend})
    counts = {(d, r): n for d, r, n in trend}
    write_table(ws, ["Review as of", *rules],
                [[d, *(counts.get((d, r), 0) for r in rules)] for d in dates])
    if not dates or not rules:
        return
    chart = LineChart()
    chart.title = "Open findings per rule, by review"
    chart.y_axis.title = "Open findings"
    chart.x_axis.title = "Review as of"
    chart.x_axis.number_format = "yyyy-mm-dd"
    chart.height, chart.width = 10, 24
    data = Reference(ws, min_col=2, max_col=len(rules) + 1, min_row=1, max_row=len(dates) + 1)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=len(dates) + 1))
    ws.add_chart(chart, f"A{len(dates) + 4}")


def _run_sheet(ws, ctx: ReviewContext, inputs: list[list]) -> None:
    """The run as audit evidence: as-of, versions, every input with its SHA-256 and counts,
    every setting used."""
    from reports.run_manifest import versions

    set_value(ws.cell(row=1, column=1), f"Review as of {ctx.as_of.isoformat()}")
    ws.cell(row=1, column=1).font = Font(bold=True, size=14)
    row = 3
    _small_table(ws, row, ["Component", "Version"], [[k, v] for k, v in versions().items()])
    row += len(versions()) + 3
    _small_table(ws, row, ["Input file", "Format", "Status", "Bytes", "SHA-256", "Rows read",
                           "Accepted", "Quarantined"], inputs)
    row += len(inputs) + 3
    _small_table(ws, row, ["Setting", "Value"], [[k, v] for k, v in ctx.settings.items()])
    for col, width in zip("ABCDEFGH", (44, 28, 12, 12, 66, 12, 12, 12), strict=True):
        ws.column_dimensions[col].width = width
