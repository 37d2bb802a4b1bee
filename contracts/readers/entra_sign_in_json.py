"""The Entra ID sign-in log as JSON.

Microsoft Graph's `GET /auditLogs/signIns` pages (`{"@odata.context":
".../$metadata#auditLogs/signIns", "value": [...]}`), the portal's *Download* as JSON (an
array of the same records), and the Graph PowerShell SDK's `Get-MgAuditLogSignIn |
ConvertTo-Json` (PascalCase names, Windows PowerShell's `/Date(ms)/`; names match
case-insensitively). Per record: `id` (the Request ID, the evidence store's key),
`createdDateTime` (UTC), `userPrincipalName`, `appDisplayName`, and `status.errorCode`: 0
is a successful sign-in, anything else (a failure, an interrupted sign-in) is not.
Canonical table: `sign_in_events`, source `entra_sign_in_log`, as from the CSV download.
A page whose `@odata.nextLink` says another follows, and a first page's `@odata.count`,
are noted in the file's note: a folder whose every such file says another follows, or
whose pages hold a page fewer than counted, lacks a page (the run is refused).
"""

from __future__ import annotations

from typing import Any

from ccreview.contracts.readers.base import (
    ReadResult,
    lower_keys,
    parse_json_datetime,
    text_of,
)

FORMAT = "entra-sign-in-log-json"
TABLE = "sign_in_events"


def looks_like_sign_in(obj: Any) -> bool:
    """A sign-in record: a user, a time and an application or a status (a Graph user has
    none of the last two)."""
    keys = lower_keys(obj)
    return ("userprincipalname" in keys and "createddatetime" in keys
            and ("appdisplayname" in keys or "status" in keys))


def _records(body: Any) -> list | None:
    if isinstance(body, dict) and isinstance(body.get("value"), list):
        records = body["value"]
        if "#auditlogs/signins" in str(body.get("@odata.context", "")).lower():
            return records
        return records if records and looks_like_sign_in(records[0]) else None
    if isinstance(body, list):
        return body if body and looks_like_sign_in(body[0]) else None
    return [body] if looks_like_sign_in(body) else None


def matches(body: Any) -> bool:
    return _records(body) is not None


def _succeeded(status: Any) -> bool:
    code = lower_keys(status).get("errorcode")
    if isinstance(code, bool) or code is None:
        raise ValueError("no sign-in status error code")
    try:
        return int(str(code).strip()) == 0
    except ValueError:
        raise ValueError("not a sign-in status error code") from None


def read(body: Any) -> ReadResult:
    result = ReadResult(FORMAT)
    for record, given in enumerate(_records(body) or [], start=1):
        row: dict = {"source_line": record, "source": "entra_sign_in_log"}
        idx = result.add(TABLE, row)
        if not isinstance(given, dict):
            result.reject(TABLE, idx, "(record)", "shape", "the sign-in is not a JSON object")
            continue
        rec = lower_keys(given)
        user = text_of(rec.get("userprincipalname"))
        row.update({"user": user.lower() if user else None,
                    "application": text_of(rec.get("appdisplayname")),
                    "request_id": text_of(rec.get("id"))})
        result.convert(TABLE, idx, row, "occurred_at", parse_json_datetime,
                       text_of(rec.get("createddatetime")), "createdDateTime", "datetime")
        result.convert(TABLE, idx, row, "success", _succeeded, rec.get("status"),
                       "status.errorCode", "boolean")
    return result
