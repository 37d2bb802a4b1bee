"""Enrollment submissions: registrations and change requests as JSON.

A file holds one document, an array of them, or a ServiceNow Table API response
(`{"result": [...]}`), whose fields may be `{"display_value": ..., "value": ...}` pairs
(`sysparm_display_value=all`). A document mirrors the portal's form:

```json
{"request_number": "CS0001022", "request_type": "new_group",
 "group_request_number": "CS0001022", "submitted_at": "2026-03-04T17:22:10Z",
 "group": {"name": "...", "practice_fax": "602-555-0100",
           "corporate_or_legal_representative": "YES",
           "corporate_representative_full_name": "...", "corporate_representative_email": "..."},
 "sponsoring_physician": {<person>}, "group_administrator_same_as_sponsor": false,
 "group_administrator": {<person>}, "members": [{<person>}, ...],
 "report2web_privacy_policy_accepted": true}
```

A `<person>` has `first_name`, `middle_initial`, `no_middle_initial` (the No M.I. box),
`last_name`, `email`, `phone`, `phone_extension`, `staff_type` (Sponsoring Physician, Group
Administrator, Provider, Staff), `suffix`, `title`, `specialty`, `licensed_state`,
`state_license_number`, `npi`, `applications` (a list, or a comma-separated string, of
display names such as "Cerner Millennium" or codes such as CERNER), and the details of
the applications that need them: `direct_secure_messaging` `{"direct_address"}`, `qventus`
`{"role", "facilities": [...]}`, `report2web` `{"fax_number", "lab_facilities": [...],
"alerts": {"<alert>": "fax" | "email" | "both"}, "recipients": [emails],
"physician_census": true}`.

`request_type` is `new_group`, `add_members`, `change_applications` (a member's full new
list of applications), `remove_members` (members by email) or `change_group_roles`.
Canonical tables: `enrollment_submissions` (one row per document), `enrollment_people`
(one row per person named in a document) and `enrollment_app_requests` (one row per
person x application requested).
"""

from __future__ import annotations

import json
from typing import Any

from contracts.readers.base import ReadResult, parse_bool, parse_datetime

FORMAT = "enrollment-json"

APPLICATION_NAMES = {
    "cerner millennium": "CERNER", "cerner millenium": "CERNER", "cerner": "CERNER",
    "pacs synapse": "PACS", "synapse pacs": "PACS", "pacs": "PACS",
    "direct secure messaging": "DSM", "dsm": "DSM",
    "qventus": "QVENTUS",
    "report2web": "R2W", "report 2 web": "R2W", "r2w": "R2W",
}
REQUEST_TYPES = ("new_group", "add_members", "change_applications", "remove_members",
                 "change_group_roles")
PERSON_FIELDS = ("first_name", "middle_initial", "last_name", "email", "phone",
                 "phone_extension", "staff_type", "suffix", "title", "specialty",
                 "licensed_state", "state_license_number", "npi")


def unwrap(value: Any) -> Any:
    """ServiceNow `sysparm_display_value=all` pairs -> their display value, recursively."""
    if isinstance(value, dict):
        if "display_value" in value and set(value) <= {"display_value", "value", "link"}:
            return unwrap(value["display_value"])
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def documents(body: Any) -> list | None:
    """The submission documents in a parsed JSON body, or None if it is not that shape."""
    if isinstance(body, dict) and isinstance(body.get("result"), list):
        body = body["result"]
    elif isinstance(body, dict):
        body = [body]
    if not isinstance(body, list) or not body:
        return None
    first = unwrap(body[0])
    if isinstance(first, dict) and "request_number" in first and (
            "request_type" in first or "sponsoring_physician" in first):
        return body
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    s = str(value).strip()
    return s or None


def read(path_label: str, body: Any) -> ReadResult:
    result = ReadResult(FORMAT)
    for record, raw in enumerate(documents(body) or [], start=1):
        doc = unwrap(raw)
        if not isinstance(doc, dict):
            idx = result.add("enrollment_submissions", {"source_line": record})
            result.reject("enrollment_submissions", idx, "(document)", "shape",
                          "the record is not a JSON object")
            continue
        _read_document(result, doc, record)
    return result


