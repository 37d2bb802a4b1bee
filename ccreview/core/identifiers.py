"""Parsing and checking of the identifiers people type into the enrollment form.

Pure functions shared by the generator, the readers and the contracts; property-tested.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from ccreview.core.vocabulary import APPLICATION_NAMES

REQUEST_NUMBER_RE = re.compile(r"^CS\d{7}$")
# an email address; ASCII classes, so that DuckDB's RE2 reads it alike (the warehouse's
# valid_email macro is made from it)
EMAIL_RE = re.compile(r"^[^@\s]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$",
                      re.ASCII)

STAFF_TYPES = ("Sponsoring Physician", "Group Administrator", "Provider", "Staff")
# how the sources spell the staff types besides their labels: ServiceNow choice values,
# shortened labels people type
_STAFF_TYPE_ALIASES = {
    "sponsoring physician": "Sponsoring Physician", "sponsor": "Sponsoring Physician",
    "physician sponsor": "Sponsoring Physician",
    "group administrator": "Group Administrator", "group admin": "Group Administrator",
    "administrator": "Group Administrator", "admin": "Group Administrator",
    "provider": "Provider", "staff": "Staff", "staff member": "Staff",
}

# Windows FILETIME: 100-ns intervals since 1601-01-01 UTC. 0 and int64 max mean "never".
FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
FILETIME_NEVER = (0, 9223372036854775807)


def npi_check_digit(first9: str) -> int:
    """Luhn check digit of an NPI, computed over the prefix 80840 + the first nine digits."""
    digits = [int(c) for c in "80840" + first9]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:  # rightmost digit of the payload is doubled
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


_ASCII_SPACE = " \t\n\r\x0b\x0c"

# what people put between an NPI's digits (`1234 567 893`, `123-456-7893`); the warehouse's
# npi_digits macro is made from it
NPI_SEPARATORS = r"[\s.-]"


def normalize_npi(value: str | None) -> str | None:
    """An NPI as people write it: its ten digits when, without separators, it is ten
    digits; else the value stripped, for the check digit to judge."""
    if value is None:
        return None
    text = str(value).strip(_ASCII_SPACE)
    digits = re.sub(NPI_SEPARATORS, "", text, flags=re.ASCII)
    return digits if re.fullmatch(r"[0-9]{10}", digits) else text


def is_valid_npi(value: str | None) -> bool:
    if value is None:
        return False
    s = str(value).strip()
    if len(s) != 10 or not s.isdigit():
        return False
    return npi_check_digit(s[:9]) == int(s[9])


# A phone number as people write it, perhaps followed by an extension ("x12", "ext. 12",
# "extension 12", "#12"): group 1 the number, group 2 the extension; and the digits of a
# ten-digit North American number (a leading 1 allowed; area code and exchange start 2-9).
# Python's re (ASCII) and DuckDB's RE2 read both alike: the warehouse's phone macros
# (transforms/warehouse.py) are made from them.
PHONE_WITH_EXTENSION = r"(?i)^(.*?)\s*[,;]?\s*(?:x|ext\.?|extension|#)\s*(\d{1,6})\s*$"
NANP_DIGITS = r"1?([2-9]\d{2})([2-9]\d{2})(\d{4})"


def split_phone(value: str) -> tuple[str, str | None]:
    """(the number, the extension written after it or None)."""
    match = re.match(PHONE_WITH_EXTENSION, value, re.ASCII)
    if match and match.group(1).strip():
        return match.group(1), match.group(2)
    return value, None


def normalize_phone(value: str | None) -> str | None:
    """Ten-digit North American number as `NNN-NNN-NNNN`, or None if it is not one.

    Accepts the ways a person writes the same number: `602-555-0142`, `(602) 555-0142`,
    `602.555.0142`, `+1 602 555 0142`, `6025550142`, and any of them with an extension
    after it (`602-555-0142 x12`, `ext. 12`: see `split_phone`).
    """
    if value is None:
        return None
    digits = re.sub(r"\D", "", split_phone(str(value))[0], flags=re.ASCII)
    match = re.fullmatch(NANP_DIGITS, digits, re.ASCII)
    return "-".join(match.groups()) if match else None


def staff_type_label(value: str | None) -> str | None:
    """The staff type's label (`Sponsoring Physician`, ...) from a label in any case or a
    choice value such as `sponsoring_physician`; anything else is returned as given, for
    the contract to reject."""
    if value is None:
        return None
    key = re.sub(r"[\s_\-]+", " ", str(value)).strip().lower()
    return _STAFF_TYPE_ALIASES.get(key, str(value).strip() or None)


def application_key(name: object) -> str:
    """An application's name as `APPLICATION_NAMES` keys it: lower case, `_` and `-` as
    spaces, runs of white space as one."""
    return " ".join(str(name).replace("_", " ").replace("-", " ").split()).lower()


_PARENTHESISED = re.compile(r"^(.*?)\s*\(([^()]*)\)$")


def application_code(name: object) -> str | None:
    """CERNER, PACS, ... from a code, a display name or a choice value, also with its
    code or product in parentheses (`Direct Secure Messaging (DSM)`, `PACS (Synapse)`);
    None if it names none of the five applications, or two of them."""
    key = application_key(name)
    code = APPLICATION_NAMES.get(key)
    match = _PARENTHESISED.match(key) if code is None else None
    if match:
        named = {APPLICATION_NAMES.get(part.strip()) for part in match.groups()} - {None}
        code = named.pop() if len(named) == 1 else None
    return code


# What a suffix's spelling may add without changing it: periods and white space (`M.D.`,
# ` N.P. `, `Office  Manager`). Suffixes are compared by `suffix_key` (and in SQL by the
# suffix_key macro, made from this pattern) with the policy table's.
SUFFIX_IGNORED = r"[. \t\n\r\f\v]"


def suffix_key(value: str | None) -> str | None:
    """The suffix as compared with the policy's: lower case, without periods or spaces."""
    return None if value is None else re.sub(SUFFIX_IGNORED, "", str(value)).lower()


