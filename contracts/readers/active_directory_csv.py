"""Active Directory users as `Get-ADUser ... | Export-Csv` or `csvde` writes them.

Windows PowerShell 5.1 (a `#TYPE` first line, every field quoted, ASCII or UTF-8 with a
BOM, or UTF-16 when redirected with `>`/`Out-File`) and PowerShell 7 (UTF-8 without BOM,
no type line, `-UseQuotes AsNeeded`). Headers match case-insensitively. `lastLogonTimestamp`,
`pwdLastSet` and `accountExpires` are Windows FILETIME integers (0 and
9223372036854775807 mean never); `whenCreated` is in the exporting culture's format
(en-US: `1/15/2023 9:03:12 AM`), a clock time of the exporting host, read in the
configured directory time zone and stored as UTC.

The properties PowerShell computes from those attributes and an export often selects
instead (`LastLogonDate`, `PasswordLastSet`, `AccountExpirationDate`, `Created`) are read
the same way, as the host's clock time, where the attribute itself is not exported.
`lastLogon` (not replicated: exact, as the domain controller the export asked saw it)
counts too, the later of it and `lastLogonTimestamp`. And `csvde`'s export (LDAP names:
`DN`, `userAccountControl` for whether the account is enabled, `whenCreated` as LDAP
generalized time `20230115160312.0Z`, UTC). An export whose `Enabled` (or
`userAccountControl`) is empty on every row gives no account a status: the run is refused
(an empty cell reads as disabled). Canonical table: `directory_accounts`.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from functools import partial

from ccreview.contracts.readers.base import (
    ReadResult,
    csv_records,
    no_status_note,
    parse_bool,
    parse_datetime,
)
from ccreview.core.identifiers import filetime_to_datetime

FORMAT = "active-directory-csv"
REQUIRED_HEADERS = {"samaccountname", "userprincipalname"}
TEXT_COLUMNS = {  # export header (lower-case) -> canonical column
    "samaccountname": "sam_account_name",
    "userprincipalname": "user_principal_name",
    "mail": "mail",
    "givenname": "given_name",
    "surname": "surname",
    "name": "display_name",
    "company": "company",
    "department": "department",
    "distinguishedname": "distinguished_name",
    "dn": "distinguished_name",  # csvde
}
# canonical column -> (the attribute, a FILETIME; PowerShell's property computed from it,
# the host's clock time in its culture)
FILETIME_COLUMNS = {
    "last_logon_at": ("lastlogontimestamp", "LastLogonDate"),
    "password_last_set_at": ("pwdlastset", "PasswordLastSet"),
    "account_expires_at": ("accountexpires", "AccountExpirationDate"),
}
# userAccountControl's ACCOUNTDISABLE flag
_ACCOUNTDISABLE = 0x2
_GENERALIZED_TIME = re.compile(r"(\d{14})(?:[.,]\d+)?Z")


def _filetime(value: str | None):
    try:
        dt = filetime_to_datetime(value)
    except (ValueError, OverflowError):
        raise ValueError("not a Windows FILETIME integer (100-ns ticks since 1601)") from None
    return None if dt is None else dt.replace(tzinfo=None)


def _enabled_from_flags(value: str | None) -> bool | None:
    """userAccountControl (csvde, or an export without PowerShell's `Enabled`): enabled
    unless ACCOUNTDISABLE is set."""
    if value is None or not value.strip():
        return None
    try:
        flags = int(value.strip())
    except ValueError:
        raise ValueError("not a userAccountControl integer") from None
    return not flags & _ACCOUNTDISABLE


def _when_created(value: str | None, tz: tzinfo | None, culture: str) -> datetime | None:
    """LDAP generalized time (`20230115160312.0Z`, UTC) or the culture's clock time."""
    match = _GENERALIZED_TIME.fullmatch((value or "").strip())
    if match:
        return datetime.strptime(match.group(1), "%Y%m%d%H%M%S")
    return parse_datetime(value, tz=tz, culture=culture)


# userAccountControl's trust-account flags: an interdomain trust, a workstation or member
# server, a domain controller
_TRUST_ACCOUNT = 0x0800 | 0x1000 | 0x2000
# objectClass values of accounts that are no person's (a computer is also a `user`)
_NOT_PERSONS = {"computer", "msds-managedserviceaccount", "msds-groupmanagedserviceaccount"}
NOT_A_USER_ACCOUNT = ("a computer or managed service account (its objectClass, its "
                      "userAccountControl trust flags or a name ending in $): no person's, "
                      "outside the review")


def _not_a_person(rec: dict[str, str]) -> str | None:
    """The column that shows a row is a computer or managed service account, or None. An
    export filtered only on `objectClass=user` (csvde -r, Get-ADObject) holds computers
    too: reviewed, each was an ORPHAN_ACCOUNT to disable — a server's account among them."""
    classes = {c.strip().lower() for c in rec.get("objectclass", "").split(";")}
    if classes & _NOT_PERSONS:
        return "objectClass"
    flags = rec.get("useraccountcontrol", "").strip()
    if flags.isdigit() and int(flags) & _TRUST_ACCOUNT:
        return "userAccountControl"
    if rec.get("samaccountname", "").strip().endswith("$"):
        return "sAMAccountName"
    return None


def matches(header: list[str]) -> bool:
    return set(header) >= REQUIRED_HEADERS


def read(text: str, tz: tzinfo | None = None, culture: str = "en-US") -> ReadResult:
    """`tz`: the exporting host's time zone (None: UTC); `culture`: its date format."""
    result = ReadResult(FORMAT)
    table = "directory_accounts"
    local = partial(parse_datetime, tz=tz, culture=culture)
    statuses = 0  # rows whose Enabled (or userAccountControl) holds something
    for line, rec in csv_records(text):
        row: dict = {"source_line": line}
        idx = result.add(table, row)
        if result.rejected_unsplit(table, idx, rec):
            continue
        for src, dst in TEXT_COLUMNS.items():
            value = rec.get(src, "").strip()
            if value or dst not in row:
                row[dst] = value or None
        column = _not_a_person(rec)
        if column:  # (read whole all the same: this is its only reason)
            result.reject(table, idx, column, "not_a_user_account", NOT_A_USER_ACCOUNT)
        statuses += bool(str(rec.get("enabled") or rec.get("useraccountcontrol") or "").strip())
        if "enabled" in rec or "useraccountcontrol" not in rec:
            result.convert(table, idx, row, "enabled", parse_bool, rec.get("enabled"),
                           "Enabled", "boolean")
        else:
            result.convert(table, idx, row, "enabled", _enabled_from_flags,
                           rec.get("useraccountcontrol"), "userAccountControl",
                           "user_account_control")
        created = "whencreated" if "whencreated" in rec else "created"
        result.convert(table, idx, row, "created_at",
                       partial(_when_created, tz=tz, culture=culture), rec.get(created),
                       "whenCreated" if created == "whencreated" else "Created", "datetime")
        for dst, (attribute, computed) in FILETIME_COLUMNS.items():
            if attribute in rec or computed.lower() not in rec:
                result.convert(table, idx, row, dst, _filetime, rec.get(attribute),
                               attribute, "filetime")
            else:
                result.convert(table, idx, row, dst, local, rec.get(computed.lower()),
                               computed, "datetime")
        if "lastlogon" in rec:  # exact, as the domain controller asked saw it: the later
            try:
                exact = _filetime(rec.get("lastlogon"))
            except ValueError as exc:
                result.reject(table, idx, "lastLogon", "filetime", str(exc), "last_logon_at")
                exact = None
            if exact is not None and (row["last_logon_at"] is None
                                      or exact > row["last_logon_at"]):
                row["last_logon_at"] = exact
    if result.rows.get(table) and not statuses:
        result.note = no_status_note("the Enabled column is empty on every row, and no "
                                     "userAccountControl says otherwise")
    return result