def _read_document(result: ReadResult, doc: dict, record: int) -> None:
    group = doc.get("group") or {}
    rtype = _text(doc.get("request_type")) or (
        "new_group" if doc.get("sponsoring_physician") else None)
    sub = {
        "request_number": _text(doc.get("request_number")),
        "request_type": rtype,
        "group_request_number": _text(doc.get("group_request_number"))
        or (_text(doc.get("request_number")) if rtype == "new_group" else None),
        "submitted_at": None,
        "group_name": _text(group.get("name")),
        "practice_fax": _text(group.get("practice_fax")),
        "corporate_rep_answer": _text(group.get("corporate_or_legal_representative")),
        "corporate_rep_name": _text(group.get("corporate_representative_full_name")),
        "corporate_rep_email": _text(group.get("corporate_representative_email")),
        "r2w_privacy_accepted": None,
        "source_line": record,
    }
    sidx = result.add("enrollment_submissions", sub)
    result.convert("enrollment_submissions", sidx, sub, "submitted_at", parse_datetime,
                   _text(doc.get("submitted_at")), "submitted_at", "datetime")
    result.convert("enrollment_submissions", sidx, sub, "r2w_privacy_accepted", parse_bool,
                   doc.get("report2web_privacy_policy_accepted"),
                   "report2web_privacy_policy_accepted", "boolean")

    sections: list[tuple[str, Any]] = []
    if doc.get("sponsoring_physician"):
        sections.append(("sponsoring_physician", doc["sponsoring_physician"]))
    if doc.get("group_administrator"):
        sections.append(("group_administrator", doc["group_administrator"]))
    members = doc.get("members") or []
    if not isinstance(members, list):
        members = [members]
    sections += [(f"members[{i}]", m) for i, m in enumerate(members)]
    same = doc.get("group_administrator_same_as_sponsor")
    for section, person in sections:
        _read_person(result, sub, section, person, record,
                     is_admin=section == "group_administrator"
                     or (section == "sponsoring_physician" and same is True))


def _read_person(result: ReadResult, sub: dict, section: str, person: Any, record: int,
                 is_admin: bool) -> None:
    if not isinstance(person, dict):
        idx = result.add("enrollment_people", {"source_line": record, "form_section": section})
        result.reject("enrollment_people", idx, section, "shape", "the person is not an object")
        return
    action = "remove" if sub["request_type"] == "remove_members" else "add"
    row: dict[str, Any] = {
        "request_number": sub["request_number"],
        "group_request_number": sub["group_request_number"],
        "request_type": sub["request_type"],
        "submitted_at": sub["submitted_at"],
        "action": action,
        "form_section": section.split("[")[0],
        "is_group_admin": is_admin,
    }
    for f in PERSON_FIELDS:
        row[f] = _text(person.get(f))
    if section == "sponsoring_physician" and not row["staff_type"]:
        row["staff_type"] = "Sponsoring Physician"
    if section == "group_administrator" and not row["staff_type"]:
        row["staff_type"] = "Group Administrator"
    row["source_line"] = record
    row["source_path"] = section
    idx = result.add("enrollment_people", row)
    result.convert("enrollment_people", idx, row, "no_middle_initial", parse_bool,
                   person.get("no_middle_initial"), f"{section}.no_middle_initial", "boolean")
    if action != "add" or "applications" not in person:
        return
    apps = person.get("applications") or []
    if isinstance(apps, str):
        apps = [a for a in apps.split(",") if a.strip()]
    for name in apps:
        code = APPLICATION_NAMES.get(str(name).strip().lower())
        req = {
            "request_number": sub["request_number"],
            "group_request_number": sub["group_request_number"],
            "submitted_at": sub["submitted_at"],
            "request_type": sub["request_type"],
            "email": row["email"],
            "application": code,
            "details": json.dumps(_details(person, code), sort_keys=True) if code else None,
            "source_line": record,
            "source_path": f"{section}.applications",
        }
        ridx = result.add("enrollment_app_requests", req)
        if code is None:
            result.reject("enrollment_app_requests", ridx, f"{section}.applications",
                          "application", "not one of the five Clinical Connectivity applications")


def _details(person: dict, code: str) -> dict:
    key = {"DSM": "direct_secure_messaging", "QVENTUS": "qventus", "R2W": "report2web"}.get(code)
    value = person.get(key) if key else None
    return value if isinstance(value, dict) else {}
