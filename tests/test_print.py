"""Workbooks as a compliance officer prints them: the page set-up of every sheet read back
with openpyxl, text that never runs into its neighbour, the Summary in reading order, the
Trend's chart; and, where LibreOffice is installed, every workbook printed to PDF with the
pages of each sheet counted against a budget (pypdf reads the sheet's name from the
header LibreOffice prints atop each page)."""

from __future__ import annotations

import collections
import datetime as dt
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from tests.conftest import SAMPLE_AS_OF

DAY = SAMPLE_AS_OF.isoformat()
TITLES = {"access_review": "Clinical Connectivity access review",
          "attestation": "Access attestation CS",
          "census": "Physician Census: ",
          "dormant_accounts": "Dormant and orphaned accounts",
          "r2w_distribution": "Report2Web distribution list",
          "remediation": "Attestation remediation"}
# Pages each sheet may take when printed (the sample: 24 groups). A sheet over budget
# prints too small or spills; raise a budget only after looking at the PDF.
BUDGET = {
    "access_review": {"Summary": 4, "Findings": 5, "Entitlements": 9, "To resolve": 1,
                      "Groups": 1, "Data quality": 1, "Trend": 1, "Run": 2},
    "attestation": {"Instructions": 1, "Review": 1},
    "census": {"Census": 1, "Movements": 1},
    "dormant_accounts": {"Summary": 2, "All accounts": 1, "No group (orphans)": 1,
                         "Exceptions": 1},
    "r2w_distribution": {"Distribution": 5, "Not distributed": 1, "Recipients left off": 1},
    "remediation": {"Summary": 1, "Groups": 2, "To revoke or change": 3, "Problems": 1},
}
# The smallest text (points) a sheet may print at, measured with LibreOffice's fallback
# font where Calibri and Carlito are absent (wider, so smaller than on a Calibri machine).
# Before this layout the Findings printed at 2.7 pt and the Summary at 4.1 pt. The wide
# lists kept for working on screen (a score of columns) have no floor.
LEGIBLE = {"Summary": 5.5}
LEGIBLE_DEFAULT = 4.0
NO_FLOOR = {"Entitlements", "Groups", "All accounts", "No group (orphans)"}
PER_ADMIN_SHEET_PAGES = 2  # an administrator's list (dormant) or an application team's
# (remediation)


def _visible(path: Path):
    wb = openpyxl.load_workbook(path)
    return wb, [ws for ws in wb if ws.sheet_state == "visible"]


def _widths(ws) -> list[float]:
    """Each used column's width (openpyxl reads equal neighbours as one min..max range)."""
    last = max([ws.max_column, *(d.max or 0 for d in ws.column_dimensions.values())])
    widths = [8.43] * last
    for dim in ws.column_dimensions.values():
        for j in range(dim.min or 1, (dim.max or dim.min or 1) + 1):
            if dim.width:
                widths[j - 1] = dim.width
    return widths


def test_every_sheet_is_set_up_for_printing(workbooks):
    """Header: report, sheet, as-of; footer: confidential (PHI on the census), page X of Y;
    Letter; one page wide; landscape exactly when the columns are wider than a portrait
    page; tables repeat their header row on every page."""
    for kind, paths in workbooks.items():
        for path in paths[:2]:
            wb, sheets = _visible(path)
            for ws in sheets:
                where = f"{path.name} / {ws.title}"
                assert ws.oddHeader.left.text.startswith(TITLES[kind]), where
                assert ws.oddHeader.center.text == "&A", where
                assert ws.oddHeader.right.text == f"As of {DAY}", where
                mark = ("Confidential: contains PHI" if kind == "census" else "Confidential")
                assert ws.oddFooter.left.text == mark, where
                assert ws.oddFooter.right.text == "Page &P of &N", where
                assert ws.page_setup.paperSize == 1, where
                assert ws.sheet_properties.pageSetUpPr.fitToPage, where
                # one page wide (1 is the attribute's default, so it may be left out)
                assert ws.page_setup.fitToWidth in (None, 1), where
                assert ws.page_setup.fitToHeight == 0, where
                wide = sum(_widths(ws)) > 100
                assert ws.page_setup.orientation == ("landscape" if wide else "portrait"), \
                    where
                if ws.freeze_panes:  # a table: its header row on every printed page
                    assert ws.print_title_rows, where


