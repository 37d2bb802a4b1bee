"""DAA envelopes as the DocuSign eSignature API's `listStatusChanges` returns them
(`GET /accounts/{id}/envelopes?include=recipients,custom_fields`).

An envelope is linked to its group by a text custom field `RequestNumber`; failing that,
by a request number (`CS` + 7 digits) in its `emailSubject`. Canonical tables:
`daa_envelopes` (one row per envelope) and `daa_recipients` (one per signer, with its
place in the envelope: DocuSign lets one person sign in one role more than once, e.g. at
two routing orders).
"""

from __future__ import annotations

import re
from typing import Any

from ccreview.contracts.readers.base import ReadResult, parse_datetime

FORMAT = "docusign-envelopes-json"
_RN = re.compile(r"\bCS\d{7}\b")


def matches(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("envelopes"), list)


def _text(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return s or None


def request_number_of(env: dict) -> str | None:
    fields = (env.get("customFields") or {}).get("textCustomFields") or []
    for f in fields:
        if isinstance(f, dict) and str(f.get("name", "")).lower() in (
                "requestnumber", "request_number", "request number"):
            return _text(f.get("value"))
    m = _RN.search(str(env.get("emailSubject") or ""))
    return m.group(0) if m else None


def read(body: dict) -> ReadResult:
    result = ReadResult(FORMAT)
    for record, env in enumerate(body.get("envelopes", []), start=1):
        row: dict = {"source_line": record}
        idx = result.add("daa_envelopes", row)
        if not isinstance(env, dict):
            result.reject("daa_envelopes", idx, "(record)", "shape", "not a JSON object")
            continue
        row.update({"envelope_id": _text(env.get("envelopeId")),
                    "request_number": request_number_of(env),
                    "status": (_text(env.get("status")) or "").lower() or None})
        for src, dst in (("sentDateTime", "sent_at"), ("completedDateTime", "completed_at"),
                         ("declinedDateTime", "declined_at"), ("voidedDateTime", "voided_at"),
                         ("statusChangedDateTime", "status_changed_at")):
            result.convert("daa_envelopes", idx, row, dst, parse_datetime, _text(env.get(src)),
                           src, "datetime")
        signers = (env.get("recipients") or {}).get("signers") or []
        for i, s in enumerate(signers):
            rec: dict = {"source_line": record, "envelope_id": row["envelope_id"],
                         "request_number": row["request_number"],
                         "source_path": f"signers[{i}]"}
            ridx = result.add("daa_recipients", rec)
            if not isinstance(s, dict):
                result.reject("daa_recipients", ridx, "signers", "shape", "not a JSON object")
                continue
            rec.update({"role_name": _text(s.get("roleName")), "name": _text(s.get("name")),
                        "email": _text(s.get("email")),
                        "status": (_text(s.get("status")) or "").lower() or None})
            result.convert("daa_recipients", ridx, rec, "signed_at", parse_datetime,
                           _text(s.get("signedDateTime")), "signedDateTime", "datetime")
    return result
