"""The periodic review's outputs: `findings.csv` and `findings.parquet`, `quarantine.csv`,
`review_notes.csv`, the compliance workbook `access_review_<as-of>.xlsx` (Summary,
Findings, Entitlements, To resolve, Groups, Data quality, Trend and Run sheets) and
`review_summary_<as-of>.html`, the counts alone, to send around.

Everything is read from the finished warehouse; nothing here computes a finding.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from ccreview.core.config import setting_label
from ccreview.core.duckdb_catalog import has_table
from ccreview.core.vocabulary import FINDING_COLUMNS, SUITE_LABELS
from ccreview.reports.files import atomic_path, write_csv
from ccreview.reports.review_summary import Headline, write_html_summary
from ccreview.reports.xlsx import DATE_FORMAT, FreeformSheet, StreamingBook

TITLE = "Clinical Connectivity access review"

FINDINGS_HEADERS = {
    "finding_key": "Finding key", "rule": "Rule", "severity": "Severity",
    "request_number": "Request number", "group_name": "Group", "email": "Email",
    "person_name": "Person", "lan_id": "LAN ID", "application": "Application",
    "detail": "Detail", "control": "Controls", "recommended_action": "Recommended action",
}
# The Findings sheet: what a reader needs first, the key last ("since" = the change column)
FINDINGS_SHEET = ["rule", "severity", "since", "group_name", "request_number", "person_name",
                  "email", "lan_id", "application", "detail", "recommended_action", "control",
                  "finding_key"]
FINDINGS_CAPS = {"Group": 22, "Person": 20, "Email": 26, "Detail": 32,
                 "Recommended action": 28, "Controls": 20}
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
# rows of an event file the evidence store already had from an earlier file (the note says
# by which key), and those of it the store holds or held that the run does not use (past
# its retention; the note says why); read = accepted + quarantined, the file's rows = read
# + these two
ALREADY_STORED_HEADER = "Already stored"
NOT_USED_HEADER = "Not used"


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
                         "rows_quarantined, rows_already_stored, rows_not_used from input_summary "
                         "order by source_file").df()
    catalog = con.execute("select rule, severity, description from findings_catalog").df()
    notes = con.execute(f"select {', '.join(NOTES_COLUMNS)} from review_notes").df()
    has_dq = has_table(con, "data_quality_results")
    expectations = con.execute(
        "select suite, description, column_name, case when success then 'met' else 'NOT MET' "
        "end, rows, expectation from data_quality_results "
        "order by success, suite, expectation, column_name").fetchall() if has_dq else []
    expectations = [(SUITE_LABELS.get(e[0], e[0]), *e[1:]) for e in expectations]
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
        "rows_quarantined, rows_already_stored, rows_not_used from input_summary "
        "order by source_file"
    ).fetchall()]
    scope.update(quarantined=len(quarantine), to_resolve=len(notes),
                 expectations=expectations, quarantine_counts=quarantine_counts,
                 warning_counts=warning_counts)
    headline = Headline.build(findings, catalog, scope)
    _write_workbook(xlsx_path, ctx, findings, headline, inputs, scope, notes, con)
    written.append(xlsx_path)
    written.append(write_html_summary(out_dir, ctx.as_of, ctx.version, headline))
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
                    headline: Headline, inputs: pd.DataFrame, scope: dict,
                    notes: pd.DataFrame, con: duckdb.DuckDBPyConnection) -> None:
    status = scope["status"]
    at = {c: FINDING_COLUMNS.index(c) for c in FINDING_COLUMNS}
    with StreamingBook(path, ctx.as_of, TITLE) as book:
        _summary(book, ctx, headline, inputs)
        rows = ([status.get(r[0], "") if c == "since" else r[at[c]] for c in FINDINGS_SHEET]
                for r in findings.itertuples(index=False, name=None))
        book.table("Findings", [FINDINGS_HEADERS.get(c, "Since last run")
                                for c in FINDINGS_SHEET], rows, severity_column="Severity",
                   caps=FINDINGS_CAPS)
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
    ws.table(["Table", "Check", "Column(s)", "Result", "Rows", "Expectation (Data Docs)"],
             [list(e) for e in expectations])
    ws.skip()
    ws.line("Quarantined rows by file and rule", fmt="heading")
    ws.table(["File", "Table", "Rule", "Reason", "Rows"],
             [list(q) for q in scope["quarantine_counts"]])
    ws.skip()
    ws.line("Rows kept with a warning, by file and rule", fmt="heading")
    ws.table(["File", "Table", "Rule", "Reason", "Rows"],
             [list(w) for w in scope["warning_counts"]])


def _summary(book: StreamingBook, ctx: ReviewContext, headline: Headline,
             inputs: pd.DataFrame) -> None:
    """Headline numbers first, then the findings by rule (most first, with what each
    means) and their chart below, by severity, the groups with most findings, the
    settings in words, the inputs."""
    ws = FreeformSheet(book, "Summary")
    ws.line(f"{TITLE} as of {ctx.as_of.isoformat()}", fmt="title")
    ws.skip()
    for label, value in headline.facts:
        ws.fact(label, value)
    ws.fact("Produced by", f"ccreview {ctx.version}")
    ws.skip()
    ws.line("Findings by rule (most first)", fmt="heading")
    first = ws.row + 1  # the table's first data row (0-based)
    ws.table(["Rule", "What it means", "Severity", "Findings"],
             [[r[0], r[3], r[1], r[2]] for r in headline.by_rule], severity_column=2)
    charted = sum(1 for r in headline.by_rule if isinstance(r[2], int) and r[2] > 0)
    if charted:
        ws.chart(_findings_by_rule_chart(book, first, first + charted - 1),
                 rows=max(8, charted + 4))
    ws.skip()
    ws.line("Findings by severity", fmt="heading")
    ws.table(["Severity", "Findings"], headline.by_severity, severity_column=0)
    if headline.attestation:
        ws.skip()
        ws.line(f"Attestation of {headline.attestation_of}: groups by status", fmt="heading")
        ws.table(["Status", "Groups"], headline.attestation)
    ws.skip()
    ws.line(f"Groups with most findings (first {len(headline.top_groups)}; every group "
            "on the Groups sheet)", fmt="heading")
    ws.table(["Request number", "Group", "Findings", "High severity"], headline.top_groups)
    ws.skip()
    ws.line("Thresholds and settings used", fmt="heading")
    ws.table(["Setting", "Value"], [[setting_label(k), v] for k, v in ctx.settings.items()])
    ws.skip()
    ws.line("Inputs", fmt="heading")
    ws.table(["File", "Format", "Status", "Note", "Rows read", "Accepted", "Quarantined",
              ALREADY_STORED_HEADER, NOT_USED_HEADER],
             [list(r) for r in inputs.itertuples(index=False, name=None)])


def _findings_by_rule_chart(book: StreamingBook, first: int, last: int):
    """A native bar chart of open findings per rule (the rules with any), most first."""
    chart = book.wb.add_chart({"type": "bar"})
    chart.add_series({"name": "Open findings",
                      "categories": ["Summary", first, 0, last, 0],
                      "values": ["Summary", first, 3, last, 3],
                      "data_labels": {"value": True}})
    chart.set_title({"name": "Open findings by rule"})
    chart.set_legend({"none": True})
    chart.set_y_axis({"reverse": True})
    return chart


TREND_CHART_COLUMNS = 8  # the chart spans these columns, right of the table
TREND_CHART_WIDTH = 11


def _trend_sheet(book: StreamingBook, trend: list[tuple]) -> None:
    """Open findings per rule at each recorded review, one row per rule and review (rules
    with no finding at a review count 0), and a native Excel chart beside the table: this
    review's counts as bars until there are two reviews, then a line per rule that had
    findings, on a date axis running from the first review to this one."""
    dates = sorted({t[0] for t in trend})
    rules = sorted({t[1] for t in trend})
    counts = {(d, r): n for d, r, n in trend}
    book.table("Trend", ["Rule", "Review as of", "Open findings"],
               [[r, d, counts.get((d, r), 0)] for r in rules for d in dates])
    if not dates or not rules:
        return
    ws = book.wb.get_worksheet_by_name("Trend")
    widths = [*book.widths_of("Trend"), 3, *[TREND_CHART_WIDTH] * TREND_CHART_COLUMNS]
    book.set_widths(ws, widths)
    n = len(dates)
    if n == 1:
        chart = book.wb.add_chart({"type": "column"})
        chart.add_series({"name": f"Open findings at the review of {dates[0].isoformat()}",
                          "categories": ["Trend", 1, 0, len(rules), 0],
                          "values": ["Trend", 1, 2, len(rules), 2],
                          "data_labels": {"value": True}})
        chart.set_title({"name": f"Open findings per rule at this review "
                                 f"({dates[0].isoformat()}); a trend from the next review"})
        chart.set_legend({"none": True})
        chart.set_x_axis({"num_font": {"rotation": -45}})
    else:
        chart = book.wb.add_chart({"type": "line"})
        for i, rule in enumerate(rules):
            if any(counts.get((d, rule), 0) for d in dates):
                first = 1 + i * n
                chart.add_series({"name": rule,
                                  "categories": ["Trend", first, 1, first + n - 1, 1],
                                  "values": ["Trend", first, 2, first + n - 1, 2],
                                  "marker": {"type": "circle"}})
        chart.set_title({"name": "Open findings per rule, by review"})
        chart.set_x_axis({"name": "Review as of", "num_format": DATE_FORMAT,
                          "date_axis": True, "min": dates[0], "max": dates[-1],
                          "base_unit": "days", "num_font": {"rotation": -45}})
        chart.set_legend({"position": "bottom"})
    chart.set_y_axis({"name": "Open findings", "min": 0})
    chart.set_size({"width": TREND_CHART_COLUMNS * (TREND_CHART_WIDTH * 7 + 5),
                    "height": 420})
    ws.insert_chart(1, 4, chart)
    ws.hide_gridlines(1)  # on screen, not across the chart's empty cells on paper
    ws.print_area(0, 0, max(len(rules) * n, 22), 3 + TREND_CHART_COLUMNS)


def _run_sheet(book: StreamingBook, ctx: ReviewContext, inputs: list[list]) -> None:
    """The run as audit evidence: as-of, versions, every input with its SHA-256 and counts,
    every setting used."""
    from ccreview.reports.run_manifest import versions

    ws = FreeformSheet(book, "Run")
    ws.line(f"Review as of {ctx.as_of.isoformat()}: versions, inputs and settings",
            fmt="title")
    ws.skip()
    ws.table(["Component", "Version"], [[k, v] for k, v in versions().items()])
    ws.skip(2)
    ws.table(["Input file", "Format", "Status", "Bytes", "SHA-256", "Rows read", "Accepted",
              "Quarantined", ALREADY_STORED_HEADER, NOT_USED_HEADER], inputs)
    ws.skip(2)
    ws.table(["Setting", "Key", "Value"],
             [[setting_label(k), k, v] for k, v in ctx.settings.items()])