def test_no_text_runs_into_its_neighbour(workbooks):
    """A text longer than its column either wraps (with its row made tall enough) or has
    nothing to its right to run into."""
    offenders = []
    for kind, paths in workbooks.items():
        wb, sheets = _visible(paths[0])
        for ws in sheets:
            widths = _widths(ws)
            merged = {(r.min_row, r.min_col) for r in ws.merged_cells.ranges}
            for row in ws.iter_rows():
                for cell in row:
                    v = cell.value
                    if not isinstance(v, str) or (cell.row, cell.column) in merged:
                        continue
                    if len(v) <= widths[cell.column - 1] or cell.alignment.wrap_text:
                        continue
                    right = ws.cell(row=cell.row, column=cell.column + 1).value
                    if right not in (None, ""):
                        offenders.append(f"{kind} {ws.title}!{cell.coordinate}: {v[:30]}")
    assert offenders == []


def test_wrapped_rows_are_tall_enough(workbooks):
    """Rows holding wrapped text are given a height: apps do not grow them."""
    wb = openpyxl.load_workbook(workbooks["access_review"][0])
    ws = wb["Findings"]
    header = [c.value for c in ws[1]]
    detail = header.index("Detail") + 1
    width = _widths(ws)[detail - 1]
    long_rows = [c.row for c in ws[get_column_letter(detail)][1:]
                 if isinstance(c.value, str) and len(c.value) > 1.1 * width + 5]
    assert long_rows
    for r in long_rows:
        assert ws.cell(row=r, column=detail).alignment.wrap_text
        assert (ws.row_dimensions[r].height or 15) >= 30


def test_the_summary_reads_in_order(workbooks):
    """Headline numbers first; rules by count, most first, each with its meaning, counts
    centred (never running into the text); the chart on its own printed page below the
    table; settings in words, not keys."""
    wb = openpyxl.load_workbook(workbooks["access_review"][0])
    ws = wb["Summary"]
    rows = [[c for c in r] for r in ws.iter_rows()]
    labels = [r[0].value for r in rows]
    assert labels[2:4] == ["Findings", "High severity"]
    start = labels.index("Findings by rule (most first)") + 2
    table = []
    for r in rows[start:]:
        if r[0].value is None:
            break
        table.append(r)
    counts = [r[3].value for r in table]
    evaluated = [n for n in counts if isinstance(n, int)]
    assert evaluated == sorted(evaluated, reverse=True) and len(evaluated) >= 10
    assert counts == evaluated + [n for n in counts if not isinstance(n, int)]
    assert all(r[1].value and " " in r[1].value for r in table)  # a sentence, not a code
    assert all(r[3].alignment.horizontal == "center" for r in table
               if isinstance(r[3].value, int))
    (chart,) = ws._charts
    chart_row = chart.anchor._from.row
    assert chart.anchor._from.col == 0 and chart_row >= start + len(table)
    assert chart_row in {b.id for b in ws.row_breaks.brk}
    settings = labels.index("Thresholds and settings used") + 2
    names = [r[0].value for r in rows[settings:] if r[0].value][:8]
    assert "Dormant after this many days without a successful sign-in" in names
    assert not [n for n in names if "." in n and " " not in n]


def test_data_quality_says_what_each_check_asks(workbooks):
    wb = openpyxl.load_workbook(workbooks["access_review"][0])
    rows = list(wb["Data quality"].iter_rows(values_only=True))
    head = rows.index(("Table", "Check", "Column(s)", "Result", "Rows",
                       "Expectation (Data Docs)"))
    checks = [r for r in rows[head + 1:] if r[0]][:19]
    assert len(checks) == 19
    assert all(" " in r[1] and not r[1].startswith("expect_") for r in checks)
    assert all(r[5].startswith("expect_") for r in checks)  # the name in the Data Docs
    assert "AD accounts" in {r[0] for r in checks}


def test_the_first_review_shows_its_counts_as_bars(workbooks):
    """With one review there is no trend to draw: a bar per rule, not one-point lines."""
    wb = openpyxl.load_workbook(workbooks["access_review"][0])
    ws = wb["Trend"]
    assert [c.value for c in ws[1]] == ["Rule", "Review as of", "Open findings"]
    (chart,) = ws._charts
    assert chart.tagname == "barChart" and chart.type == "col"


def test_the_attestation_headers_are_not_clipped(workbooks):
    """Every header fits its column once wrapped, the header row tall enough for it."""
    wb = openpyxl.load_workbook(workbooks["attestation"][0])
    ws = wb["Review"]
    widths = _widths(ws)
    height = ws.row_dimensions[1].height or 15
    for cell in ws[1]:
        words = cell.value.split()
        assert max(len(w) for w in words) <= widths[cell.column - 1], cell.value
        if len(cell.value) > widths[cell.column - 1] - 1:
            assert height >= 30, cell.value
    assert "Allowed by policy" in [c.value for c in ws[1]]


