"""Entra ID users as Microsoft Graph returns them.

`GET /users?$select=...,signInActivity` pages: `{"@odata.context": ..., "value": [...],
"@odata.nextLink": ...}`; several page files form one export (a page that says another
follows, and a first page's `@odata.count`, are noted: pages that say they are incomplete
refuse the run). `signInActivity` may be null
and its dates may be `0001-01-01T00:00:00Z`, meaning never. `lastSuccessfulSignInDateTime`
is the one that counts for dormancy (`lastSignInDateTime` includes failed attempts).

The same users as the Graph PowerShell SDK gives them (`Get-MgUser -All -Property ... |
ConvertTo-Json -Depth 5`): an array (one user: an object), members named in PascalCase
(`UserPrincipalName`, `SignInActivity.LastSuccessfulSignInDateTime`; names match
case-insensitively), and from Windows PowerShell 5.1 dates as `/Date(<ms>)/` (escaped
`\\/`) and the file in UTF-16 when redirected with `>`.

The same users as a CSV: the Entra admin center's **Download users** file (`Users > All
users > Download users`: `userPrincipalName`, `displayName`, `objectId` or `id`,
`accountEnabled` `True`/`False`, `createdDateTime`, ...; it carries no sign-in activity, so
the sign-in logs are the evidence), or `Get-MgUser | Select ... | Export-Csv` with the
sign-in dates as columns of their own (`LastSuccessfulSignInDateTime`, or prefixed
`SignInActivity.`). Recognised by `userPrincipalName` and `accountEnabled` in the header
(any case); times are ISO 8601 or the en-US clock format Export-Csv writes, in UTC (Graph's
times are UTC). Or the Microsoft 365 admin center's **Export users** file (`Users > Active
users > Export users`): columns by their display names (`User principal name`, `Display
name`, `First name`, `Last name`, `Object Id`, `Department`, `When created`), recognised by
`User principal name` and `Block credential`, whose `True` (the account cannot sign in) is
`accountEnabled` false; no sign-in activity either. A file in which no user has
`accountEnabled` (Graph returns it only when `$select` names it) gives no account a
status: the run is refused. Canonical table: `entra_users`.
"""

from __future__ import annotations

from typing import Any

from ccreview.contracts.readers.base import (
    UNSPLIT,
    ReadResult,
    csv_records,
    lower_keys,
    no_status_note,
    parse_bool,
    parse_json_datetime,
    text_of,
)

FORMAT = "entra-graph-json"
FORMAT_CSV = "entra-users-csv"
CSV_HEADERS = {"userprincipalname", "accountenabled"}
M365_HEADERS = {"user principal name", "block credential"}
# the admin center's column names, as the Graph names the reader takes
_M365_COLUMNS = {"user principal name": "userprincipalname", "display name": "displayname",
                 "first name": "givenname", "last name": "surname", "object id": "objectid",
                 "when created": "createddatetime"}
_ACTIVITY_PREFIXES = ("signinactivity.", "signinactivity_")


def _users(body: Any) -> list | None:
    """The users of a Graph page, of `ConvertTo-Json`'s array, or of its single object."""
    if isinstance(body, dict) and isinstance(body.get("value"), list):
        return body["value"]
    if isinstance(body, list):
        return body
    if isinstance(body, dict) and "userprincipalname" in lower_keys(body):
        return [body]
    return None


def matches(body: Any) -> bool:
    if isinstance(body, dict) and "#users" in str(body.get("@odata.context", "")):
        return True
    users = _users(body)
    return bool(users) and "userprincipalname" in lower_keys(users[0])


def matches_csv(header: list[str]) -> bool:
    """A CSV of Entra users, by its (lower-cased) header."""
    return set(header) >= CSV_HEADERS or set(header) >= M365_HEADERS


def _unblocked(user: dict) -> dict:
    """An Export users row as the Graph user it describes: the columns by their Graph
    names, `Block credential` as `accountEnabled` (its opposite; as given when it is no
    true/false value, which the conversion then rejects under the file's column name)."""
    user = {_M365_COLUMNS.get(k, k): v for k, v in user.items()}
    blocked = (user.pop("block credential", None) or "").strip()
    try:
        user["accountenabled"] = ("false" if parse_bool(blocked) else "true") if blocked else None
    except ValueError:
        user["accountenabled"] = blocked
    return user


def read(body: Any) -> ReadResult:
    return _read_users(ReadResult(FORMAT), enumerate(_users(body) or [], start=1))


def read_csv(text: str, header: list[str]) -> ReadResult:
    """The admin center's Download users file, an Export-Csv of Get-MgUser, or the
    Microsoft 365 admin center's Export users file (by its lower-cased `header`)."""
    m365 = set(header) >= M365_HEADERS

    def users() -> Any:
        for line, rec in csv_records(text):
            if UNSPLIT in rec:
                yield line, rec
                continue
            if m365:
                rec = _unblocked(rec)
            user = {k: v for k, v in rec.items() if not k.startswith(_ACTIVITY_PREFIXES)}
            user["signinactivity"] = {
                k.removeprefix(_ACTIVITY_PREFIXES[0]).removeprefix(_ACTIVITY_PREFIXES[1]): v
                for k, v in rec.items() if k.startswith(_ACTIVITY_PREFIXES)}
            for name in ("lastsuccessfulsignindatetime", "lastsignindatetime"):
                if name in user:
                    user["signinactivity"][name] = user.pop(name)
            yield line, user
    return _read_users(ReadResult(FORMAT_CSV), users(),
                       "Block credential" if m365 else "accountEnabled")


def _read_users(result: ReadResult, records: Any,
                enabled_column: str = "accountEnabled") -> ReadResult:
    """The `entra_users` rows of (line or record number, user) pairs."""
    table = "entra_users"
    statuses = 0  # users whose enabled column or property holds something
    for record, given in records:
        row: dict = {"source_line": record}
        idx = result.add(table, row)
        if isinstance(given, dict) and result.rejected_unsplit(table, idx, given):
            continue
        if not isinstance(given, dict):
            result.reject(table, idx, "(record)", "shape", "the user is not a JSON object")
            continue
        user = lower_keys(given)
        row.update({
            "object_id": text_of(user.get("id", user.get("objectid"))),
            "user_principal_name": text_of(user.get("userprincipalname")),
            "mail": text_of(user.get("mail")),
            "display_name": text_of(user.get("displayname")),
            "given_name": text_of(user.get("givenname")),
            "surname": text_of(user.get("surname")),
            "on_premises_sam_account_name": text_of(user.get("onpremisessamaccountname")),
            "company": text_of(user.get("companyname")),
            "department": text_of(user.get("department")),
        })
        enabled = user.get("accountenabled")
        statuses += enabled is not None and str(enabled).strip() != ""
        result.convert(table, idx, row, "enabled", parse_bool, enabled, enabled_column,
                       "boolean")
        activity = lower_keys(user.get("signinactivity"))
        for src, dst, obj in (
            ("createdDateTime", "created_at", user),
            ("lastSuccessfulSignInDateTime", "last_successful_sign_in_at", activity),
            ("lastSignInDateTime", "last_sign_in_at", activity),
        ):
            raw = text_of(obj.get(src.lower()))
            result.convert(table, idx, row, dst, parse_json_datetime, raw, src, "datetime")
    if result.rows.get(table) and not statuses:
        result.note = no_status_note(f"{enabled_column} is empty or missing for every user: "
                                     "Graph returns accountEnabled only when $select names it")
    return result
