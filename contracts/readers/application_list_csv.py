"""Application user lists (Cerner Millennium, PACS Synapse, DSM, Qventus, Report2Web).

The canonical layout, one row per application account:

| column        | meaning                                                        |
|---------------|----------------------------------------------------------------|
| `application` | CERNER, PACS, DSM, QVENTUS or R2W (display names accepted)     |
| `username`    | the account's login: LAN ID or UPN                             |
| `email`       | the account's email, if the application keeps one              |
| `display_name`| as the application shows it                                    |
| `active`      | true/false, Active/Inactive, Enabled/Disabled, A/I; empty = no |
| `created`     | when the account was created                                   |
| `last_access` | last successful use of the application; empty = never          |
| `role`        | role or position in the application                            |

An export with other headers is read through a layout in the config file
(`[[application_lists]]`: canonical column -> the export's header, and the application when
the file has none); the file is recognised by having every header the layout maps. XLSX
exports are read the same way (first sheet).

A list whose `active` column is empty on every row gives no account a status: the run
is refused (every account would read as inactive).

Canonical table: `application_accounts`.
"""

from __future__ import annotations

from functools import partial

from ccreview.contracts.readers.base import (
    UNSPLIT,
    ReadResult,
    csv_records,
    no_status_note,
    parse_bool,
    parse_datetime,
)
from ccreview.core.config import ApplicationListLayout
from ccreview.core.identifiers import application_code

FORMAT = "application-user-list-csv"
# a list read through a `[[application_lists]]` layout of the configuration
LAYOUT_FORMAT = "application-list-layout"
REQUIRED_HEADERS = {"application", "username", "active"}


# how user lists say whether an account is usable, besides true/false (Cerner's A / I);
# any other word (Locked, Suspended) is not guessed
_ACTIVE = {"active": True, "enabled": True, "a": True,
           "inactive": False, "disabled": False, "i": False}


def parse_active(value: str | None) -> bool | None:
    """The `active` column: a boolean (`parse_bool`) or a status word."""
    word = _ACTIVE.get(str(value).strip().lower()) if value is not None else None
    return word if word is not None else parse_bool(value)


def matches(header: list[str]) -> bool:
    return set(header) >= REQUIRED_HEADERS


def matching_layout(header: list[str], layouts: tuple[ApplicationListLayout, ...]
                    ) -> ApplicationListLayout | None:
    names = set(header)
    return next((x for x in layouts if x.source_headers <= names), None)


def read(text: str, layout: ApplicationListLayout | None = None,
         culture: str = "en-US") -> ReadResult:
    result = ReadResult(FORMAT if layout is None else f"{FORMAT} ({layout.name})")
    table = "application_accounts"
    mapping = {k: v.strip().lower() for k, v in layout.columns} if layout else {}
    statuses = 0  # rows whose active cell holds something
    for line, raw in csv_records(text):
        rec = raw if layout is None or UNSPLIT in raw else {
            canonical: raw.get(mapping.get(canonical, "\0"), "")
            for canonical in ("application", "username", "email", "display_name", "active",
                              "created", "last_access", "role")}
        if layout is not None and layout.application and not rec.get("application"):
            rec["application"] = layout.application
        row: dict = {"source_line": line}
        idx = result.add(table, row)
        if result.rejected_unsplit(table, idx, rec):
            continue
        app = rec.get("application", "").strip()
        row["application"] = application_code(app) or app.upper() or None
        for col in ("username", "email", "display_name", "role"):
            row[col] = rec.get(col, "").strip() or None
        statuses += bool(str(rec.get("active") or "").strip())
        result.convert(table, idx, row, "active", parse_active, rec.get("active"), "active",
                       "boolean")
        for src, dst in (("created", "created_at"), ("last_access", "last_access_at")):
            result.convert(table, idx, row, dst, partial(parse_datetime, culture=culture),
                           rec.get(src), src, "datetime")
    if result.rows.get(table) and not statuses:
        result.note = no_status_note("the active column is empty on every row")
    return result
