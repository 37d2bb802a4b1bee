"""Entra ID users as Microsoft Graph returns them.

`GET /users?$select=...,signInActivity` pages: `{"@odata.context": ..., "value": [...],
"@odata.nextLink": ...}`; several page files form one export. `signInActivity` may be null
and its dates may be `0001-01-01T00:00:00Z`, meaning never. `lastSuccessfulSignInDateTime`
is the one that counts for dormancy (`lastSignInDateTime` includes failed attempts).
Canonical table: `entra_users`.
"""

from __future__ import annotations

from typing import Any

from ccreview.contracts.readers.base import ReadResult, parse_bool, parse_datetime

FORMAT = "entra-graph-json"


def matches(body: Any) -> bool:
    if not isinstance(body, dict) or not isinstance(body.get("value"), list):
        return False
    ctx = str(body.get("@odata.context", ""))
    if "#users" in ctx:
        return True
    first = body["value"][0] if body["value"] else {}
    return isinstance(first, dict) and "userPrincipalName" in first


def _text(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return s or None


def read(body: dict) -> ReadResult:
    result = ReadResult(FORMAT)
    table = "entra_users"
    for record, user in enumerate(body.get("value", []), start=1):
        row: dict = {"source_line": record}
        idx = result.add(table, row)
        if not isinstance(user, dict):
            result.reject(table, idx, "(record)", "shape", "the user is not a JSON object")
            continue
        row.update({
            "object_id": _text(user.get("id")),
            "user_principal_name": _text(user.get("userPrincipalName")),
            "mail": _text(user.get("mail")),
            "display_name": _text(user.get("displayName")),
            "given_name": _text(user.get("givenName")),
            "surname": _text(user.get("surname")),
            "on_premises_sam_account_name": _text(user.get("onPremisesSamAccountName")),
            "company": _text(user.get("companyName")),
            "department": _text(user.get("department")),
        })
        result.convert(table, idx, row, "enabled", parse_bool, user.get("accountEnabled"),
                       "accountEnabled", "boolean")
        activity = user.get("signInActivity") or {}
        for src, dst, obj in (
            ("createdDateTime", "created_at", user),
            ("lastSuccessfulSignInDateTime", "last_successful_sign_in_at", activity),
            ("lastSignInDateTime", "last_sign_in_at", activity),
        ):
            raw = _text(obj.get(src)) if isinstance(obj, dict) else None
            result.convert(table, idx, row, dst, parse_datetime, raw, src, "datetime")
    return result
