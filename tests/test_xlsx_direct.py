"""The direct table-book writer (`reports/xlsx_direct.py`) against StreamingBook, byte for
byte: hand-written tables for each thing the writer lays out (titles, wrapped rows and
headers, row blocks of 16, the width sample, every value type, XML and Excel escapes,
sheet order), generated tables, and the cases it hands to StreamingBook."""

from __future__ import annotations

import datetime as dt
import io
import random
import zipfile
from decimal import Decimal
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from ccreview.reports.r2w import CENSUS_HEADERS, MOVEMENT_HEADERS
from ccreview.reports.xlsx import StreamingBook
from ccreview.reports.xlsx_direct import Table, write_table_book

AS_OF = dt.date(2026, 11, 1)
UTC = dt.UTC


def _both(tmp_path: Path, tables: list[Table], title: str = "Physician Census: Ann Lee",
          phi: bool = True) -> tuple[bytes, bytes, bool]:
    ours, theirs = tmp_path / "direct.xlsx", tmp_path / "streaming.xlsx"
    direct = write_table_book(ours, AS_OF, title, tables, phi=phi)
    with StreamingBook(theirs, AS_OF, title, phi=phi, small=True) as book:
        for t in tables:
            book.table(t.name, t.header, t.rows, title=t.title)
    return ours.read_bytes(), theirs.read_bytes(), direct


def _explain(a: bytes, b: bytes) -> str:
    za, zb = zipfile.ZipFile(io.BytesIO(a)), zipfile.ZipFile(io.BytesIO(b))
    if za.namelist() != zb.namelist():
        return f"parts {za.namelist()} != {zb.namelist()}"
    for name in za.namelist():
        x, y = za.read(name), zb.read(name)
        if x != y:
            i = next((k for k in range(min(len(x), len(y))) if x[k] != y[k]),
                     min(len(x), len(y)))
            return f"{name} at {i}: {x[max(0, i - 60):i + 60]!r} != {y[max(0, i - 60):i + 60]!r}"
    return "the same parts, different zip bytes"


def _assert_same(tmp_path: Path, tables: list[Table], direct: bool = True, **kw) -> None:
    a, b, took = _both(tmp_path, tables, **kw)
    assert took is direct
    assert a == b, _explain(a, b)


PATIENT = ["LEE", "ANN", dt.date(1950, 1, 31), "FIN1", "MRN1", "VRMC", "4W", "12", "A",
           dt.datetime(2026, 10, 31, 8, 3, 7), "admitted", "CHEST PAIN", "(602)555-0100",
           "DOC PCP"]
MOVE = ["FIN1", "LEE", "Admit", dt.datetime(2026, 10, 31, 8, 3, 7), "VRMC", "4W", "12", "A"]
LONG = ("a chief complaint long enough to wrap over several lines of its column, with "
        "words of every length: supercalifragilisticexpialidocious and more")

