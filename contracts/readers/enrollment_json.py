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
"alerts": {"<alert>": "fax" | "email" | "both" | ["fax", "email"]}, "recipients": [emails],
"physician_census": true}`.

`request_type` is `new_group`, `add_members`, `change_applications` (a member's full new
list of applications), `remove_members` (members by email) or `change_group_roles` (a new
`sponsoring_physician` and/or `group_administrator`, who replace the group's).

A ServiceNow record may also say how the request ended: `approval` (`rejected`,
`cancelled`), `request_state` (`closed_rejected`, `closed_cancelled`,
`closed_incomplete`, `closed_skipped`) or a task's `state` (`4` Closed Incomplete, `7`
Closed Skipped), by value or label. A submission closed so took no effect: the review
leaves out what it added, removed or changed, and lists it (`closed_as`). Any other value
(approved, requested, open, closed complete, ...) or none: it stands.

Canonical tables: `enrollment_submissions` (one row per document), `enrollment_people`
(one row per person named in a document) and `enrollment_app_requests` (one row per
person x application requested).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ccreview.contracts.readers.base import (
    ReadResult,
    parse_bool,
    parse_datetime,
    parse_text,
    reject_repeated_request,
)
from ccreview.core.identifiers import (
    REQUEST_NUMBER_RE,
    STAFF_TYPES,
    application_code,
    is_valid_email,
    staff_type_label,
    suffix_key,
)
from ccreview.core.vocabulary import CLOSED_UNFULFILLED, STILL_IN_EFFECT, SUBMISSION_TYPES

FORMAT = "enrollment-json"

PERSON_FIELDS = ("first_name", "middle_initial", "last_name", "email", "phone",
                 "phone_extension", "suffix", "title", "specialty",
                 "licensed_state", "state_license_number", "npi")


def unwrap(value: Any, key: str = "") -> Any:
    """ServiceNow `sysparm_display_value=all` pairs -> one value each, recursively.

    A pair's stored `value` is read first: ServiceNow shows dates in the exporting user's
    time zone on the display side (the value side is UTC), so a date is always the value.
    For any other field the value is kept when the field's own conversion recognises it;
    when it does not and the display side does (a choice value such as `surg_sched` whose
    label is `Surgery Scheduler`, a reference whose display is the request number), the
    display side is read instead: labels and values mean the same thing."""
    if isinstance(value, dict):
        if "display_value" in value and set(value) <= {"display_value", "value", "link"}:
            stored, shown = value.get("value"), value.get("display_value")
            if key in _DATE_FIELDS or _recognised(key, stored) or not _recognised(key, shown):
                return unwrap(stored if stored not in (None, "") else shown, key)
            return unwrap(shown, key)
        return {k: unwrap(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v, key) for v in value]
    return value


def _known_suffixes() -> frozenset[str]:
    path = Path(__file__).resolve().parent.parent / "policy" / "suffix_classes.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        return frozenset(suffix_key(r["suffix"]) for r in csv.DictReader(fh))


def _is_bool(v: str) -> bool:
    try:
        parse_bool(v)
    except ValueError:
        return False
    return True


def _state_word(value: object) -> str:
    """A ServiceNow choice as `CLOSED_UNFULFILLED` and `STILL_IN_EFFECT` key it."""
    return " ".join(str(value).replace("_", " ").lower().split())


def _state_check(field: str) -> Callable[[str], bool]:
    """Whether a value of the ServiceNow field `field` is one this reader knows."""
    return lambda v: ((field, _state_word(v)) in CLOSED_UNFULFILLED
                      or _state_word(v) in STILL_IN_EFFECT[field])


_DATE_FIELDS = frozenset({"submitted_at"})
_BOOL_FIELDS = frozenset({"no_middle_initial", "group_administrator_same_as_sponsor",
                          "report2web_privacy_policy_accepted", "physician_census",
                          "privacy_policy_accepted"})
_SUFFIXES = _known_suffixes()
_CHECKS = {
    "request_number": lambda v: bool(REQUEST_NUMBER_RE.match(v)),
    "group_request_number": lambda v: bool(REQUEST_NUMBER_RE.match(v)),
    "request_type": lambda v: v.lower() in SUBMISSION_TYPES,
    "staff_type": lambda v: staff_type_label(v) in STAFF_TYPES,
    "suffix": lambda v: suffix_key(v) in _SUFFIXES,
    "applications": lambda v: all(application_code(a) for a in v.split(",") if a.strip()),
    "corporate_or_legal_representative": lambda v: v.lower() == "none" or _is_bool(v),
    "email": is_valid_email, "corporate_representative_email": is_valid_email,
    "recipients": is_valid_email,
    **dict.fromkeys(_BOOL_FIELDS, _is_bool),
    **{field: _state_check(field) for field in STILL_IN_EFFECT},
}


def _recognised(key: str, value: Any) -> bool:
    """Whether `value` is a good value of field `key` (any value of a free-text field)."""
    if value is None or value == "":
        return False
    check = _CHECKS.get(key)
    return check is None or isinstance(value, (dict, list)) or bool(check(str(value).strip()))


def closed_as(doc: dict) -> str | None:
    """How ServiceNow closed the submission without fulfilling it (`rejected`,
    `cancelled`, `incomplete`, `skipped`: `CLOSED_UNFULFILLED`) by its `approval`,
    `request_state` or `state`; None when the fields are absent or say it stands; a value
    of them this reader does not know, as given (the contract warns of it and the
    submission stays in effect: one unknown word does not take a group out of the
    review)."""
    unknown = None
    for field in STILL_IN_EFFECT:
        value = doc.get(field)
        if value is None or isinstance(value, (dict, list, bool)) or not str(value).strip():
            continue
        word = _state_word(value)
        if (field, word) in CLOSED_UNFULFILLED:
            return CLOSED_UNFULFILLED[(field, word)]
        if word not in STILL_IN_EFFECT[field] and unknown is None:
            unknown = f"{field}: {str(value).strip()}"
    return unknown


def corporate_answer(value: object) -> str | None:
    """The Corporate/Legal Representative question as YES or NO, from `YES`, `true`, a
    choice value or the form's default `None`; other text is kept for the contract."""
    if isinstance(value, bool):
        return "YES" if value else "NO"
    text = parse_text(value)
    if text is None:
        return None
    try:
        answer = parse_bool(text)
    except ValueError:
        return text
    return "YES" if answer else "NO"


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


def _text_fields(result: ReadResult, table: str, idx: int, row: dict, source: dict,
                 names: dict[str, str], prefix: str = "") -> None:
    """row[dst] = the text of source[src] for each src -> dst, through one conversion."""
    for src, dst in names.items():
        result.convert(table, idx, row, dst, parse_text, source.get(src), prefix + src, "text")


def _read_document(result: ReadResult, doc: dict, record: int) -> None:
    group = doc.get("group") if isinstance(doc.get("group"), dict) else {}
    sub: dict[str, Any] = {"submitted_at": None, "r2w_privacy_accepted": None,
                           "source_line": record}
    sidx = result.add("enrollment_submissions", sub)
    _text_fields(result, "enrollment_submissions", sidx, sub, doc,
                 {"request_number": "request_number", "request_type": "request_type",
                  "group_request_number": "group_request_number"})
    _text_fields(result, "enrollment_submissions", sidx, sub, group,
                 {"name": "group_name", "practice_fax": "practice_fax",
                  "corporate_representative_full_name": "corporate_rep_name",
                  "corporate_representative_email": "corporate_rep_email"}, "group.")
    if sub["request_type"]:
        sub["request_type"] = sub["request_type"].lower()
    elif doc.get("sponsoring_physician"):
        sub["request_type"] = "new_group"
    if not sub["group_request_number"] and sub["request_type"] == "new_group":
        sub["group_request_number"] = sub["request_number"]
    sub["corporate_rep_answer"] = corporate_answer(
        group.get("corporate_or_legal_representative"))
    sub["closed_as"] = closed_as(doc)
    result.convert("enrollment_submissions", sidx, sub, "submitted_at", parse_datetime,
                   doc.get("submitted_at"), "submitted_at", "datetime")
    result.convert("enrollment_submissions", sidx, sub, "r2w_privacy_accepted", parse_bool,
                   doc.get("report2web_privacy_policy_accepted"),
                   "report2web_privacy_policy_accepted", "boolean")
    same: dict[str, Any] = {}
    result.convert("enrollment_submissions", sidx, same, "value", parse_bool,
                   doc.get("group_administrator_same_as_sponsor"),
                   "group_administrator_same_as_sponsor", "boolean")

    sections: list[tuple[str, Any]] = []
    if doc.get("sponsoring_physician"):
        sections.append(("sponsoring_physician", doc["sponsoring_physician"]))
    if doc.get("group_administrator"):
        sections.append(("group_administrator", doc["group_administrator"]))
    members = doc.get("members") or []
    if not isinstance(members, list):
        members = [members]
    sections += [(f"members[{i}]", m) for i, m in enumerate(members)]
    requested: dict[tuple[str, str], str] = {}
    for section, person in sections:
        _read_person(result, sub, section, person, record, requested,
                     is_admin=section == "group_administrator"
                     or (section == "sponsoring_physician" and same["value"] is True))


def _read_person(result: ReadResult, sub: dict, section: str, person: Any, record: int,
                 requested: dict[tuple[str, str], str], is_admin: bool) -> None:
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
        "source_line": record,
        "source_path": section,
    }
    idx = result.add("enrollment_people", row)
    _text_fields(result, "enrollment_people", idx, row, person,
                 {f: f for f in (*PERSON_FIELDS, "staff_type")}, f"{section}.")
    row["staff_type"] = staff_type_label(row["staff_type"])
    if section == "sponsoring_physician" and not row["staff_type"]:
        row["staff_type"] = "Sponsoring Physician"
    if section == "group_administrator" and not row["staff_type"]:
        row["staff_type"] = "Group Administrator"
    result.convert("enrollment_people", idx, row, "no_middle_initial", parse_bool,
                   person.get("no_middle_initial"), f"{section}.no_middle_initial", "boolean")
    if action != "add" or "applications" not in person:
        return
    apps = person.get("applications") or []
    if isinstance(apps, str):
        apps = [a for a in apps.split(",") if a.strip()]
    elif not isinstance(apps, list):
        apps = [apps]
    for name in apps:
        code = application_code(name)
        req = {
            "request_number": sub["request_number"],
            "group_request_number": sub["group_request_number"],
            "submitted_at": sub["submitted_at"],
            "request_type": sub["request_type"],
            "email": row["email"],
            "application": code,
            "details": json.dumps(_details(person, code, sub), sort_keys=True)
            if code else None,
            "source_line": record,
            "source_path": f"{section}.applications",
        }
        ridx = result.add("enrollment_app_requests", req)
        if code is None:
            result.reject("enrollment_app_requests", ridx, f"{section}.applications",
                          "application", "not one of the five Clinical Connectivity applications")
        elif row["email"]:
            reject_repeated_request(result, ridx, requested, row["email"], code,
                                    f"{section}.applications")


def _details(person: dict, code: str, sub: dict) -> dict:
    """The form's details for one requested application, typed like every other field
    (text stripped, lists of text, the census and privacy boxes as booleans, delivery
    methods lower-case), whichever encoding the document used. An R2W request carries the
    privacy-policy box of its form (the submission's, unless the person's section has its
    own) as `privacy_policy_accepted`: true, false, or null when the form did not say.
    A value that cannot be read is left out, so the rule that needs it sees it missing."""
    key = {"DSM": "direct_secure_messaging", "QVENTUS": "qventus", "R2W": "report2web"}.get(code)
    value = person.get(key) if key else None
    raw = value if isinstance(value, dict) else {}
    details: dict[str, Any] = {}
    for name, item in raw.items():
        kind = _DETAIL_KINDS.get(name, "text")
        try:
            if kind == "bool":
                details[name] = parse_bool(item)
            elif kind == "list":
                items = item.split(",") if isinstance(item, str) else item
                details[name] = [t for t in map(parse_text, items or []) if t] \
                    if isinstance(items, list) else None
            elif kind == "methods":  # (both methods may come as a list: fax, email)
                details[name] = {str(k): ", ".join(
                    filter(None, map(parse_text, v if isinstance(v, list) else [v]))).lower()
                    for k, v in item.items()} if isinstance(item, dict) else None
            else:
                details[name] = parse_text(item)
        except ValueError:
            details[name] = None
    if code == "R2W":
        own = details.get("privacy_policy_accepted")
        details["privacy_policy_accepted"] = (own if own is not None
                                              else sub["r2w_privacy_accepted"])
    return details


_DETAIL_KINDS = {"physician_census": "bool", "privacy_policy_accepted": "bool",
                 "facilities": "list", "lab_facilities": "list", "recipients": "list",
                 "alerts": "methods"}
