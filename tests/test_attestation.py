"""The attestation loop: issued workbooks, returned copies checked, remediation, and the
review status on the next compliance workbook."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from ccreview.contracts.attestation_returns import check_returns
from ccreview.core.attestation import EVIDENCE_HEADERS, REVIEW_HEADERS, evidence_text
from ccreview.core.history import HISTORY, record_status, recording_run
from ccreview.reports.access_review import ReviewContext, write_review_reports
from ccreview.reports.attestation import write_attestation_workbooks
from ccreview.reports.remediation import write_remediation
from ccreview.synthetic.returns import DECISION_COL, fill_copy, fill_returns
from tests.conftest import SAMPLE, SAMPLE_AS_OF, build_warehouse

DUE = SAMPLE_AS_OF + dt.timedelta(days=30)
COL = {h: j for j, h in enumerate(REVIEW_HEADERS, start=1)}


def _issue(con, out: Path, as_of: dt.date = SAMPLE_AS_OF) -> list[Path]:
    with recording_run(con, out, as_of):
        written = write_attestation_workbooks(con, out, as_of, 30)
    assert written[-1].name == "attestation_manifest.csv"
    return written[:-1]


@pytest.fixture(scope="module")
def issued(tmp_path_factory):
    con = build_warehouse(SAMPLE, SAMPLE_AS_OF)
    out = tmp_path_factory.mktemp("review")
    paths = _issue(con, out)
    return con, out, paths


def _rows(con, rn: str) -> list[tuple]:
    return con.execute("select row_id, highest_severity from entitlement_review "
                       "where request_number = ?", [rn]).fetchall()


def _check(out: Path, returned: Path, received: dt.date = DUE):
    return check_returns(returned, out / HISTORY, None, received)


def test_one_workbook_per_group_with_every_member_application(issued):
    con, _, paths = issued
    groups = [r[0] for r in con.execute(
        "select distinct request_number from entitlement_review order by 1").fetchall()]
    assert [p.stem for p in paths] == groups
    for path in paths[:5]:
        wb = openpyxl.load_workbook(path)
        assert wb.sheetnames == ["Instructions", "Review", "ccreview"]
        ws = wb["Review"]
        assert [c.value for c in ws[1]] == list(REVIEW_HEADERS)
        assert ws.max_row - 1 == len(_rows(con, path.stem))
        # the same through an independent reader
        cal = CalamineWorkbook.from_path(str(path))
        assert cal.sheet_names == wb.sheetnames
        data = cal.get_sheet_by_name("Review").to_python()
        assert data[0] == list(REVIEW_HEADERS) and len(data) == ws.max_row


def test_the_manifest_says_which_workbook_goes_to_whom(issued):
    con, out, paths = issued
    with (out / "attestation" / "attestation_manifest.csv").open(newline="",
                                                                encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["file"] for r in rows] == [p.name for p in paths]
    admins = dict(con.execute("select request_number, admin_email from group_overview"
                              ).fetchall())
    for r in rows:
        assert r["due_on"] == DUE.isoformat()
        assert int(r["rows"]) == len(_rows(con, r["request_number"]))
        if admins[r["request_number"]]:
            assert r["send_to"].startswith(admins[r["request_number"]])
        addresses = [a.lower() for a in r["send_to"].split("; ")]
        assert len(addresses) == len(set(addresses)), r  # each person once
    # a sponsor who is also the administrator (in every submission encoding) gets one copy
    same = [r for r in rows if r["admin_email"] and r["admin_email"] == r["sponsor_email"]]
    assert same and all(r["send_to"] == r["admin_email"] for r in same)


def test_only_decision_and_comment_can_be_edited(issued):
    _, _, paths = issued
    wb = openpyxl.load_workbook(paths[0])
    ws = wb["Review"]
    assert ws.protection.sheet
    assert not ws.protection.autoFilter and not ws.protection.sort  # both allowed
    for row in range(2, ws.max_row + 1):
        for header, j in COL.items():
            assert ws.cell(row=row, column=j).protection.locked is (
                header not in ("Decision", "Comment"))
    (dv,) = ws.data_validations.dataValidation
    assert dv.type == "list" and dv.formula1 == '"Keep,Revoke,Modify"'
    letter = openpyxl.utils.get_column_letter(COL["Decision"])
    assert str(dv.sqref) == f"{letter}2:{letter}{ws.max_row}"
    ident = wb["ccreview"]
    assert ident.sheet_state == "veryHidden" and ident.protection.sheet
    assert ident["B2"].value == SAMPLE_AS_OF.isoformat() and ident["B3"].value == paths[0].stem


def test_filled_copies_resorted_renamed_with_blank_rows_are_accepted(issued, tmp_path):
    con, out, paths = issued
    returned = tmp_path / "returned"
    written = fill_returns(out / "attestation", returned, skip_every=0, partial_every=0)
    assert all(not p.stem.startswith("CS") for p in written)  # renamed after the group
    result = _check(out, returned)
    assert result.problems == []
    assert {g.status for g in result.groups} == {"complete"}
    high = con.execute("select count(*) from entitlement_review where highest_severity = "
                       "'high'").fetchall()[0][0]
    medium = con.execute("select count(*) from entitlement_review where highest_severity = "
                         "'medium'").fetchall()[0][0]
    decisions = [r["decision"] for r in result.remediation]
    assert decisions.count("Revoke") == high and decisions.count("Modify") == medium
    teams = [r["application_team"] for r in result.remediation]
    assert teams == sorted(teams)


def test_statuses_overdue_not_returned_returned(issued, tmp_path):
    _, out, paths = issued
    returned = tmp_path / "returned"
    fill_returns(out / "attestation", returned, skip_every=4, partial_every=0)
    skipped = {p.stem for i, p in enumerate(paths, start=1) if i % 4 == 0}
    late = {g.request_number: g.status for g in _check(out, returned, DUE).groups}
    assert {rn for rn, s in late.items() if s == "not returned"} == skipped
    later = {g.request_number: g.status
             for g in _check(out, returned, DUE + dt.timedelta(days=1)).groups}
    assert {rn for rn, s in later.items() if s == "overdue"} == skipped
    partial = tmp_path / "partial"
    fill_copy(paths[0], partial / "a.xlsx", 1, partial=True)
    status = {g.request_number: g.status for g in _check(out, partial).groups}
    has_undecided = any(sev != "high" for _, sev in _rows(issued[0], paths[0].stem))
    assert status[paths[0].stem] == ("returned" if has_undecided else "complete")


def _first_row_where(ws, predicate) -> int:
    for r in range(2, ws.max_row + 1):
        if ws.cell(row=r, column=1).value and predicate(ws, r):
            return r
    raise AssertionError("no such row")


def _is_high(ws, r):
    return ws.cell(row=r, column=COL["Severity"]).value == "high"


def _group_with_high(con, paths) -> Path:
    return next(p for p in paths if any(s == "high" for _, s in _rows(con, p.stem)))


def _tampered(issued, tmp_path, edit, source: Path | None = None):
    con, out, paths = issued
    source = source or _group_with_high(con, paths)
    returned = tmp_path / "returned"
    fill_copy(source, returned / "copy.xlsx", 3, edit=edit)
    result = _check(out, returned)
    return source.stem, result


def _problems(result) -> list[tuple]:
    return [(p.column, p.problem.split(" (")[0], p.blocking) for p in result.problems]


def _status(result, rn) -> str:
    return next(g.status for g in result.groups if g.request_number == rn)


def test_unknown_decision(issued, tmp_path):
    def edit(ws):
        ws.cell(row=_first_row_where(ws, lambda w, r: True), column=DECISION_COL,
                value="Maybe")
    rn, result = _tampered(issued, tmp_path, edit)
    assert ("Decision", "unknown decision", True) in _problems(result)
    assert _status(result, rn) == "incomplete"


def test_missing_decision_on_a_high_severity_row(issued, tmp_path):
    def edit(ws):
        ws.cell(row=_first_row_where(ws, _is_high), column=DECISION_COL).value = None
    rn, result = _tampered(issued, tmp_path, edit)
    assert _problems(result) == [("Decision", "missing decision on a high-severity row", True)]
    assert _status(result, rn) == "incomplete"
    assert result.problems[0].row_id and result.problems[0].sheet_row


@pytest.mark.parametrize("header", ["Email", "Last used", "Allowed by policy", "Findings"])
def test_edited_evidence(issued, tmp_path, header):
    def edit(ws):
        r = _first_row_where(ws, lambda w, r: True)
        old = ws.cell(row=r, column=COL[header]).value
        ws.cell(row=r, column=COL[header],
                value=dt.datetime(2020, 1, 1) if header == "Last used" else f"{old}x")
    rn, result = _tampered(issued, tmp_path, edit)
    assert (header, "evidence edited", True) in _problems(result)
    assert _status(result, rn) == "incomplete"
    assert all(header not in p.problem for p in result.problems)  # names, never values


def test_modify_without_a_comment_is_flagged_but_does_not_block(issued, tmp_path):
    def edit(ws):
        r = _first_row_where(ws, _is_high)
        ws.cell(row=r, column=DECISION_COL, value="Modify")
        ws.cell(row=r, column=COL["Comment"]).value = None
    rn, result = _tampered(issued, tmp_path, edit)
    assert _problems(result) == [("Comment", "Modify without a comment saying what to change",
                                  False)]
    assert _status(result, rn) == "complete"


def test_decision_case_and_spaces_are_tolerated(issued, tmp_path):
    def edit(ws):
        ws.cell(row=_first_row_where(ws, _is_high), column=DECISION_COL, value="  revoke ")
    rn, result = _tampered(issued, tmp_path, edit)
    assert result.problems == [] and _status(result, rn) == "complete"


def test_workbook_from_another_review_period(issued, tmp_path):
    def edit(ws):
        ws.parent["ccreview"]["B2"] = "2026-08-01"
    rn, result = _tampered(issued, tmp_path, edit)
    assert any("from the review of 2026-08-01" in p.problem for p in result.problems)
    assert _status(result, rn) == "not returned"


def test_workbook_from_a_group_not_in_this_review(issued, tmp_path):
    def edit(ws):
        ws.parent["ccreview"]["B3"] = "CS9999999"
    rn, result = _tampered(issued, tmp_path, edit)
    assert [p.problem for p in result.problems] == [
        "from a group that was not sent a workbook in this review"]


def test_rows_pasted_from_another_group(issued, tmp_path):
    con, _, paths = issued
    other_id = _rows(con, paths[1].stem)[0][0]

    def edit(ws):
        ws.cell(row=ws.max_row + 1, column=1, value=other_id)
    rn, result = _tampered(issued, tmp_path, edit, source=paths[0])
    assert any(p.problem == f"row from another group's workbook ({paths[1].stem})"
               for p in result.problems)
    assert _status(result, rn) == "incomplete"


def test_removed_high_severity_row(issued, tmp_path):
    def edit(ws):
        ws.delete_rows(_first_row_where(ws, _is_high))
    rn, result = _tampered(issued, tmp_path, edit)
    assert ("", "row removed from the workbook", True) in _problems(result)


def test_not_an_attestation_workbook(issued, tmp_path):
    _, out, paths = issued
    returned = tmp_path / "returned"
    returned.mkdir()
    wb = openpyxl.load_workbook(paths[0])
    del wb["ccreview"]
    wb.save(returned / "copied.xlsx")
    (returned / "scan.pdf").write_bytes(b"%PDF-1.4")
    (returned / "broken.xlsx").write_bytes(b"PK\x03\x04 not really")
    problems = {p.file: p.problem for p in _check(out, returned).problems}
    assert problems == {
        "copied.xlsx": "not an attestation workbook (no ccreview identifier)",
        "scan.pdf": "not an xlsx workbook (.pdf)",
        "broken.xlsx": "not a readable xlsx workbook"}


def test_duplicate_returns(issued, tmp_path):
    _, out, paths = issued
    same = tmp_path / "same"
    fill_copy(paths[0], same / "first.xlsx", 1)
    fill_copy(paths[0], same / "again.xlsx", 2)  # other order, same decisions
    result = _check(out, same)
    assert [(p.file, p.blocking) for p in result.problems] == [("first.xlsx", False)]
    assert _status(result, paths[0].stem) == "complete"

    differ = tmp_path / "differ"
    fill_copy(paths[0], differ / "first.xlsx", 1)
    fill_copy(paths[0], differ / "second.xlsx", 2, edit=lambda ws: ws.cell(
        row=_first_row_where(ws, lambda w, r: True), column=DECISION_COL, value="Modify"))
    result = _check(out, differ)
    assert {p.file for p in result.problems if p.blocking} == {"first.xlsx", "second.xlsx"}
    assert _status(result, paths[0].stem) == "incomplete"
    assert not any(r["request_number"] == paths[0].stem for r in result.remediation)


def test_remediation_outputs_are_inert_and_grouped(issued, tmp_path):
    _, out, paths = issued
    returned = tmp_path / "returned"
    payload = '=HYPERLINK("http://x.example","y")'

    def edit(ws):
        r = _first_row_where(ws, _is_high)
        cell = ws.cell(row=r, column=COL["Comment"], value=payload)
        cell.data_type = "s"  # text, as typed after an apostrophe
    fill_copy(_group_with_high(issued[0], paths), returned / "x.xlsx", 1, edit=edit)
    result = _check(out, returned)
    xlsx, csv_path = write_remediation(result, tmp_path / "rem")
    wb = openpyxl.load_workbook(xlsx)
    assert wb.sheetnames[:3] == ["Summary", "Groups", "To revoke or change"]
    assert wb.sheetnames[-1] == "Problems"
    texts = set()
    for ws in wb:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f"
                texts.add(cell.value)
    assert payload in texts
    with csv_path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert "'" + payload in {r["comment"] for r in rows}
    cal = CalamineWorkbook.from_path(str(xlsx))
    assert cal.sheet_names == wb.sheetnames
    assert len(cal.get_sheet_by_name("To revoke or change").to_python()) == len(rows) + 1


def test_next_compliance_workbook_shows_the_review_status(tmp_path):
    con = build_warehouse(SAMPLE, SAMPLE_AS_OF)
    out = tmp_path / "out"
    paths = _issue(con, out)
    returned = tmp_path / "returned"
    fill_copy(paths[0], returned / "a.xlsx", 1)
    record_status(out / HISTORY, _check(out, returned, DUE + dt.timedelta(days=5)))
    later = SAMPLE_AS_OF + dt.timedelta(days=91)
    con2 = build_warehouse(SAMPLE, later, history=out / HISTORY)
    ctx = ReviewContext(as_of=later, settings={}, version="test")
    with recording_run(con2, out, later):
        files = {p.name: p for p in write_review_reports(con2, out, ctx)}
    ws = openpyxl.load_workbook(files[f"access_review_{later}.xlsx"])["Groups"]
    header = [c.value for c in ws[1]]
    status = {r[0]: r[header.index("Attestation status")]
              for r in ws.iter_rows(min_row=2, values_only=True)}
    assert status[paths[0].stem] == "complete"
    assert set(status.values()) == {"complete", "overdue"}
    shutil.rmtree(out)


def test_evidence_headers_cover_every_review_column_but_the_two_inputs():
    assert set(REVIEW_HEADERS) - set(EVIDENCE_HEADERS) == {"Decision", "Comment"}


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_a_copy_saved_again_by_libreoffice_is_accepted(issued, tmp_path):
    """A group that works in LibreOffice Calc: its re-saved copy reads the same."""
    import subprocess

    con, out, paths = issued
    source = _group_with_high(con, paths)
    filled = tmp_path / "filled"
    fill_copy(source, filled / "ours.xlsx", 1)
    subprocess.run(["soffice", f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
                    "--headless", "--convert-to", "xlsx", "--outdir", str(tmp_path / "lo"),
                    str(filled / "ours.xlsx")], check=True, capture_output=True, timeout=300)
    ours, theirs = _check(out, filled), _check(out, tmp_path / "lo")
    assert theirs.problems == [] and _status(theirs, source.stem) == "complete"
    assert theirs.remediation == ours.remediation and ours.remediation


evidence_values = st.one_of(
    st.none(), st.booleans(),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 12, 31)),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
            max_size=40))


@settings(max_examples=60, deadline=None)
@given(st.lists(evidence_values, min_size=1, max_size=6))
def test_evidence_reads_back_as_written(tmp_path_factory, values):
    """Whatever an evidence cell holds — odd text included (`_x0041_`, control characters,
    leading `=`) — reads back from the workbook with the same canonical text, so an
    untouched return never looks edited."""
    from openpyxl import load_workbook

    from ccreview.reports.xlsx import StreamingBook

    path = tmp_path_factory.mktemp("prop") / "row.xlsx"
    shown = [("Yes" if v else "No") if isinstance(v, bool) else v for v in values]
    with StreamingBook(path, SAMPLE_AS_OF, "Test", small=True) as book:
        book.table("Review", [f"c{i}" for i in range(len(values))], [shown])
    wb = load_workbook(path, read_only=True, data_only=True)
    rows = list(wb["Review"].iter_rows(min_row=2, max_row=2, values_only=True))
    back = list(rows[0]) if rows else []
    back += [None] * (len(values) - len(back))
    wb.close()
    assert [evidence_text(v) for v in back] == [evidence_text(v) for v in values]


_EVIDENCE_VALUES = st.one_of(
    st.none(), st.booleans(), st.dates(), st.datetimes(), st.integers(),
    st.floats(allow_nan=False), st.text(),
    st.text(alphabet="_x0Dd9 \t\u00e9\U0001F489").map(lambda t: f" _x{t[:4]}_{t}"))


@given(st.lists(_EVIDENCE_VALUES, min_size=len(EVIDENCE_HEADERS),
                max_size=len(EVIDENCE_HEADERS)))
@settings(max_examples=300, deadline=None)
def test_the_register_s_texts_and_json_are_evidence_text_s(values):
    """The register's fast path (`issued_texts`, `evidence_json`) against the definitions:
    `evidence_text` of the value as the cell holds it, and `json.dumps` of the row's texts
    by header with sorted keys."""
    import json

    from ccreview.core.attestation import (
        EXCEL_MAX_CHARS,
        evidence_json,
        issued_texts,
    )

    expected = [evidence_text(v[:EXCEL_MAX_CHARS] if isinstance(v, str) else v)
                for v in values]
    texts = issued_texts(values)
    assert texts == expected
    assert evidence_json(texts) == json.dumps(dict(zip(EVIDENCE_HEADERS, texts, strict=True)),
                                              sort_keys=True)


def test_the_register_cuts_text_where_the_cell_does():
    from ccreview.core.attestation import EXCEL_MAX_CHARS, issued_texts

    long = "a" * (EXCEL_MAX_CHARS - 1) + "_x0041_ tail"
    assert issued_texts([long]) == [evidence_text(long[:EXCEL_MAX_CHARS])]
    assert issued_texts([long]) == ["a" * (EXCEL_MAX_CHARS - 1) + "_"]  # escape cut off