CASES = {
    "census": [Table("Census", CENSUS_HEADERS, [PATIENT] * 3, "Physician Census for Ann"),
               Table("Movements", MOVEMENT_HEADERS, [MOVE] * 2)],
    "no patients": [Table("Census", CENSUS_HEADERS, [], "Physician Census: 0 patients"),
                    Table("Movements", MOVEMENT_HEADERS, [])],
    "wrapped rows and a long title": [
        Table("Census", CENSUS_HEADERS, [PATIENT[:11] + [LONG] + PATIENT[12:], PATIENT],
              LONG * 3)],
    "wrapped headers": [Table("Narrow", ["A header of many words that wraps", "B"],
                              [["x", 1]])],
    "row blocks of 16, short rows, empty rows": [
        Table("Blocks", ["One", "Two", "Three"],
              [[i] if i % 3 else [None, f"t{i}", None] if i % 5 else [] for i in range(40)],
              "spans")],
    "past the width sample": [
        Table("Sample", ["Text"], [["short"]] * 1000 + [[LONG], ["z"]])],
    "value types": [Table("Types", ["v"] * 14, [[
        "", " lead", "trail ", 0, -7, 2 ** 53 + 1, 0.1, 1e20, 3.0, True, False,
        dt.datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=UTC), dt.date(1900, 3, 1),
        float("nan")]])],
    "escapes": [Table("Escapes", ["<&>\"'", "ctl"], [
        ["a & b < c > d \"q\" 'a'", "tab\there\nline\x01\x1f"],
        ["_x0041_ literal", "\u00e9\u4e2d\U0001f600"], ["]]>", "\ufffe"]])],
    "sheet names with spaces, quoted in references": [
        Table("Not distributed", ["a"], [["x"]]), Table("Recipients left off", ["b"], [])],
    # the distribution list's size: rows past FITTED_ROWS are not fitted (no heights),
    # row blocks of 16 all the way down
    "longer than the fitted rows": [
        Table("Distribution", ["Request", "Recipients"],
              [[f"CS{i:07d}", LONG if i % 7 == 0 else None] for i in range(10_040)],
              "A title")],
    "sheets out of alphabetical order": [Table("Zeta", ["z"], [["1"]]),
                                         Table("Alpha", ["a"], [["2"]], "t"),
                                         Table("Mid9", ["m"], []), Table("R1", ["r"], []),
                                         Table("_x", ["x"], [["3"]])],
}


@pytest.mark.parametrize("case", list(CASES))
def test_hand_written_tables_are_written_as_streaming_book_writes_them(tmp_path, case):
    _assert_same(tmp_path, CASES[case])


def test_the_page_header_and_footer_follow_the_book(tmp_path):
    _assert_same(tmp_path, CASES["census"], title="Review <x> \u00e9", phi=False)


def _random_value(rng: random.Random) -> object:
    kind = rng.randrange(9)
    if kind == 0:
        return None
    if kind == 1:
        return rng.randint(-10 ** 6, 10 ** 6)
    if kind == 2:
        return rng.uniform(-1e6, 1e6)
    if kind == 3:
        return dt.datetime(2020, 1, 1) + dt.timedelta(seconds=rng.randrange(10 ** 8))
    if kind == 4:
        return dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(35000))
    alphabet = "abc XYZ <&>\"'_x0\t\n\u00e9-="
    return "".join(rng.choice(alphabet) for _ in range(rng.choice((0, 1, 5, 30, 90))))


@pytest.mark.parametrize("seed", range(40))
def test_generated_tables_are_written_as_streaming_book_writes_them(tmp_path, seed):
    rng = random.Random(seed)
    tables = []
    for k in range(rng.randint(1, 3)):
        ncols = rng.randint(1, 20)
        header = [f"Col {j} " + "word " * rng.randrange(4) for j in range(ncols)]
        rows = [[_random_value(rng) for _ in range(rng.randint(0, ncols))]
                for _ in range(rng.choice((0, 1, 3, 17, 60)))]
        tables.append(Table(f"Sheet{k}", header, rows, rng.choice((None, "A title"))))
    _assert_same(tmp_path, tables)


FALLBACKS = {
    "an ampersand in the title": ([Table("S", ["a"], [["x"]])], "Smith & Jones"),
    "a sheet name with other characters": ([Table("Q3-report", ["a"], [["x"]])], "t"),
    "a sheet name ending in a space": ([Table("Two ", ["a"], [["x"]])], "t"),
    "rich-text markup": ([Table("S", ["a"], [["<r>x</r>"]])], "t"),
    "a very long text": ([Table("S", ["a"], [["x" * 20000]])], "t"),
    "a decimal": ([Table("S", ["a"], [[Decimal("1.5")]])], "t"),
}


@pytest.mark.parametrize("case", list(FALLBACKS))
def test_what_the_writer_does_not_reproduce_goes_to_streaming_book(tmp_path, case):
    tables, title = FALLBACKS[case]
    _assert_same(tmp_path, tables, direct=False, title=title)


