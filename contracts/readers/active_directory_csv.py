"""Active Directory users as `Get-ADUser ... | Export-Csv` writes them.

Windows PowerShell 5.1 (a `#TYPE` first line, every field quoted, ASCII or UTF-8 with a
BOM, or UTF-16 when redirected with `>`/`Out-File`) and PowerShell 7 (UTF-8 without BOM,
no type line, `-UseQuotes AsNeeded`). Headers match case-insensitively. `lastLogonTimestamp`,
`pwdLastSet` and `accountExpires` are Windows FILETIME integers (0 and
9223372036854775807 mean never); `whenCreated` is in the exporting culture's format
(en-US: `1/15/2023 9:03:12 AM`), a clock time of the exporting host, read in the
configured directory time zone and stored as UTC. Canonical table: `directory_accounts`.
"""

from __future__ import annotations

from datetime import tzinfo
from functools import partial

from ccreview.contracts.readers.base import ReadResult, csv_records, parse_bool, parse_datetime
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
}
FILETIME_COLUMNS = {"lastlogontimestamp": "last_logon_at", "pwdlastset": "password_last_set_at",
                    "accountexpires": "account_expires_at"}


def _filetime(value: str | None):
    try:
        dt = filetime_to_datetime(value)
    except (ValueError, OverflowError):
        raise ValueError("not a Windows FILETIME integer (100-ns ticks since 1601)") from None
    return None if dt is None else dt.replace(tzinfo=None)


def matches(header: list[str]) -> bool:
    return set(header) >= REQUIRED_HEADERS


def read(text: str, tz: tzinfo | None = None, culture: str = "en-US") -> ReadResult:
    """`tz`: the exporting host's time zone (None: UTC); `culture`: its date format."""
    result = ReadResult(FORMAT)
    table = "directory_accounts"
    for line, rec in csv_records(text):
        row: dict = {"source_line": line}
        idx = result.add(table, row)
        if "__width_mismatch__" in rec:
            result.reject(table, idx, "(row)", "csv_width",
                          "the row has a different number of fields than the header")
            continue
        for src, dst in TEXT_COLUMNS.items():
            value = rec.get(src, "").strip()
            row[dst] = value or None
        result.convert(table, idx, row, "enabled", parse_bool, rec.get("enabled"), "Enabled",
                       "boolean")
        when = partial(parse_datetime, tz=tz, culture=culture)
        result.convert(table, idx, row, "created_at", when, rec.get("whencreated"),
                       "whenCreated", "datetime")
        for src, dst in FILETIME_COLUMNS.items():
            result.convert(table, idx, row, dst, _filetime, rec.get(src), src, "filetime")
    return result