def _text_sizes(page) -> list[float]:
    """The printed size (points) of each piece of text on a PDF page."""
    sizes: list[float] = []
    page.extract_text(visitor_text=lambda t, cm, tm, fd, fs: sizes.append(
        fs * abs(tm[0]) * abs(cm[0])) if t.strip() else None)
    return sizes


def _sheet_of_each_page(pdf: Path) -> list[str]:
    """The sheet each printed page belongs to: the middle of the header line LibreOffice
    prints atop the page (the header's right part is "As of <date>")."""
    import pypdf

    def texts(page) -> list[tuple[float, float, str]]:
        items: list[tuple[float, float, str]] = []
        page.extract_text(visitor_text=lambda t, cm, tm, fd, fs: items.append(
            (tm[4], tm[5], t.strip())) if t.strip() else None)
        return items

    names = []
    for page in pypdf.PdfReader(pdf).pages:
        width = float(page.mediabox.width)
        items = texts(page)
        as_of = max((i for i in items if i[2] == f"As of {DAY}"), key=lambda i: i[1])
        line = sorted((i for i in items if abs(i[1] - as_of[1]) < 1), key=lambda i: i[0])
        assert len(line) == 3, line  # report, sheet, as-of
        names.append(line[1][2])
        assert line[1][0] < width / 2 < line[2][0]
    return names


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_each_sheet_prints_within_its_page_budget(workbooks, tmp_path):
    """LibreOffice prints each kind of workbook to PDF; every sheet takes no more pages
    than its budget, every page carries the header and the footer."""
    import pypdf

    sources = {kind: paths[0] for kind, paths in workbooks.items()}
    sources["census"] = max(workbooks["census"], key=lambda p: p.stat().st_size)
    profile = (tmp_path / "profile").as_uri()
    for kind, path in sources.items():
        copy = tmp_path / f"{kind}.xlsx"
        shutil.copy(path, copy)
    subprocess.run(["soffice", f"-env:UserInstallation={profile}", "--headless",
                    "--convert-to", "pdf", "--outdir", str(tmp_path / "pdf"),
                    *(str(tmp_path / f"{k}.xlsx") for k in sources)],
                   check=True, capture_output=True, timeout=600)
    over = []
    for kind in sources:
        pdf = tmp_path / "pdf" / f"{kind}.pdf"
        pages = collections.Counter(_sheet_of_each_page(pdf))
        wb, sheets = _visible(sources[kind])
        assert set(pages) == {ws.title for ws in sheets}, kind  # every sheet prints
        for sheet, n in pages.items():
            budget = BUDGET[kind].get(sheet, PER_ADMIN_SHEET_PAGES)
            if n > budget:
                over.append(f"{kind} / {sheet}: {n} pages (budget {budget})")
        reader = pypdf.PdfReader(pdf)
        texts = [p.extract_text() for p in reader.pages]
        mark = "Confidential: contains PHI" if kind == "census" else "Confidential"
        assert all(mark in t and f"of {len(texts)}" in t for t in texts), kind
        for sheet, page in zip(_sheet_of_each_page(pdf), reader.pages, strict=True):
            body = collections.Counter(round(s, 1) for s in _text_sizes(page))
            size = body.most_common(1)[0][0]  # the size most of the page is printed at
            floor = LEGIBLE.get(sheet, LEGIBLE_DEFAULT)
            if sheet not in NO_FLOOR and size < floor:
                over.append(f"{kind} / {sheet}: printed at {size} pt (at least {floor})")
    assert over == []