def test_the_census_workbook_reads_back(tmp_path):
    """Not only the same bytes: the values, types and formats an app reads."""
    path = tmp_path / "c.xlsx"
    assert write_table_book(path, AS_OF, "Physician Census: Ann", CASES["census"])
    wb = openpyxl.load_workbook(path)
    census = wb["Census"]
    assert census["A1"].value == "Physician Census for Ann"
    assert [c.value for c in census[3]] == CENSUS_HEADERS
    row = [c.value for c in census[4]]
    assert row[:2] == ["LEE", "ANN"] and row[2] == dt.datetime(1950, 1, 31)
    assert census["C4"].number_format == "yyyy-mm-dd"
    assert census["J4"].number_format == "yyyy-mm-dd hh:mm"
    assert census.freeze_panes == "A4" and census.auto_filter.ref == "A3:N6"
    assert census.oddHeader.right.text == f"As of {AS_OF.isoformat()}"
    assert wb["Movements"].print_title_rows == "$1:$1"


def test_a_title_too_long_for_the_page_header_is_shortened_not_dropped(tmp_path):
    title = "Physician Census: " + "Longname " * 40
    _assert_same(tmp_path, CASES["census"], title=title)
    header = openpyxl.load_workbook(tmp_path / "direct.xlsx")["Census"].oddHeader
    assert header.left.text.startswith("Physician Census: Longname")
    assert header.left.text.endswith("\u2026") and header.right.text.startswith("As of")


def test_in_a_building_folder_the_book_is_written_in_place_owner_only(tmp_path):
    """The census's workbooks go straight into its building folder (swapped in whole):
    the same bytes, owner-only whatever the umask, and never through a link planted
    there."""
    import os

    atomic, in_place = tmp_path / "atomic.xlsx", tmp_path / "in_place.xlsx"
    write_table_book(atomic, AS_OF, "Physician Census: Ann", CASES["census"])
    old = os.umask(0o022)
    try:
        assert write_table_book(in_place, AS_OF, "Physician Census: Ann", CASES["census"],
                                in_building=True)
    finally:
        os.umask(old)
    assert in_place.read_bytes() == atomic.read_bytes()
    assert in_place.stat().st_mode & 0o777 == 0o600
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("not yours")
    link = tmp_path / "link.xlsx"
    link.symlink_to(elsewhere)
    with pytest.raises(OSError):
        write_table_book(link, AS_OF, "Physician Census: Ann", CASES["census"],
                         in_building=True)
    assert elsewhere.read_text() == "not yours"


# --- attestation workbooks: DirectBook against StreamingBook ----------------------------------

DUE = AS_OF + dt.timedelta(days=30)
CATALOG = {"NOT_REQUESTED": "Access held without a request on record.",
           "ROLE_NOT_ALLOWED": "The member's role does not allow this application under the "
                               "group's policy; the Sponsoring Physician must confirm or the "
                               "access is removed at the next review cycle, whichever is first."}


def _evidence(i: int, **overrides: object) -> tuple:
    row = {"row_id": f"R{i:05d}", "person_name": f"Person {i}",
           "email": f"person{i}@clinic.example.org", "role": "Medical Assistant",
           "suffix": "MA", "member_status": "active", "application_name": "PACS Synapse",
           "allowed_by_policy": i % 2 == 0, "requested_on": dt.date(2026, 3, 1 + i % 28),
           "provisioned": True, "accounts": "pacs:p" + str(i),
           "last_used_on": None if i % 3 == 0 else dt.date(2026, 10, 1 + i % 30),
           "findings": "", "highest_severity": None}
    row.update(overrides)
    return tuple(row.values())