# A distinguished name's domain components (`...,DC=cc,DC=example,DC=org`): group 1 one
# label. Windows accepts `sAMAccountName@<those labels joined by dots>` at logon when an
# account has no userPrincipalName (its implicit UPN); the warehouse's implicit_upn macro
# is made from this pattern.
DN_DOMAIN_COMPONENT = r"(?i)(?:^|,)[ ]*DC=([^,]*)"


def implicit_upn(sam_account_name: str | None, distinguished_name: str | None) -> str | None:
    """`sam@domain` from an AD account's LAN ID and its distinguished name's DC labels (as
    written: the warehouse lower-cases keys), or None when either is missing."""
    if not isinstance(sam_account_name, str) or not isinstance(distinguished_name, str):
        return None  # missing (None, or a frame's NaN)
    sam = sam_account_name.strip(_ASCII_SPACE)
    labels = [label.strip(_ASCII_SPACE) for label
              in re.findall(DN_DOMAIN_COMPONENT, distinguished_name, re.ASCII)]
    labels = [label for label in labels if label]
    if not sam or not labels:
        return None
    return f"{sam}@{'.'.join(labels)}"


def is_valid_email(value: str | None) -> bool:
    return value is not None and bool(EMAIL_RE.match(str(value).strip(_ASCII_SPACE)))


def filetime_to_datetime(value: str | int | None) -> datetime | None:
    """FILETIME integer to an aware UTC datetime; None for empty, 0 or the never sentinel;
    a negative value is an error (it is no time, and reading it as "never" would guess)."""
    if value is None:
        return None
    s = str(value).strip()
    if not s:
        return None
    n = int(s)
    if n in FILETIME_NEVER:
        return None
    if n < 0:
        raise ValueError("a negative FILETIME is not a time")
    return FILETIME_EPOCH + timedelta(microseconds=n // 10)


def datetime_to_filetime(value: datetime) -> int:
    delta = value.astimezone(UTC) - FILETIME_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10_000_000 + delta.microseconds * 10