def test_review_dates_are_real_dates_on_the_trend_axis():
    """Checked here on the writer alone: two reviews give a line chart whose date axis
    runs from the first review to the last (not from 1900 or 1 January)."""
    import tempfile

    from ccreview.reports.access_review import _trend_sheet
    from ccreview.reports.xlsx import StreamingBook

    first, last = dt.date(2026, 8, 1), dt.date(2026, 11, 1)
    trend = [(first, "ORPHAN_ACCOUNT", 3), (last, "ORPHAN_ACCOUNT", 5),
             (first, "APP_UNUSED", 0), (last, "APP_UNUSED", 0)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.xlsx"
        with StreamingBook(path, last, "Test") as book:
            _trend_sheet(book, trend)
        ws = openpyxl.load_workbook(path)["Trend"]
        (chart,) = ws._charts
    assert chart.tagname == "lineChart"
    assert len(chart.series) == 1  # a rule that never had a finding draws no line
    serial = lambda d: (d - dt.date(1899, 12, 30)).days  # noqa: E731
    assert (chart.x_axis.scaling.min, chart.x_axis.scaling.max) == (serial(first),
                                                                    serial(last))


def test_rows_are_sized_for_wrapped_text_up_to_a_limit(tmp_path, monkeypatch):
    """The first FITTED_ROWS rows of a table get a height for their wrapped text; later
    rows of a long (screen) sheet keep the default height, wrapped all the same."""
    from ccreview.reports import xlsx

    monkeypatch.setattr(xlsx, "FITTED_ROWS", 3)
    path = tmp_path / "t.xlsx"
    long = "a sentence long enough to need three lines in a column of twenty-four"
    with xlsx.StreamingBook(path, SAMPLE_AS_OF, "Test") as book:
        book.table("T", ["Code", "Text"], [[f"r{i}", long] for i in range(6)])
    ws = openpyxl.load_workbook(path)["T"]
    heights = [ws.row_dimensions[r].height for r in range(2, 8)]
    assert heights[:3] == [45, 45, 45] and heights[3:] == [None, None, None]
    assert all(ws.cell(row=r, column=2).alignment.wrap_text for r in range(2, 8))


def test_every_setting_has_words():
    """Every key the configuration reports reads as words on the Summary, including those
    made from the configuration itself (severity overrides, exceptions, list layouts)."""
    from ccreview.core.config import ReviewConfig, setting_label

    for key in ReviewConfig().as_flat_dict():
        label = setting_label(key)
        assert label != key and " " in label and key not in label, key
    assert setting_label("severity.APP_UNUSED") == "Severity of APP_UNUSED"
    assert setting_label("exceptions.jdoe.DORMANT_ACCOUNT") == \
        "Exception: DORMANT_ACCOUNT for jdoe"
    assert setting_label("application_lists.qventus") == \
        "Columns of the qventus application list"


def test_the_headline_orders_rules_by_count_then_severity_by_hand():
    """Written by hand, not from a review: rules with most open findings first, ties by
    severity (high, medium, low) then code, rules not evaluated at this review last; the
    attestation counted by status; the groups with most findings first."""
    import pandas as pd

    from ccreview.reports.review_summary import NOT_EVALUATED, Headline

    findings = pd.DataFrame({"rule": ["B_LOW", "B_LOW", "A_HIGH", "C_MED", "C_MED"],
                             "severity": ["low", "low", "high", "medium", "medium"]})
    catalog = pd.DataFrame({"rule": ["A_HIGH", "B_LOW", "C_MED", "D_HIGH", "E_NEW"],
                            "severity": ["high", "low", "medium", "high", "high"],
                            "description": ["a", "b", "c", "d", "e"]})
    # GROUP_COLUMNS (17: findings and high-severity findings last), then attestation of,
    # due, status
    groups = [["CS2", "Two", *[None] * 13, 1, 0, SAMPLE_AS_OF, None, "overdue"],
              ["CS1", "One", *[None] * 13, 4, 1, SAMPLE_AS_OF, None, "returned"],
              ["CS3", "Three", *[None] * 13, 0, 0, SAMPLE_AS_OF, None, "overdue"]]
    scope = {"evaluated_rules": {"A_HIGH", "B_LOW", "C_MED", "D_HIGH"},
             "change": {"new": 5}, "group_rows": groups, "quarantine_counts": [],
             "to_resolve": 0, "groups": 3, "members": 9, "directory_accounts": 9,
             "application_accounts": 12, "quarantined": 0, "expectations": []}
    h = Headline.build(findings, catalog, scope)
    assert [r[0] for r in h.by_rule] == ["C_MED", "B_LOW", "A_HIGH", "D_HIGH", "E_NEW"]
    assert [r[2] for r in h.by_rule] == [2, 2, 1, 0, NOT_EVALUATED]
    assert h.by_severity == [["high", 1], ["medium", 2], ["low", 2]]
    assert h.attestation == [["overdue", 2], ["returned", 1]]
    assert h.attestation_of == SAMPLE_AS_OF
    assert h.top_groups == [["CS1", "One", 4, 1], ["CS2", "Two", 1, 0]]
    assert dict(h.facts)["High severity"] == 1 and h.changes["new"] == 5