def _attestation_both(tmp_path: Path, rows: list[tuple], group: str = "Desert Family Care",
                      admin: str | None = "Ann Lee", sponsor: str | None = "Dr. Raj Rao",
                      direct: bool = True) -> None:
    """The group's workbook written directly and through StreamingBook: the same bytes
    (`direct`: whether the direct writer takes it, or hands it to StreamingBook)."""
    from ccreview.reports import attestation

    layout = attestation._layout(AS_OF, DUE, "CS0001234", group, admin, sponsor, rows,
                                 CATALOG)
    ours, theirs = tmp_path / "direct.xlsx", tmp_path / "streaming.xlsx"
    if direct:
        attestation._write_direct(ours, AS_OF, layout)
    else:
        with pytest.raises(attestation.NotDirect):
            attestation._write_direct(ours, AS_OF, layout)
        attestation._workbook(ours, AS_OF, DUE, "CS0001234", group, admin, sponsor, rows,
                              CATALOG)
    attestation._write_streaming(theirs, AS_OF, layout)
    a, b = ours.read_bytes(), theirs.read_bytes()
    assert a == b, _explain(a, b)


def test_an_attestation_workbook_written_directly_is_streamingbook_s(tmp_path):
    """Every severity and none, booleans, dates and none, findings long enough to wrap
    (taller rows, the catalog's long text on the Instructions sheet), XML and Excel
    specials, leading spaces, text outside the BMP, an empty string, a number."""
    rows = [_evidence(1, findings="NOT_REQUESTED", highest_severity="high"),
            _evidence(2, person_name="O'Brien & <Sons> \"Q\"", highest_severity="medium",
                      findings="NOT_REQUESTED, ROLE_NOT_ALLOWED"),
            _evidence(3, person_name="  Zoë Ñúñez 🩺", highest_severity="low",
                      accounts=""),
            _evidence(4, accounts=2, member_status="removed (2026-10-02)"),
            _evidence(5, last_used_on=dt.datetime(2026, 10, 30, 14, 5)),
            _evidence(6, email="a.very.long.address.that.wraps.its.column@"
                               "community-physicians.example.org")]
    _attestation_both(tmp_path, rows)
    _attestation_both(tmp_path, rows, group="Group & Sons", admin=None, sponsor=None)


@pytest.mark.parametrize("n", [1, 15, 16, 17, 40])
def test_attestation_tables_of_any_length(tmp_path, n):
    """One row (the Decision list's range is a single cell) and tables across the 16-row
    blocks xlsxwriter spans rows by."""
    _attestation_both(tmp_path, [_evidence(i, findings="ROLE_NOT_ALLOWED" if i % 4 else "",
                                           highest_severity="high" if i % 4 else None)
                                 for i in range(n)])


def test_what_the_direct_writer_does_not_reproduce_goes_to_streamingbook(tmp_path):
    """Text framed as rich-text markup (StreamingBook writes it as three runs) and text past
    16,383 characters: the whole workbook through StreamingBook, the same bytes."""
    _attestation_both(tmp_path, [_evidence(1, person_name="<r>x</r>")], direct=False)
    _attestation_both(tmp_path, [_evidence(1, findings="X" * 20_000)], direct=False)


def test_a_direct_book_writes_each_value_and_format_as_streamingbook(tmp_path):
    """`DirectBook` cell by cell against StreamingBook's `write`: dates plain, wrapped and
    top-aligned (which take the top-aligned date format), datetimes, booleans, numbers,
    text, None and NaN (no cell), a formatted blank, a row height, a row's cells written
    out of column order, two sheets."""
    from ccreview.reports.xlsx_direct import DirectBook

    cells = [(0, 0, "text", None), (0, 1, dt.date(2026, 1, 2), None),
             (0, 2, dt.date(2026, 1, 3), "top"), (0, 3, dt.date(2026, 1, 4), "wrap"),
             (1, 0, dt.datetime(2026, 1, 2, 3, 4), "top"), (1, 1, True, "bold"),
             (1, 2, 2.5, None), (1, 3, None, "bold"), (2, 3, "out of order", None),
             (2, 0, float("nan"), None),
             (2, 1, 7, "number"), (3, 2, " lead", "wrap")]
    ours, theirs = tmp_path / "direct.xlsx", tmp_path / "streaming.xlsx"
    book = DirectBook({"own": {"italic": True}})
    for name in ("First", "Second"):
        ws = book.add_sheet(name, (10, 12, 14, 30))
        for row, col, value, fmt in cells:
            ws.write(row, col, value, fmt)
        ws.blank(4, 1, "own")
        ws.set_row(3, 30)
    book.write(ours, AS_OF, "Cells")
    with StreamingBook(theirs, AS_OF, "Cells", small=True) as sb:
        own = sb.wb.add_format({"italic": True})
        for name in ("First", "Second"):
            ws = sb.wb.add_worksheet(name)
            for row, col, value, fmt in cells:
                sb.write(ws, row, col, value, sb.fmt[fmt] if fmt else None)
            ws.write_blank(4, 1, None, own)
            ws.set_row(3, 30)
            sb.set_widths(ws, (10, 12, 14, 30))
    a, b = ours.read_bytes(), theirs.read_bytes()
    assert a == b, _explain(a, b)


