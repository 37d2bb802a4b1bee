"""Two plain-table alternatives to the JSON exports (CSV or XLSX).

**Group member list** as the portal shows it under *My Requests* ("Group members"):
`First Name, M.I., Last Name, Phone Number, Email Address, Title, Specialty, Suffix,
Staff Type, Licensed State, State License Number` and one `true`/`false` column per
application (`Cerner Millennium`, `PACS Synapse`, `Report2Web`, `Direct Secure Messaging`,
`Qventus`; the portal's misspellings such as `Cerner Millenium`, `PACs Synapse` and
`Repor 2 WeE` are accepted). The group is named by a `Request Number` column or by a
request number (`CS` + 7 digits) in a title line above the header. The list is the
group's membership as exported: it counts as the latest statement of each listed
member's staff type, suffix and applications (it removes nobody). Rows go to
`enrollment_people` and `enrollment_app_requests` with request type `member_list`.

**DAA status CSV**: one row per envelope recipient with `envelope_id, request_number,
status, sent_at, completed_at, declined_at, voided_at, recipient_role, recipient_name,
recipient_email, recipient_status, signed_at` (envelope fields repeated on each of its
rows). Rows go to `daa_envelopes` (the first row of each envelope) and `daa_recipients`.
"""

from __future__ import annotations

import csv
import re

from ccreview.contracts.readers.base import (
    UNSPLIT,
    UNSPLIT_ROW,
    ReadResult,
    csv_records,
    parse_bool,
    parse_datetime,
    parse_text,
    reject_repeated_request,
)
from ccreview.core.identifiers import application_code, staff_type_label

FORMAT_MEMBERS = "portal-group-member-list"
FORMAT_DAA = "daa-status-csv"
DAA_HEADERS = {"envelope_id", "request_number", "status", "recipient_role"}
MEMBER_HEADERS = {"first name", "last name", "email address", "staff type", "suffix"}
_RN = re.compile(r"\bCS\d{7}\b")
PERSON_COLUMNS = {"first name": "first_name", "m.i.": "middle_initial",
                  "last name": "last_name", "phone number": "phone",
                  "email address": "email", "title": "title", "specialty": "specialty",
                  "suffix": "suffix", "staff type": "staff_type",
                  "licensed state": "licensed_state",
                  "state license number": "state_license_number",
                  "sate license number": "state_license_number", "npi": "npi"}


def member_list_header_line(text: str) -> int | None:
    """0-based index of the member list's header line among the first lines, or None."""
    for i, line in enumerate(text.lstrip("\ufeff").splitlines()[:6]):
        try:
            cells = {c.strip().lower() for c in next(csv.reader([line]))}
        except (csv.Error, StopIteration):
            continue
        if cells >= MEMBER_HEADERS:
            return i
    return None


def read_member_list(text: str, header_line: int) -> ReadResult:
    result = ReadResult(FORMAT_MEMBERS)
    lines = text.lstrip("\ufeff").splitlines(keepends=True)
    title_rn = _RN.search("".join(lines[:header_line]))
    body = "".join(lines[header_line:])
    codes: dict[str, str | None] = {}  # each column's application, named once per file
    for line, rec in csv_records(body):
        line += header_line
        rn = (rec.get("request number") or "").strip() or (title_rn.group(0) if title_rn
                                                            else None)
        row: dict = {"request_number": rn, "group_request_number": rn,
                     "request_type": "member_list", "submitted_at": None, "action": "add",
                     "form_section": "members", "source_line": line, "source_path": "row"}
        idx = result.add("enrollment_people", row)
        if result.rejected_unsplit("enrollment_people", idx, rec):
            continue
        for src, dst in PERSON_COLUMNS.items():
            if src in rec:
                result.convert("enrollment_people", idx, row, dst, parse_text, rec[src], src,
                               "text")
        row["staff_type"] = staff_type_label(row.get("staff_type"))
        # the list shows one staff type: a Sponsoring Physician who is also the administrator
        # shows as the sponsor, so "not administrator" cannot be read from it
        row["is_group_admin"] = True if row.get("staff_type") == "Group Administrator" else None
        row["no_middle_initial"] = not row.get("middle_initial")
        requested: dict[tuple[str, str], str] = {}  # two columns of one application
        for header, value in rec.items():
            if header not in codes:
                codes[header] = application_code(header)
            code = codes[header]
            if code is None:
                continue
            try:
                wanted = parse_bool(value)
            except ValueError:
                result.reject("enrollment_people", idx, header, "boolean",
                              "not a true/false value")
                continue
            if wanted:
                ridx = result.add("enrollment_app_requests", {
                    "request_number": rn, "group_request_number": rn, "submitted_at": None,
                    "request_type": "member_list", "email": row.get("email"),
                    "application": code, "details": "{}", "source_line": line,
                    "source_path": header})
                if row.get("email"):
                    reject_repeated_request(result, ridx, requested, row["email"], code,
                                            header)
    return result


def read_daa_csv(text: str) -> ReadResult:
    result = ReadResult(FORMAT_DAA)
    seen: set[str] = set()
    for line, rec in csv_records(text):
        if UNSPLIT in rec:  # (its row exists only as a quarantined one)
            idx = result.add("daa_recipients", {"source_line": line})
            result.reject("daa_recipients", idx, "(row)", "csv_width", UNSPLIT_ROW)
            continue
        env_id = rec.get("envelope_id", "").strip() or None
        rn = rec.get("request_number", "").strip() or None
        if env_id not in seen:
            seen.add(env_id)
            env = {"envelope_id": env_id, "request_number": rn,
                   "status": rec.get("status", "").strip().lower() or None, "source_line": line}
            eidx = result.add("daa_envelopes", env)
            for col in ("sent_at", "completed_at", "declined_at", "voided_at"):
                result.convert("daa_envelopes", eidx, env, col, parse_datetime, rec.get(col),
                               col, "datetime")
            env["status_changed_at"] = max((env[c] for c in ("sent_at", "completed_at",
                                                             "declined_at", "voided_at")
                                            if env[c]), default=None)
        recipient = {"envelope_id": env_id, "request_number": rn,
                     "role_name": rec.get("recipient_role", "").strip() or None,
                     "name": rec.get("recipient_name", "").strip() or None,
                     "email": rec.get("recipient_email", "").strip() or None,
                     "status": rec.get("recipient_status", "").strip().lower() or None,
                     "source_line": line}
        ridx = result.add("daa_recipients", recipient)
        result.convert("daa_recipients", ridx, recipient, "signed_at", parse_datetime,
                       rec.get("signed_at"), "signed_at", "datetime")
    return result
