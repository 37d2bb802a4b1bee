"""The review's files: inert cells, a stable public surface, atomic writes, determinism."""

from __future__ import annotations

import csv

import openpyxl
import pytest

from ccreview.reports.access_review import ReviewContext, write_review_reports
from ccreview.reports.attestation import write_attestation_workbooks
from ccreview.reports.dormant_accounts import write_dormant_reports
from ccreview.reports.files import atomic_path, csv_safe
from ccreview.reports.r2w import write_distribution
from tests.cases import AS_OF, Account, AppAccount, Case, days_ago, person
from tests.conftest import build_warehouse

# OWASP CSV-injection payloads and an Excel formula, as a person's name
PAYLOADS = ['=HYPERLINK("http://x.example","y")', "=1+1", "+1+1", "-1+1", "@SUM(1,1)",
            "=cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]


def _context() -> ReviewContext:
    return ReviewContext(as_of=AS_OF, settings={"thresholds.dormancy_days": "90"},
                         version="test")


@pytest.fixture
def payload_review(tmp_path):
    case = Case()
    sponsor = person("Ada", "Lovelace", "Sponsoring Physician", "MD")
    members = [person(p, "Evil", "Staff", "Billing", ("CERNER", "R2W"), email=f"e{i}@x.example")
               for i, p in enumerate(PAYLOADS)]
    case.register("CS0000001", sponsor, None, members, name='=HYPERLINK("http://x","y")')
    case.accounts.append(Account("ada", sponsor["email"], entra_last_success=days_ago(1)))
    case.app_accounts.append(AppAccount("PACS", "=1+1", email="=2+2@x.example"))
    case.accounts.append(Account("evil", "e0@x.example"))  # never signed in: support's list
    con = build_warehouse(case.write(tmp_path / "in"), AS_OF)
    written = write_review_reports(con, tmp_path / "out", _context())
    written += write_dormant_reports(con, tmp_path / "out", AS_OF, _context().settings)
    written += write_attestation_workbooks(con, tmp_path / "out", AS_OF, 30)
    written += write_distribution(con, tmp_path / "out", AS_OF)
    return con, {p.name: p for p in written}


def test_no_cell_built_from_input_becomes_a_formula(payload_review):
    _, files = payload_review
    texts = set()
    books = [name for name in files if name.endswith(".xlsx")]
    assert {"access_review_2026-11-01.xlsx", "dormant_accounts_2026-11-01.xlsx",
            "CS0000001.xlsx", "r2w_distribution_2026-11-01.xlsx"} <= set(books)
    for book in books:
        for ws in openpyxl.load_workbook(files[book]):
            for row in ws.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", f"{book} {ws.title}!{cell.coordinate}"
                    if isinstance(cell.value, str):
                        texts.add(cell.value)
    names = {f"{p.strip()} Evil" for p in PAYLOADS}  # input is trimmed, never evaluated
    assert names <= texts  # kept verbatim, as text
    assert '=HYPERLINK("http://x","y")' in texts  # the group name


def test_csv_cells_get_owasp_escaping(payload_review):
    _, files = payload_review
    with files["dormant_accounts.csv"].open(newline="", encoding="utf-8") as fh:
        dormant = list(csv.DictReader(fh))
    assert any(r["person_name"].startswith("'") for r in dormant)
    with files["findings.csv"].open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for r in dormant:
        for value in r.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    names = {r["person_name"] for r in rows}
    assert {"'" + f"{p.strip()} Evil" for p in PAYLOADS} <= names
    for r in rows:
        for value in r.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    with files["attestation_manifest.csv"].open(newline="", encoding="utf-8") as fh:
        manifest = list(csv.DictReader(fh))
    assert manifest[0]["group_name"] == "'" + '=HYPERLINK("http://x","y")'



def test_csv_safe_leaves_ordinary_values_alone():
    assert csv_safe("Jane Doe") == "Jane Doe"
    assert csv_safe(42) == 42
    assert csv_safe("-5") == "'-5"


def test_csv_safe_escapes_a_formula_after_a_line_break_inside_a_cell():
    assert csv_safe("note\n=cmd|' /C calc'!A0") == "note\n'=cmd|' /C calc'!A0"
    assert csv_safe("a\r+b\r\n@c") == "a\r'+b\r\n'@c"
    assert csv_safe("x\x00\n-1") == "x\n'-1"  # NUL removed first
    assert csv_safe("two\nlines") == "two\nlines"


def test_workbook_is_ready_to_work_from(payload_review):
    _, files = payload_review
    ws = openpyxl.load_workbook(files["access_review_2026-11-01.xlsx"])["Findings"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref.startswith("A1:M")
    assert ws.page_setup.orientation == "landscape"
    assert ws.print_title_rows == "$1:$1"
    colours = {"high": "F8CBAD", "medium": "FFE699", "low": "DDEBF7"}
    severities = set()
    header = [c.value for c in ws[1]]
    assert header[:2] == ["Rule", "Severity"] and header[-1] == "Finding key"
    for r in range(2, ws.max_row + 1):
        severity = ws.cell(row=r, column=2).value
        severities.add(severity)
        assert ws.cell(row=r, column=2).fill.fgColor.rgb.endswith(colours[severity])
    assert "high" in severities


def test_same_inputs_give_the_same_contents(payload_review, tmp_path):
    con, files = payload_review
    again = {p.name: p for p in write_review_reports(con, tmp_path / "again", _context())}
    assert files["findings.csv"].read_bytes() == again["findings.csv"].read_bytes()
    a = openpyxl.load_workbook(files["access_review_2026-11-01.xlsx"])
    b = openpyxl.load_workbook(again["access_review_2026-11-01.xlsx"])
    for ws in a:
        assert [[c.value for c in r] for r in ws.iter_rows()] == \
               [[c.value for c in r] for r in b[ws.title].iter_rows()]
    assert a.properties.modified == b.properties.modified
    assert a.properties.modified.date() == AS_OF


def test_atomic_path_leaves_nothing_behind_on_failure(tmp_path):
    target = tmp_path / "report.csv"
    target.write_text("previous run")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "previous run"
    assert [p.name for p in tmp_path.iterdir()] == ["report.csv"]
