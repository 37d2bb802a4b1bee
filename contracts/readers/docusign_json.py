"""DAA envelopes as the DocuSign eSignature API's `listStatusChanges` returns them
(`GET /accounts/{id}/envelopes?include=recipients,custom_fields`).

A page that holds part of its result set (`startPosition`-`endPosition` of `totalSetSize`)
says so in its file's note; a run whose pages leave positions uncovered is refused. So is
a file whose envelopes carry no `recipients` at all (exported without
`include=recipients`, which listStatusChanges leaves out by default): who signed cannot be
told from it, and every agreement it holds would look unsigned.

Also one envelope as `GET /envelopes/{envelopeId}?include=recipients,custom_fields` returns
it, an array of such envelopes, and DocuSign Connect's JSON messages (the webhook's
`{"event": "envelope-completed", "data": {"envelopeId": ..., "envelopeSummary": {...}}}`),
one or an array of them; a message's envelope is its summary. Several states of one
envelope (a message per event, overlapping exports) count as its latest.

An envelope is linked to its group by a text custom field `RequestNumber`; failing that,
by a request number (`CS` + 7 digits) in its `emailSubject`. Canonical tables:
`daa_envelopes` (one row per envelope) and `daa_recipients` (one per signer, with its
place in the envelope: DocuSign lets one person sign in one role more than once, e.g. at
two routing orders).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ccreview.contracts.readers.base import ReadResult, parse_datetime, text_of

FORMAT = "docusign-envelopes-json"
_RN = re.compile(r"\bCS\d{7}\b")


def _envelope(obj: Any) -> dict | None:
    """An envelope, or a Connect message's envelope summary (with the message's envelope
    id when the summary omits it); None for anything else."""
    if not isinstance(obj, dict):
        return None
    data = obj.get("data")
    if isinstance(data, dict) and isinstance(data.get("envelopeSummary"), dict):
        summary = data["envelopeSummary"]
        return summary if summary.get("envelopeId") else {
            **summary, "envelopeId": data.get("envelopeId")}
    return obj if "envelopeId" in obj else None


def _envelopes(body: Any) -> list | None:
    """The envelopes of a listStatusChanges page, of one envelope or Connect message, or
    of an array of them (an item that is neither is kept, for its record to be rejected)."""
    if isinstance(body, dict) and isinstance(body.get("envelopes"), list):
        return body["envelopes"]
    if isinstance(body, list):
        if not body or _envelope(body[0]) is None:
            return None
        return [_envelope(item) or item for item in body]
    one = _envelope(body)
    return None if one is None else [one]


def matches(body: Any) -> bool:
    return _envelopes(body) is not None


# a listStatusChanges page that holds part of its result set says which part in its note
# (positions from 0, as DocuSign counts them); the pages of one export must cover them all
_SPAN_TEXT = "listStatusChanges envelopes {}-{} of {}"
_SPAN = re.compile(re.escape(_SPAN_TEXT).replace(r"\{\}", r"(\d+)"))


def page_note(body: Any) -> str:
    """'listStatusChanges envelopes <start>-<end> of <total>' for a page holding part of its
    result set (`startPosition`, `endPosition`, `totalSetSize`), else ''."""
    if not isinstance(body, dict) or not isinstance(body.get("envelopes"), list):
        return ""
    try:
        start, end, total = (int(str(body[k]).strip())
                             for k in ("startPosition", "endPosition", "totalSetSize"))
    except (KeyError, ValueError):
        return ""
    if total <= 0 or start < 0 or end < start or (start == 0 and end >= total - 1):
        return ""
    return _SPAN_TEXT.format(start, end, total)


# a file whose envelopes carry no `recipients` at all was exported without
# `include=recipients` (listStatusChanges leaves them out by default; so does a Connect
# configuration without "Include Recipients"): who signed cannot be told from it
NO_RECIPIENTS = "no envelope lists its recipients (exported without include=recipients)"


def missing_pages(notes: Iterable[str]) -> list[tuple[int, int, int]]:
    """The positions no page covers, as (first, last, total), of each result set whose
    pages' notes (`page_note`) are given: a set's pages share its total."""
    spans: dict[int, list[tuple[int, int]]] = {}
    for note in notes:
        for m in _SPAN.finditer(note or ""):
            start, end, total = map(int, m.groups())
            spans.setdefault(total, []).append((start, end))
    gaps = []
    for total, parts in sorted(spans.items()):
        covered = 0  # every position before this one is on a page
        for start, end in sorted(parts):
            if start > covered:
                gaps.append((covered, start - 1, total))
            covered = max(covered, end + 1)
        if covered < total:
            gaps.append((covered, total - 1, total))
    return gaps


def request_number_of(env: dict) -> str | None:
    fields = (env.get("customFields") or {}).get("textCustomFields") or []
    for f in fields:
        if isinstance(f, dict) and str(f.get("name", "")).lower() in (
                "requestnumber", "request_number", "request number"):
            return text_of(f.get("value"))
    m = _RN.search(str(env.get("emailSubject") or ""))
    return m.group(0) if m else None


def read(body: Any) -> ReadResult:
    result = ReadResult(FORMAT)
    with_recipients = 0
    for record, env in enumerate(_envelopes(body) or [], start=1):
        row: dict = {"source_line": record}
        idx = result.add("daa_envelopes", row)
        if not isinstance(env, dict):
            result.reject("daa_envelopes", idx, "(record)", "shape", "not a JSON object")
            continue
        row.update({"envelope_id": text_of(env.get("envelopeId")),
                    "request_number": request_number_of(env),
                    "status": (text_of(env.get("status")) or "").lower() or None})
        for src, dst in (("sentDateTime", "sent_at"), ("completedDateTime", "completed_at"),
                         ("declinedDateTime", "declined_at"), ("voidedDateTime", "voided_at"),
                         ("statusChangedDateTime", "status_changed_at")):
            result.convert("daa_envelopes", idx, row, dst, parse_datetime, text_of(env.get(src)),
                           src, "datetime")
        with_recipients += "recipients" in env
        signers = (env.get("recipients") or {}).get("signers") or []
        for i, s in enumerate(signers):
            rec: dict = {"source_line": record, "envelope_id": row["envelope_id"],
                         "request_number": row["request_number"],
                         "source_path": f"signers[{i}]"}
            ridx = result.add("daa_recipients", rec)
            if not isinstance(s, dict):
                result.reject("daa_recipients", ridx, "signers", "shape", "not a JSON object")
                continue
            rec.update({"role_name": text_of(s.get("roleName")), "name": text_of(s.get("name")),
                        "email": text_of(s.get("email")),
                        "status": (text_of(s.get("status")) or "").lower() or None})
            result.convert("daa_recipients", ridx, rec, "signed_at", parse_datetime,
                           text_of(s.get("signedDateTime")), "signedDateTime", "datetime")
    if result.rows.get("daa_envelopes") and not with_recipients:
        result.note = NO_RECIPIENTS
    return result
