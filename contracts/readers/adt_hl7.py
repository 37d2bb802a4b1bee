"""ADT events for the census: HL7 v2 ADT messages, or a CSV extract of the same fields.

**HL7 v2** (parsed with the `hl7` library): one or more messages per file, segments ending
in `\\r` (`\\n` and `\\r\\n` are accepted too), optionally MLLP-framed (`0x0B` ... `0x1C 0x0D`),
or a batch file (the batch protocol's FHS/BHS headers and BTS/FTS trailers around them). A
batch file whose envelope says messages are missing (a header without its trailer, or a
trailer counting more messages, BTS-1, or batches, FTS-1, than it closes) is noted, and the
run refused.
The events of `ccreview.core.vocabulary.ADT_EVENTS`: A01 admit, A02 transfer, A03
discharge, A04 registration (e.g. ED), A05 pre-admit, A06/A07 changed to
inpatient/outpatient, A08 update, A11/A12/A13 admit or visit, transfer, discharge
cancelled, A23 visit deleted, A38 pre-admit cancelled. Fields read: MSH-4 sending
facility, MSH-7 message time, MSH-9 event, MSH-10 control id; EVN-2 recorded time; PID-3
MRN (of several identifiers, the one of type MR, else the first that is not a social
security number), PID-5 name, PID-7 birth date, PID-13 phone (an XTN: its formatted
number, else area code and local number from components 6 and 7), PID-18 account number
(FIN); PD1-4 primary care provider (NPI and name; of several repetitions, the one labelled
NPI, else the first holding a valid NPI); PV1-2 patient class, PV1-3 location
(unit^room^bed^facility), PV1-7 attending, PV1-19 visit number, PV1-44 admit and PV1-45
discharge times; PV2-3 admit reason (chief complaint). `source_line` is the number of the
message's MSH segment in the file (empty lines and MLLP framing not counted).

**Times.** Every time field (MSH-7, EVN-2, PV1-44, PV1-45, and the extract's time
columns) is converted the same way: by its offset when it carries one (`-0700`), else as a
clock time in the feed's configured time zone; stored as UTC. A date of birth is a date
and is not converted.

**CSV extract**: one row per message with the canonical column names below (`event_type`,
`message_control_id`, `fin`, ... as in the `adt_events` table).

Canonical table: `adt_events`. This is PHI: it is never logged, and quarantine reasons
never quote it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import partial

import hl7

from ccreview.contracts.readers.base import ReadResult, csv_records, parse_datetime, to_utc
from ccreview.core.identifiers import is_valid_npi

FORMAT_HL7 = "hl7-v2-adt"
FORMAT_CSV = "adt-csv-extract"
TABLE = "adt_events"
CSV_HEADERS = {"message_control_id", "event_type", "fin"}
_MLLP = re.compile(r"[\x0b\x1c]")
COLUMNS = ("message_control_id", "event_type", "message_at", "recorded_at", "sending_facility",
           "mrn", "patient_family_name", "patient_given_name", "birth_date", "patient_phone",
           "fin", "pcp_npi", "pcp_name", "patient_class", "unit", "room", "bed", "facility",
           "attending_name", "visit_number", "admit_at", "discharge_at", "chief_complaint")
_TIMES = ("message_at", "recorded_at", "admit_at", "discharge_at")
# HL7 TS/DTM: YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ] and nothing else (`1933XX17` is no date)
_HL7_TS = re.compile(r"^\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2}(\.\d{1,4})?)?)?)?)?)?([+-]\d{4})?$")


def _hl7_parse(value: str) -> dt.datetime | None:
    if not _HL7_TS.match(value):
        raise ValueError("not an HL7 date/time")
    return hl7.parse_datetime(value)


# the HL7 batch protocol's envelope around the messages of a batch file (file and batch
# header and trailer segments): no message's part
_BATCH_SEGMENTS = ("FHS|", "BHS|", "BTS|", "FTS|")


# a file's note when its batch envelope says messages are missing from it: a batch (BHS)
# or file (FHS) header without its trailer, the file cut short; or a trailer that counts
# more (BTS-1 messages, FTS-1 batches) than it closes. The run is refused
# (contracts.completeness): a lost discharge keeps a patient who left on a census.
BATCH_INCOMPLETE = "an HL7 batch file that says messages are missing"


def _segments(text: str) -> list[str]:
    return [s for s in re.split(r"\r\n|\r|\n", _MLLP.sub("\r", text)) if s.strip()]


def _short(trailer: str, closed: int, holder: str, what: str) -> list[str]:
    """What a trailer (BTS, FTS) says is missing: [] unless its count (BTS-1, FTS-1)
    exceeds what it closes."""
    fields = trailer.split(trailer[3]) if len(trailer) > 3 else []
    value = fields[1].strip() if len(fields) > 1 else ""
    if not value.isdigit() or int(value) <= closed:
        return []
    return [f"{holder} holds {closed} {what} where its trailer ({trailer[:3]}) counts {value}"]


def batch_note(text: str) -> str:
    """BATCH_INCOMPLETE and what is wrong, for a batch file whose envelope says messages
    are missing; '' otherwise (and for a file of bare messages, which says nothing)."""
    if "BHS|" not in text and "FHS|" not in text:  # no envelope (most feeds): a glance
        return ""
    problems: list[str] = []
    messages: int | None = None  # in the open batch
    batches: int | None = None  # in the open file
    for segment in _segments(text):
        kind = segment[:4]
        if kind == "FHS|":
            batches = 0
        elif kind == "BHS|":
            messages = 0
            batches = None if batches is None else batches + 1
        elif kind == "MSH|" and messages is not None:
            messages += 1
        elif kind == "BTS|" and messages is not None:
            problems += _short(segment, messages, "a batch", "message(s)")
            messages = None
        elif kind == "FTS|" and batches is not None:
            problems += _short(segment, batches, "the file", "batch(es)")
            batches = None
    if messages is not None:
        problems.append("a batch has no trailer (BTS): the file was cut short")
    elif batches is not None:
        problems.append("the file has no trailer (FTS): it was cut short")
    return f"{BATCH_INCOMPLETE}: {'; '.join(problems)}" if problems else ""


def looks_like_hl7(head: str) -> bool:
    return _MLLP.sub("", head).lstrip().startswith(("MSH|", "FHS|", "BHS|"))


def split_messages(text: str) -> list[tuple[int, str]]:
    """(segment number of MSH, message text with `\\r` separators) for each message.
    Segments are numbered from 1 across the file; empty ones and MLLP framing don't count;
    a batch file's FHS, BHS, BTS and FTS segments count but are no message's."""
    segments = _segments(text)
    messages: list[tuple[int, list[str]]] = []
    for i, seg in enumerate(segments, start=1):
        if seg.startswith(_BATCH_SEGMENTS):
            continue
        if seg.startswith("MSH|") or not messages:
            messages.append((i, [seg]))
        else:
            messages[-1][1].append(seg)
    return [(line, "\r".join(segs)) for line, segs in messages]


class _Parsed:
    """A message parsed by python-hl7 (escape sequences, any encoding characters)."""

    def __init__(self, body: str) -> None:
        self.msg = hl7.parse(body)
        self.msg.segment("MSH")

    def get(self, segment: str, field: int, component: int = 1,
            repetition: int = 1) -> str | None:
        try:
            value = self.msg.extract_field(segment, 1, field, repetition, component, 1)
        except (KeyError, IndexError, hl7.HL7Exception):
            return None
        value = str(value).strip()
        return value or None


_STANDARD_MSH = "MSH|^~\\&|"
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}")


class _Split:
    """A message with the standard encoding characters (`|^~\\&`) and no escape sequence,
    split on them and read as python-hl7 reads it — the first segment of a type; a field,
    repetition or component that is not there is empty; below the path asked for, the
    first subcomponent — at a fraction of the cost (python-hl7 builds the whole tree: 3.4 s
    of the ingest at 1,000 groups). `tests/test_readers.py` compares the two on every
    message it has."""

    def __init__(self, segments: dict[str, list[str]]) -> None:
        self.segments = segments

    @classmethod
    def of(cls, body: str) -> _Split | None:
        """The split message, or None when python-hl7 must read it."""
        if not body.startswith(_STANDARD_MSH) or "\\" in body[len(_STANDARD_MSH):]:
            return None
        segments: dict[str, list[str]] = {}
        for text in body.split("\r"):
            fields = text.split("|")
            if not _SEGMENT_ID.fullmatch(fields[0]):
                return None
            segments.setdefault(fields[0], fields)
        return cls(segments)

    def get(self, segment: str, field: int, component: int = 1,
            repetition: int = 1) -> str | None:
        fields = self.segments.get(segment)
        index = field - 1 if segment == "MSH" else field  # MSH-1 is the separator itself
        if fields is None or index >= len(fields):
            return None
        repetitions = fields[index].split("~")
        if repetition > len(repetitions):
            return None
        components = repetitions[repetition - 1].split("^")
        if component > len(components):
            return None
        return components[component - 1].split("&")[0].strip() or None


def _message(body: str) -> _Split | _Parsed:
    return _Split.of(body) or _Parsed(body)


def hl7_time(value: str | None, tz: dt.tzinfo | None = None) -> dt.datetime | None:
    """An HL7 TS (YYYYMMDD[HHMM[SS[.S+]]][+/-ZZZZ]) as naive UTC: converted by its offset,
    or read in `tz` (the feed's zone; None: UTC) without one. None if empty."""
    if not value:
        return None
    try:
        parsed = _hl7_parse(value)
    except ValueError:
        raise ValueError("not an HL7 date/time") from None
    if parsed is None:
        return None
    return to_utc(parsed, tz)


def _phone(msg: _Split | _Parsed) -> str | None:
    """PID-13 as a number a person reads: the XTN's formatted number (component 1), else
    its country code, area code and local number (components 5-7) put together."""
    text = msg.get("PID", 13)
    if text:
        return text
    area, local = msg.get("PID", 13, 6), msg.get("PID", 13, 7)
    if not local:
        return None
    digits = "".join(ch for ch in (area or "") + local if ch.isdigit())
    if len(digits) == 10:
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    return " ".join(p for p in (area, local) if p)


# repetitions of PD1-4 or PID-3 read at most (a feed sends one per identifier)
_REPETITIONS = 10


def _repetitions(msg: _Split | _Parsed, segment: str, field: int,
                 components: tuple[int, ...]) -> list[tuple[str | None, ...]]:
    """The field's repetitions that hold something, each as its `components` (at least
    one: the first, though empty)."""
    first = tuple(msg.get(segment, field, c) for c in components)
    if all(msg.get(segment, field, c, 2) is None for c in components):
        return [first]  # the usual one: no second repetition holding what is read
    reps = [values for values in (tuple(msg.get(segment, field, c, rep) for c in components)
                                  for rep in range(1, _REPETITIONS + 1))
            if any(v is not None for v in values)]
    return reps or [first]


def _pcp(msg: _Split | _Parsed) -> tuple[str | None, str | None, str | None]:
    """PD1-4, the primary care provider (an XCN): (NPI, given name, family name). A feed
    may repeat the field once per identifier (`4417^SMITH^JO^^^^^^DOCNBR~1234567893^SMITH^
    JO^^^^^^NPI`): the repetition whose assigning authority (component 9) or identifier type
    (13) says NPI, else the first whose identifier is a valid NPI, else the first."""
    reps = _repetitions(msg, "PD1", 4, (1, 3, 2, 9, 13))
    chosen = (next((r for r in reps if r[0] and "NPI" in {(r[3] or "").upper(),
                                                       (r[4] or "").upper()}),
                   None)
              or next((r for r in reps if is_valid_npi(r[0])), None) or reps[0])
    return chosen[0], chosen[1], chosen[2]


# identifier type codes (CX-5) of a medical record number, and of a social security number
_MRN_TYPES = frozenset({"MR", "MRN"})
_SSN_TYPES = frozenset({"SS", "SSN"})


def _mrn(msg: _Split | _Parsed) -> str | None:
    """PID-3, the patient's identifiers (CX, repeated): the one whose type (component 5)
    is MR, else the first that is not a social security number (never sent on to a
    census: minimum necessary)."""
    ids = [(i, (k or "").upper()) for i, k in _repetitions(msg, "PID", 3, (1, 5))]
    return (next((i for i, k in ids if k in _MRN_TYPES and i), None)
            or next((i for i, k in ids if k not in _SSN_TYPES and i), None))


def read_hl7(text: str, tz: dt.tzinfo | None = None) -> ReadResult:
    """`tz`: the feed's time zone for timestamps without an offset (None: UTC)."""
    result = ReadResult(FORMAT_HL7)
    for line, body in split_messages(text):
        row: dict = {"source_line": line}
        idx = result.add(TABLE, row)
        try:
            msg = _message(body)
        except (hl7.HL7Exception, KeyError, IndexError, ValueError):
            result.reject(TABLE, idx, "(message)", "hl7_syntax", "not a parseable HL7 message")
            continue
        family, given = msg.get("PID", 5, 1), msg.get("PID", 5, 2)
        pcp_npi, pcp_given, pcp_family = _pcp(msg)
        raw = {
            "message_control_id": msg.get("MSH", 10),
            "event_type": msg.get("MSH", 9, 2) or msg.get("EVN", 1),
            "message_at": msg.get("MSH", 7),
            "recorded_at": msg.get("EVN", 2),
            "sending_facility": msg.get("MSH", 4),
            "mrn": _mrn(msg),
            "patient_family_name": family,
            "patient_given_name": given,
            "birth_date": msg.get("PID", 7),
            "patient_phone": _phone(msg),
            "fin": msg.get("PID", 18) or msg.get("PV1", 19),
            "pcp_npi": pcp_npi,
            "pcp_name": " ".join(p for p in (pcp_given, pcp_family) if p) or None,
            "patient_class": msg.get("PV1", 2),
            "unit": msg.get("PV1", 3, 1),
            "room": msg.get("PV1", 3, 2),
            "bed": msg.get("PV1", 3, 3),
            "facility": msg.get("PV1", 3, 4),
            "attending_name": " ".join(p for p in (msg.get("PV1", 7, 3),
                                                   msg.get("PV1", 7, 2)) if p) or None,
            "visit_number": msg.get("PV1", 19),
            "admit_at": msg.get("PV1", 44),
            "discharge_at": msg.get("PV1", 45),
            "chief_complaint": msg.get("PV2", 3, 2) or msg.get("PV2", 3, 1),
        }
        row.update(raw)
        _convert_times(result, idx, row, partial(hl7_time, tz=tz))
        try:
            bd = raw["birth_date"]
            row["birth_date"] = _hl7_parse(bd).date() if bd else None
        except (ValueError, AttributeError):
            row["birth_date"] = None
            result.reject(TABLE, idx, "PID-7", "hl7_date", "not an HL7 date")
    return result


def read_csv_extract(text: str, tz: dt.tzinfo | None = None) -> ReadResult:
    """`tz`: the feed's time zone for times without an offset (None: UTC)."""
    result = ReadResult(FORMAT_CSV)
    for line, rec in csv_records(text):
        row: dict = {"source_line": line}
        idx = result.add(TABLE, row)
        if result.rejected_unsplit(TABLE, idx, rec):
            continue
        for c in COLUMNS:
            row[c] = (rec.get(c) or "").strip() or None
        _convert_times(result, idx, row, partial(parse_datetime, tz=tz))
        try:
            bd = parse_datetime(row["birth_date"])
            row["birth_date"] = bd.date() if bd else None
        except ValueError:
            row["birth_date"] = None
            result.reject(TABLE, idx, "birth_date", "datetime", "not a date in a known format")
    return result


def _convert_times(result: ReadResult, idx: int, row: dict,
                   parse: Callable[[object], object]) -> None:
    for col in _TIMES:
        result.convert(TABLE, idx, row, col, parse, row[col], col, "datetime")
