"""The attestation workbook's vocabulary, with one owner: what the review issues
(`ccreview.reports.attestation` writes it), what `attest` reads back and checks
(`ccreview.contracts.attestation_returns`), what the history registers
(`ccreview.core.history`) and what the remediation list holds. Sheet names, the
evidence columns and their canonical text, the workbook identifier, the due date, and
the shapes of an intake's result."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii

EXCEL_MAX_CHARS = 32_767  # what one Excel cell holds; evidence is registered as the cell
IDENTIFIER_SHEET = "ccreview"
IDENTIFIER_TITLE = "ccreview attestation"
REVIEW_SHEET = "Review"
DECISIONS = ("Keep", "Revoke", "Modify")
# (column in entitlement_review, header on the Review sheet); every one is evidence the
# reviewer may not edit, and is compared with what was issued when the copy comes back
EVIDENCE = (
    ("row_id", "Row ID"), ("person_name", "Person"), ("email", "Email"), ("role", "Role"),
    ("suffix", "Suffix"), ("member_status", "Member status"),
    ("application_name", "Application"), ("allowed_by_policy", "Allowed by policy"),
    ("requested_on", "Requested on"), ("provisioned", "Provisioned"),
    ("accounts", "Accounts"), ("last_used_on", "Last used"), ("findings", "Findings"),
    ("highest_severity", "Severity"),
)
EVIDENCE_HEADERS = tuple(h for _, h in EVIDENCE)
REVIEW_HEADERS = (*EVIDENCE_HEADERS, "Decision", "Comment")
_OOXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def evidence_text(value: object) -> str:
    """The canonical text of an evidence cell, as issued and as read back: booleans are
    Yes/No, dates ISO, empty is ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    # control characters are stored as `_xHHHH_` escapes, which openpyxl reads back as
    # written: decode them on both sides, so an untouched cell never looks edited
    return _OOXML_ESCAPE.sub(_unescape, str(value)).strip()


def _unescape(match: re.Match) -> str:
    return chr(int(match.group(1), 16))


def issued_texts(values: Sequence[object]) -> list[str]:
    """`evidence_text` of each evidence value as its cell holds it (text cut at what a cell
    holds): the same texts, for the register's hundreds of thousands of rows, without the
    general function's type tests on every text and date."""
    texts = []
    for v in values:
        if isinstance(v, str):
            v = v[:EXCEL_MAX_CHARS]
            texts.append((_OOXML_ESCAPE.sub(_unescape, v) if "_x" in v else v).strip())
        elif v is None:
            texts.append("")
        elif type(v) is dt.date:
            texts.append(v.isoformat())
        else:
            texts.append(evidence_text(v))
    return texts


# the register's evidence JSON: json.dumps(dict(zip(EVIDENCE_HEADERS, texts)),
# sort_keys=True), built from the keys' fixed order and the encoder json.dumps uses
_BY_KEY = sorted(range(len(EVIDENCE)), key=lambda i: EVIDENCE[i][1])
_KEYS = [encode_basestring_ascii(EVIDENCE[i][1]) + ": " for i in _BY_KEY]


def evidence_json(texts: Sequence[str]) -> str:
    """A row's evidence texts (in `EVIDENCE` order) as the register stores them."""
    return "{" + ", ".join([k + encode_basestring_ascii(texts[i])
                            for k, i in zip(_KEYS, _BY_KEY, strict=True)]) + "}"


def workbook_id(as_of: dt.date, request_number: str, row_ids: Sequence[str]) -> str:
    """Identifies one issued workbook: the period, the group and the rows it asked about."""
    text = "|".join([as_of.isoformat(), request_number, *sorted(row_ids)])
    return hashlib.sha256(text.encode()).hexdigest()[:16].upper()


def due_date(as_of: dt.date, due_days: int) -> dt.date:
    return as_of + dt.timedelta(days=due_days)



# the remediation list: key -> header
REMEDIATION_COLUMNS = {
    "application_team": "Application team", "application": "Application",
    "request_number": "Request number", "group_name": "Group", "person_name": "Person",
    "email": "Email", "accounts": "Accounts", "decision": "Decision", "comment": "Comment",
    "severity": "Severity", "findings": "Findings", "row_id": "Row ID",
    "returned_in": "Returned in file",
}

@dataclass(frozen=True)
class Problem:
    file: str
    request_number: str
    sheet_row: int | None
    row_id: str
    column: str
    problem: str
    blocking: bool


@dataclass
class ReturnedCopy:
    file: str
    as_of: str
    request_number: str
    workbook_id: str
    # row id -> (sheet row, {header: value})
    rows: list[tuple[int, dict[str, object]]] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)


@dataclass
class GroupResult:
    request_number: str
    group_name: str
    due_on: dt.date
    status: str
    files: list[str]
    rows: int
    decided: int = 0
    decisions: dict[str, int] = field(default_factory=dict)


@dataclass
class IntakeResult:
    as_of: dt.date
    received_on: dt.date
    groups: list[GroupResult]
    problems: list[Problem]
    remediation: list[dict[str, object]]
    files: int

    def groups_by_status(self) -> dict[str, int]:
        return dict(Counter(g.status for g in self.groups))

    def problems_by_group(self) -> dict[str, int]:
        return dict(Counter(p.request_number for p in self.problems))
