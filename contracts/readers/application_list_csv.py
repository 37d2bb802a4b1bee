"""Application user lists (Cerner Millennium, PACS Synapse, DSM, Qventus, Report2Web).

The canonical layout, one row per application account:

| column        | meaning                                                        |
|---------------|----------------------------------------------------------------|
| `application` | CERNER, PACS, DSM, QVENTUS or R2W (display names accepted)     |
| `username`    | the account's login: LAN ID or UPN                             |
| `email`       | the account's email, if the application keeps one              |
| `display_name`| as the application shows it                                    |
| `active`      | true/false                                                     |
| `created`     | when the account was created                                   |
| `last_access` | last successful use of the application; empty = never          |
| `role`        | role or position in the application                            |

Canonical table: `application_accounts`.
"""

from __future__ import annotations

from contracts.readers.base import ReadResult, csv_records, parse_bool, parse_datetime
from contracts.readers.enrollment_json import APPLICATION_NAMES

FORMAT = "application-user-list-csv"
REQUIRED_HEADERS = {"application", "username", "active"}


def matches(header: list[str]) -> bool:
    return set(header) >= REQUIRED_HEADERS


def read(text: str) -> ReadResult:
    result = ReadResult(FORMAT)
    table = "application_accounts"
    for line, rec in csv_records(text):
        row: dict = {"source_line": line}
        idx = result.add(table, row)
        if "__width_mismatch__" in rec:
            result.reject(table, idx, "(row)", "csv_width",
                          "the row has a different number of fields than the header")
            continue
        app = rec.get("application", "").strip()
        row["application"] = APPLICATION_NAMES.get(app.lower(), app.upper() or None)
        for col in ("username", "email", "display_name", "role"):
            row[col] = rec.get(col, "").strip() or None
        try:
            row["active"] = parse_bool(rec.get("active"))
        except ValueError as exc:
            row["active"] = None
            result.reject(table, idx, "active", "boolean", str(exc))
        for src, dst in (("created", "created_at"), ("last_access", "last_access_at")):
            try:
                row[dst] = parse_datetime(rec.get(src))
            except ValueError as exc:
                row[dst] = None
                result.reject(table, idx, src, "datetime", str(exc))
    return result