# --- constant-memory tables: rows written as text against xlsxwriter's cell calls -------------

class _CellByCell(StreamingBook):
    """The reference: every table row through xlsxwriter's own cell calls."""
    _rows = StreamingBook._cell_rows


def _constant_memory_same(tmp_path: Path, tables: list[Table], max_rows: int | None = None,
                          **table_kw) -> None:
    """A constant-memory StreamingBook's tables, written as text, are the bytes xlsxwriter
    writes cell by cell (severity colours, caps, continued sheets, a chart's sheet…)."""
    files = []
    for cls in (StreamingBook, _CellByCell):
        path = tmp_path / f"{cls.__name__}.xlsx"
        kw = {"max_rows": max_rows} if max_rows else {}
        with cls(path, AS_OF, "Clinical Connectivity access review", **kw) as book:
            for t in tables:
                book.table(t.name, t.header, t.rows, title=t.title, **table_kw)
        files.append(path.read_bytes())
    assert files[0] == files[1], _explain(*files)


SEVERITIES = ["Rule", "Severity", "Since", "Detail", "Due"]
INLINE_CASES = {
    **CASES,
    "rich-text markup and very long text between plain rows (through xlsxwriter)": [
        Table("Findings", SEVERITIES, [
            ["<r>x</r>", "high", "new", LONG, dt.date(2026, 12, 1)],
            ["R1", "low", None, "<r>not closed", None],
            ["R2", "medium", "", "x" * 20_000, dt.date(2026, 12, 2)],
            ["R3", "high", "open", "plain", None],
            ["R4", "none of them", "open", "x" * 16_383, None],
            ["R5", "low", "<r>y</r>", LONG * 3, dt.datetime(2026, 12, 2, 9, 30)]],
              "Findings: rows the writer hands back")],
    "types only xlsxwriter's calls take": [
        Table("Numpy", ["a", "b", "c", "d", "e"], [
            [np.int64(3), np.float64(2.5), pd.Timestamp("2026-11-01 10:00"), "x", None],
            ["plain", 1, 2.0, True, dt.date(2026, 1, 1)],
            [Decimal("1.5"), np.bool_(True), "after", pd.NaT, float("nan")]])],
    "the same instant in two zones, the same date twice": [
        Table("Zones", ["a", "b"], [
            [dt.datetime(2026, 11, 1, 10, tzinfo=UTC), dt.date(2026, 11, 1)],
            [dt.datetime(2026, 11, 1, 11, tzinfo=dt.timezone(dt.timedelta(hours=1))),
             dt.date(2026, 11, 1)],
            [dt.datetime(2026, 11, 1, 10), dt.datetime(2026, 11, 1, 10)], ["end", None]])],
    "a last row through xlsxwriter, a first one too": [
        Table("Edges", ["a", "b"], [["<r>a</r>", 1], ["b", 2], [None, None], ["<r>c</r>", 3]])],
    "a column narrower than its texts and a cap": [
        Table("Caps", ["Group", "Detail"],
              [[f"Group {i} of a practice with a long name", LONG if i % 4 else "short"]
               for i in range(50)])],
}


