"""Every workbook the project writes, read back three ways: openpyxl, python-calamine (an
independent reader) and, when it is installed, LibreOffice headless. Their public surface
(sheet names and header rows) is snapshotted: update it deliberately with
`UPDATE_SNAPSHOTS=1 pytest tests/test_workbooks.py` when it changes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from tests.conftest import SAMPLE_AS_OF

SNAPSHOT = Path(__file__).parent / "snapshots" / "workbooks.json"
DAY = SAMPLE_AS_OF.isoformat()


def _surface(path: Path) -> dict[str, list]:
    """Sheet name -> its header: the first row with three or more text cells (free-form
    sheets open with a title and facts first)."""
    wb = openpyxl.load_workbook(path, read_only=True)
    surface = {}
    for ws in wb:
        surface[ws.title] = []
        for row in ws.iter_rows(max_row=60, values_only=True):
            texts = [v for v in row if isinstance(v, str) and v]
            if len(texts) >= 3:
                surface[ws.title] = texts
                break
    wb.close()
    return surface


def test_every_workbook_kind_is_written(workbooks):
    assert set(workbooks) == {"access_review", "attestation", "census", "dormant_accounts",
                              "r2w_distribution", "remediation"}


def test_sheet_names_and_headers_match_the_snapshot(workbooks):
    """The public surface of each kind of workbook (for the census and attestation
    workbooks, every one of them has the same surface)."""
    surface = {}
    for kind, paths in sorted(workbooks.items()):
        shapes = {json.dumps(_surface(p), default=str) for p in paths}
        assert len(shapes) == 1, f"{kind} workbooks differ in sheets or headers"
        surface[kind] = json.loads(shapes.pop())
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(json.dumps(surface, indent=2, sort_keys=True) + "\n")
    assert surface == json.loads(SNAPSHOT.read_text())


def test_an_independent_reader_sees_the_same_workbooks(workbooks):
    for kind, paths in workbooks.items():
        for path in paths[:3]:
            ours = openpyxl.load_workbook(path, read_only=True)
            theirs = CalamineWorkbook.from_path(str(path))
            assert theirs.sheet_names == ours.sheetnames, path.name
            for ws in ours:
                rows = [r for r in ws.iter_rows(values_only=True)
                        if any(v not in (None, "") for v in r)]
                cal = [r for r in theirs.get_sheet_by_name(ws.title).to_python()
                       if any(v not in (None, "") for v in r)]
                assert len(cal) == len(rows), f"{kind} {path.name} {ws.title}"
                if rows:
                    head = [v for v in rows[0] if v not in (None, "")]
                    assert [v for v in cal[0] if v not in (None, "")] == head
            ours.close()


def test_no_workbook_holds_a_formula(workbooks):
    for paths in workbooks.values():
        for path in paths:
            for ws in openpyxl.load_workbook(path):
                for row in ws.iter_rows():
                    for cell in row:
                        assert cell.data_type != "f", f"{path.name} {ws.title}"


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_opens_every_kind_of_workbook(workbooks, tmp_path):
    """LibreOffice headless converts each workbook and keeps its sheets (skipped where
    LibreOffice is not installed)."""
    sources = [paths[0] for _, paths in sorted(workbooks.items())]
    profile = (tmp_path / "profile").as_uri()
    subprocess.run(["soffice", f"-env:UserInstallation={profile}", "--headless",
                    "--convert-to", "xlsx", "--outdir", str(tmp_path / "converted"),
                    *map(str, sources)], check=True, capture_output=True, timeout=300)
    for source in sources:
        converted = tmp_path / "converted" / source.name
        assert converted.is_file(), source.name
        theirs = openpyxl.load_workbook(converted, read_only=True)
        ours = openpyxl.load_workbook(source, read_only=True)
        assert theirs.sheetnames == ours.sheetnames
        for ws in ours:
            if ws.sheet_state == "visible":
                a = next(ws.iter_rows(max_row=1, values_only=True), ())
                b = next(theirs[ws.title].iter_rows(max_row=1, values_only=True), ())
                assert [v for v in a if v is not None] == [v for v in b if v is not None]


@pytest.mark.parametrize("n_rows,sheets", [(0, 1), (4, 1), (5, 2), (12, 3), (13, 4)])
def test_a_sheet_past_the_row_limit_continues_on_the_next(tmp_path, n_rows, sheets):
    """With a limit of 5 rows (header + 4 data rows per sheet), rows continue on
    "<name> (2)", … with the header repeated; nothing is lost or duplicated."""
    from ccreview.reports.xlsx import StreamingBook

    path = tmp_path / "big.xlsx"
    with StreamingBook(path, SAMPLE_AS_OF, "Test", max_rows=5) as book:
        names = book.table("Entitlements", ["Row", "Name"],
                           ([i, f"=name {i}"] for i in range(n_rows)))
    expected = ["Entitlements", *(f"Entitlements ({k})" for k in range(2, sheets + 1))]
    assert names == expected
    cal = CalamineWorkbook.from_path(str(path))
    assert cal.sheet_names == expected
    seen = []
    for name in expected:
        rows = cal.get_sheet_by_name(name).to_python()
        assert rows[0] == ["Row", "Name"] and len(rows) <= 5
        seen += [int(r[0]) for r in rows[1:]]
    assert seen == list(range(n_rows))


MARKUP = ["<r>x</r>", "<r><t>injected</t></r>", "<r></r>", "<r> spaced </r>"]


@pytest.mark.parametrize("small", [True, False])
def test_text_that_looks_like_rich_text_markup_stays_text(tmp_path, small):
    """xlsxwriter copies a string framed by `<r>` … `</r>` into the file unescaped, as
    rich-text XML: input text must come out as the same text, in tables, titles and
    free-form sheets, in both of the book's modes."""
    from ccreview.reports.xlsx import FreeformSheet, StreamingBook

    path = tmp_path / "markup.xlsx"
    with StreamingBook(path, SAMPLE_AS_OF, "Test", small=small) as book:
        book.table("Table", ["Text", "Row"], ([t, i] for i, t in enumerate(MARKUP)),
                   title=MARKUP[1])
        sheet = FreeformSheet(book, "Free")
        for t in MARKUP:
            sheet.fact("Text", t)
    wb = openpyxl.load_workbook(path)
    table = [r[0] for r in wb["Table"].iter_rows(min_row=4, values_only=True)]
    assert wb["Table"]["A1"].value == MARKUP[1]
    assert [wb["Free"].cell(i + 1, 2).value for i in range(len(MARKUP))] == table
    cal = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Table").to_python()
    assert [r[0] for r in cal[3:]] == table
    assert table == MARKUP


@pytest.mark.parametrize("title", ["Smith&Gray Clinic", "A&[Picture] B", "R&D && Co"])
def test_an_ampersand_in_a_title_keeps_the_printed_header(tmp_path, title):
    """xlsxwriter drops a header holding `&G` or `&[Picture]` (an image placeholder), and
    warns with its text; a group's or provider's name must not do that."""
    import warnings

    from ccreview.reports.xlsx import StreamingBook

    path = tmp_path / "amp.xlsx"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with StreamingBook(path, SAMPLE_AS_OF, title) as book:
            book.table("S", ["a"], [["x"]])
    header = openpyxl.load_workbook(path)["S"].oddHeader
    assert header.left.text.replace("\u200b", "") == title.replace("&", "&&")
    assert header.right.text == f"As of {SAMPLE_AS_OF.isoformat()}"
