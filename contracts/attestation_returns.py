"""Returned attestation workbooks, checked against what was issued.

A returned copy is recognised by its hidden `ccreview` sheet, never by its file name, and
its rows by their Row ID, never by position: re-sorted rows, blank rows and renamed files
are fine. What is not fine is reported, one problem per row and column, with the file and
sheet row — never the cell's value:

- a workbook without the identifier, from another review period or from a group that
  was not issued one; rows from another group's workbook; a row twice;
- edited evidence (any cell but Decision and Comment differs from what was issued), a
  removed column, a removed row;
- an unknown decision, a missing decision on a high-severity row; (not blocking) Modify
  without a comment saying what to change;
- a duplicate return: two copies for one group. Identical decisions count once; differing
  ones are both set aside until the group sends one.

A group is `complete` (every row decided, no blocking problem), `returned` (no blocking
problem, some rows other than high severity left undecided), `incomplete` (a blocking
problem), `overdue` (nothing returned after its due date) or `not returned`.
"""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path

from ccreview.core.attestation import (
    DECISIONS,
    EVIDENCE_HEADERS,
    IDENTIFIER_SHEET,
    IDENTIFIER_TITLE,
    REVIEW_SHEET,
    GroupResult,
    IntakeResult,
    Problem,
    ReturnedCopy,
    evidence_text,
)
from ccreview.core.history import read_register

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
HEADER_SEARCH_ROWS = 10


def read_returned(path: Path, name: str) -> ReturnedCopy | Problem:
    """One returned file: its identifier and its Review rows, or why it cannot be used."""
    from openpyxl import load_workbook

    from ccreview.contracts.readers import check_workbook_size
    from ccreview.core.errors import UnreadableInputError

    try:
        check_workbook_size(path)  # a zip bomb is refused before any XML is parsed
        wb = load_workbook(path, read_only=True, data_only=True)
    except UnreadableInputError as exc:
        return Problem(name, "", None, "", "", exc.reason, True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError):
        return Problem(name, "", None, "", "", "not a readable xlsx workbook", True)
    try:
        if IDENTIFIER_SHEET not in wb.sheetnames or REVIEW_SHEET not in wb.sheetnames:
            return Problem(name, "", None, "", "",
                           "not an attestation workbook (no ccreview identifier)", True)
        ident = {evidence_text(r[0]): evidence_text(r[1]) for r in
                 wb[IDENTIFIER_SHEET].iter_rows(max_col=2, values_only=True) if r and r[0]}
        if ident.get("ccreview") != IDENTIFIER_TITLE:
            return Problem(name, "", None, "", "",
                           "not an attestation workbook (no ccreview identifier)", True)
        copy = ReturnedCopy(name, ident.get("review_as_of", ""),
                            ident.get("request_number", ""), ident.get("workbook_id", ""))
        sheet_rows = wb[REVIEW_SHEET].iter_rows(values_only=True)
        columns: dict[str, int] | None = None
        for number, values in enumerate(sheet_rows, start=1):
            if columns is None:
                texts = [evidence_text(v) for v in values]
                if "Row ID" in texts and "Decision" in texts:
                    columns = {t: j for j, t in enumerate(texts) if t}
                    copy.missing_columns = [h for h in (*EVIDENCE_HEADERS, "Decision")
                                            if h not in columns]
                elif number >= HEADER_SEARCH_ROWS:
                    break
                continue
            row = {h: (values[j] if j < len(values) else None) for h, j in columns.items()}
            if all(evidence_text(v) == "" for v in row.values()):
                continue  # a blank row
            copy.rows.append((number, row))
        if columns is None:
            return Problem(name, copy.request_number, None, "", "",
                           "the Review sheet has no header row with Row ID and Decision", True)
        return copy
    finally:
        wb.close()