@pytest.mark.parametrize("case", list(INLINE_CASES))
def test_constant_memory_rows_are_written_as_xlsxwriter_writes_them(tmp_path, case):
    _constant_memory_same(tmp_path, INLINE_CASES[case], severity_column="Severity",
                          caps={"Group": 12})


def test_constant_memory_tables_continued_past_the_row_limit(tmp_path):
    """Sheets continued on "(2)", "(3)": the rows xlsxwriter writes fall on the limit."""
    rows = [[f"r{i}", "<r>x</r>" if i % 7 == 0 else i, "high" if i % 2 else "low"]
            for i in range(40)]
    _constant_memory_same(tmp_path, [Table("Long", ["Name", "Value", "Severity"], rows),
                                     Table("Titled", ["a"], [[i] for i in range(12)], "t")],
                          max_rows=8, severity_column="Severity")


@pytest.mark.parametrize("seed", range(40))
def test_generated_constant_memory_tables_are_written_as_xlsxwriter_writes_them(tmp_path,
                                                                               seed):
    rng = random.Random(seed)
    tables = []
    for k in range(rng.randint(1, 3)):
        ncols = rng.randint(1, 20)
        header = [f"Col {j} " + "word " * rng.randrange(4) for j in range(ncols)]
        if rng.random() < 0.5:
            header[rng.randrange(ncols)] = "Severity"
        rows = [[rng.choice(["high", "low", "<r>x</r>", True])
                 if rng.random() < 0.1 else _random_value(rng)
                 for _ in range(rng.randint(0, ncols))]
                for _ in range(rng.choice((0, 1, 3, 17, 60)))]
        tables.append(Table(f"Sheet{k}", header, rows, rng.choice((None, "A title"))))
    _constant_memory_same(tmp_path, tables, severity_column="Severity")


def test_an_infinity_is_refused_as_xlsxwriter_refuses_it(tmp_path):
    for cls in (StreamingBook, _CellByCell):
        with pytest.raises(TypeError), \
                cls(tmp_path / f"{cls.__name__}.xlsx", AS_OF, "t") as book:
            book.table("T", ["a"], [["x"], [float("inf")]])
        assert not (tmp_path / f"{cls.__name__}.xlsx").exists()


def test_the_compliance_and_dormant_workbooks_are_xlsxwriter_s_bytes(tmp_path, monkeypatch):
    """The review's own workbooks on the sample warehouse — free-form sheets, charts, the
    severity column, dates and counts from DuckDB, the history's "since" column — the
    same bytes whether their tables' rows are written as text or cell by cell."""
    from ccreview.core.config import ReviewConfig
    from ccreview.core.history import recording_run
    from ccreview.reports import access_review, dormant_accounts
    from tests.conftest import SAMPLE, SAMPLE_AS_OF, build_warehouse

    con = build_warehouse(SAMPLE, SAMPLE_AS_OF)
    settings = ReviewConfig().as_flat_dict()
    books = []
    for cls in (StreamingBook, _CellByCell):
        out = tmp_path / cls.__name__
        out.mkdir()
        monkeypatch.setattr(access_review, "StreamingBook", cls)
        monkeypatch.setattr(dormant_accounts, "StreamingBook", cls)
        with recording_run(con, out, SAMPLE_AS_OF):
            written = access_review.write_review_reports(
                con, out, access_review.ReviewContext(SAMPLE_AS_OF, settings, "t"))
        written += dormant_accounts.write_dormant_reports(con, out, SAMPLE_AS_OF, settings)
        books.append({p.name: p.read_bytes() for p in written if p.suffix == ".xlsx"})
    assert len(books[0]) == 2 and books[0].keys() == books[1].keys()
    for name in books[0]:
        assert books[0][name] == books[1][name], (name, _explain(books[0][name],
                                                                  books[1][name]))