def check_returns(returned_dir: Path, history_path: Path, as_of: dt.date | None,
                  received_on: dt.date) -> IntakeResult:
    """Read every workbook under `returned_dir` and check it against the attestation
    register of the review as of `as_of` (default: the latest review) in the history."""
    register = read_register(history_path, as_of)
    as_of = register["as_of"]
    groups, issued = register["groups"], register["issued"]
    superseded = register["superseded"]
    owner = {rid: rn for rn, rows in issued.items() for rid in rows}
    problems: list[Problem] = []
    copies: dict[str, list[ReturnedCopy]] = {}
    files = sorted(p for p in returned_dir.rglob("*") if p.is_file()
                   and not p.name.startswith(("~$", ".")))
    for path in files:
        name = path.relative_to(returned_dir).as_posix()
        if path.suffix.lower() not in WORKBOOK_SUFFIXES:
            problems.append(Problem(name, "", None, "", "",
                                    f"not an xlsx workbook ({path.suffix or 'no extension'})",
                                    True))
            continue
        copy = read_returned(path, name)
        if isinstance(copy, Problem):
            problems.append(copy)
        elif copy.as_of != as_of.isoformat():
            problems.append(Problem(name, copy.request_number, None, "", "",
                                    f"from the review of {copy.as_of or 'an unknown date'}, "
                                    f"not of {as_of.isoformat()}", True))
        elif copy.request_number not in groups:
            problems.append(Problem(name, copy.request_number, None, "", "",
                                    "from a group that was not sent a workbook in this review",
                                    True))
        else:
            copies.setdefault(copy.request_number, []).append(copy)

    results, remediation = [], []
    for rn, (group_name, due_on, wb_id) in sorted(groups.items()):
        returned = copies.get(rn, [])
        result = GroupResult(rn, group_name, due_on, "", [c.file for c in returned],
                             len(issued[rn]))
        results.append(result)
        if not returned:
            result.status = "overdue" if received_on > due_on else "not returned"
            continue
        usable = returned[0]
        if len(returned) > 1:
            same = len({json.dumps(_decisions(c), sort_keys=True) for c in returned}) == 1
            for c in returned[1:]:
                problems.append(Problem(
                    c.file, rn, None, "", "",
                    f"duplicate return of this group (also {returned[0].file}); "
                    + ("same decisions, counted once" if same
                       else "the decisions differ: send one copy"), not same))
            if not same:
                problems.append(Problem(returned[0].file, rn, None, "", "",
                                        "duplicate return of this group with different "
                                        "decisions: send one copy", True))
                result.status = "incomplete"
                continue
        rows_issued = issued[rn]
        if usable.workbook_id != wb_id and usable.workbook_id in superseded.get(rn, {}):
            # a copy of what an earlier run of this review issued, before a rerun with
            # --replace: checked against what that run issued
            rows_issued = superseded[rn][usable.workbook_id]
            wb_id = usable.workbook_id
            problems.append(Problem(usable.file, rn, None, "", "",
                                    "a copy issued by an earlier run of this review that "
                                    "was later replaced; checked against what it issued",
                                    False))
        group_problems = _check_copy(usable, rn, wb_id, rows_issued, owner)
        problems += group_problems
        bad_rows = {p.row_id for p in group_problems if p.blocking and p.row_id}
        decisions = _decisions(usable)
        for d in decisions.values():
            result.decisions[d] = result.decisions.get(d, 0) + 1
        result.decided = sum(1 for rid, d in decisions.items()
                             if d in DECISIONS and rid in rows_issued)
        blocking = any(p.blocking for p in group_problems)
        result.status = ("incomplete" if blocking else
                         "complete" if result.decided == len(rows_issued) else "returned")
        comments = {evidence_text(row.get("Row ID")): evidence_text(row.get("Comment"))
                    for _, row in usable.rows}
        for rid, decision in sorted(decisions.items()):
            if decision in ("Revoke", "Modify") and rid in rows_issued and rid not in bad_rows:
                item = rows_issued[rid]
                remediation.append({
                    "application_team": item["team"],
                    "application": item["evidence"]["Application"],
                    "request_number": rn, "group_name": group_name,
                    "person_name": item["evidence"]["Person"],
                    "email": item["evidence"]["Email"],
                    "accounts": item["evidence"]["Accounts"], "decision": decision,
                    "comment": comments.get(rid, ""), "severity": item["evidence"]["Severity"],
                    "findings": item["evidence"]["Findings"], "row_id": rid,
                    "returned_in": usable.file})
    remediation.sort(key=lambda r: (r["application_team"], r["application"],
                                    r["request_number"], r["person_name"], r["row_id"]))
    problems.sort(key=lambda p: (p.file, p.sheet_row or 0, p.column, p.problem))
    return IntakeResult(as_of, received_on, results, problems, remediation, len(files))


_KNOWN_DECISIONS = {d.casefold(): d for d in DECISIONS}


def _decision(row: dict[str, object]) -> str:
    """The decision as written, normalised to Keep/Revoke/Modify when it is one of them
    (any case, surrounding spaces); "" when empty."""
    text = evidence_text(row.get("Decision"))
    return _KNOWN_DECISIONS.get(text.casefold(), text)


def _decisions(copy: ReturnedCopy) -> dict[str, str]:
    """Row ID -> its decision."""
    return {evidence_text(row.get("Row ID")): _decision(row) for _, row in copy.rows}


def _check_copy(copy: ReturnedCopy, rn: str, wb_id: str, issued: dict[str, dict],
                owner: dict[str, str]) -> list[Problem]:
    problems = []

    def add(sheet_row: int | None, rid: str, column: str, problem: str,
            blocking: bool = True) -> None:
        problems.append(Problem(copy.file, rn, sheet_row, rid, column, problem, blocking))

    if copy.workbook_id != wb_id:
        add(None, "", "", "the workbook's identifier does not match the one issued for "
            "this group and review (an older or altered copy)")
    for column in copy.missing_columns:
        add(None, "", column, "column removed")
    seen: set[str] = set()
    for sheet_row, row in copy.rows:
        rid = evidence_text(row.get("Row ID"))
        if rid not in issued:
            other = owner.get(rid)
            add(sheet_row, rid, "Row ID",
                f"row from another group's workbook ({other})" if other
                else "row not issued in this workbook (added or Row ID edited)")
            continue
        if rid in seen:
            add(sheet_row, rid, "Row ID", "row appears more than once")
            continue
        seen.add(rid)
        expected = issued[rid]["evidence"]
        for header in EVIDENCE_HEADERS:
            if header in row and evidence_text(row[header]) != expected[header]:
                add(sheet_row, rid, header, "evidence edited (only Decision and Comment may "
                    "change)")
        decision = _decision(row)
        high = expected["Severity"] == "high"
        if not decision:
            if high:
                add(sheet_row, rid, "Decision", "missing decision on a high-severity row")
        elif decision not in DECISIONS:
            add(sheet_row, rid, "Decision", "unknown decision (use Keep, Revoke or Modify)")
        elif decision == "Modify" and not evidence_text(row.get("Comment")):
            add(sheet_row, rid, "Comment", "Modify without a comment saying what to change",
                blocking=False)
    for rid in sorted(set(issued) - seen):
        high = issued[rid]["evidence"]["Severity"] == "high"
        add(None, rid, "", "row removed from the workbook", blocking=high)
    return problems
