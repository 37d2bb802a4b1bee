"""Recognise each input file by its content and hand it to its reader.

Files are recognised by what is in them (CSV headers, JSON shape), never by their names.
Adding an input format is one reader module here plus one contract in `contracts.schemas`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ccreview.config import HOSPITAL_TIME_ZONES, ApplicationListLayout, TimeZones
from ccreview.errors import UnreadableInputError
from contracts.readers import (
    active_directory_csv,
    adt_hl7,
    application_list_csv,
    docusign_json,
    enrollment_json,
    entra_graph_json,
    portal_exports_csv,
    sign_in_events_csv,
)
from contracts.readers.base import (
    Issue,
    ReadResult,
    csv_header,
    decode_text,
    is_xlsx,
    xlsx_as_csv_text,
)

__all__ = ["READER_MODULES", "Issue", "ReadResult", "Recognised", "read_input_file"]

# every reader, in the order the data dictionary documents them
READER_MODULES = (enrollment_json, portal_exports_csv, active_directory_csv, entra_graph_json,
                  application_list_csv, docusign_json, sign_in_events_csv, adt_hl7)

# Files the generator writes next to the exports: known, deliberately not read.
GROUND_TRUTH_HEADERS = (["rule", "request_number", "email", "application"],  # findings
                        ["pcp_npi", "fin"])  # visits on a census


HEAD_BYTES = 1 << 16  # enough to recognise any format; large files are not read here


@dataclass
class Recognised:
    """What a file turned out to be. `result` is None for files that are not read here:
    not inputs, unrecognised, or large event files that DuckDB loads itself (`bulk`)."""
    format: str
    result: ReadResult | None
    note: str = ""
    bulk: str | None = None  # canonical table a bulk loader fills


def read_input_file(path: Path, layouts: tuple[ApplicationListLayout, ...] = (),
                    time_zones: TimeZones = HOSPITAL_TIME_ZONES) -> Recognised:
    """Read one input file; raises UnreadableInputError for a file that cannot be read.
    `layouts` are the configured application-list layouts (exports with other headers);
    `time_zones` the zones of sources that write clock times without an offset."""
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES)
    if is_xlsx(head):
        rec = _read_table_text(xlsx_as_csv_text(path), layouts, time_zones)
        if rec.result is not None:  # say which flavour the table came in
            rec.format = rec.result.format = rec.format.replace("-csv", "") + "-xlsx"
        return rec
    head_text = decode_text(path, head, partial=True)
    header = csv_header(head_text.lstrip("\ufeff \t\r\n"))
    event_format = sign_in_events_csv.detect(header)
    if event_format:
        if not head.startswith(b"\xef\xbb\xbf") and head[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise UnreadableInputError(str(path), "UTF-16 event logs are not supported; "
                                       "export them as UTF-8")
        return Recognised(event_format, None, bulk=sign_in_events_csv.TABLE)
    if adt_hl7.looks_like_hl7(head_text):
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:  # HL7's usual 8-bit character set (MSH-18 8859/1)
            text = raw.decode("latin-1")
        return Recognised(adt_hl7.FORMAT_HL7,
                          adt_hl7.read_hl7(text, time_zones.zone("adt")))
    text = decode_text(path)
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped[:1] in "{[":
        try:
            body = json.loads(stripped)
        except json.JSONDecodeError:
            raise UnreadableInputError(str(path), "not valid JSON (truncated or corrupted)") \
                from None
        if enrollment_json.documents(body) is not None:
            return Recognised(enrollment_json.FORMAT, enrollment_json.read(str(path), body))
        if entra_graph_json.matches(body):
            return Recognised(entra_graph_json.FORMAT, entra_graph_json.read(body))
        if docusign_json.matches(body):
            return Recognised(docusign_json.FORMAT, docusign_json.read(body))
        if isinstance(body, dict) and body.get("generator") == "ccreview generate":
            return Recognised("generator-metadata", None, "generator metadata, not an input")
        return Recognised("unrecognised", None, "JSON of a shape no reader knows")
    return _read_table_text(text, layouts, time_zones)


def _read_table_text(text: str, layouts: tuple[ApplicationListLayout, ...],
                     time_zones: TimeZones) -> Recognised:
    """A table (CSV, or an XLSX sheet as CSV text): recognised by its header."""
    header = csv_header(text.lstrip("\ufeff \t\r\n"))
    if active_directory_csv.matches(header):
        return Recognised(active_directory_csv.FORMAT,
                          active_directory_csv.read(text, time_zones.zone("directory")))
    if application_list_csv.matches(header):
        return Recognised(application_list_csv.FORMAT, application_list_csv.read(text))
    layout = application_list_csv.matching_layout(header, layouts)
    if layout is not None:
        res = application_list_csv.read(text, layout)
        return Recognised(res.format, res)
    if set(header) >= portal_exports_csv.DAA_HEADERS:
        return Recognised(portal_exports_csv.FORMAT_DAA, portal_exports_csv.read_daa_csv(text))
    member_header = portal_exports_csv.member_list_header_line(text)
    if member_header is not None:
        return Recognised(portal_exports_csv.FORMAT_MEMBERS,
                          portal_exports_csv.read_member_list(text, member_header))
    if set(header) >= adt_hl7.CSV_HEADERS:
        return Recognised(adt_hl7.FORMAT_CSV,
                          adt_hl7.read_csv_extract(text, time_zones.zone("adt")))
    if header in GROUND_TRUTH_HEADERS:
        return Recognised("generator-ground-truth", None,
                          "the generator's ground truth, not an input")
    return Recognised("unrecognised", None, "no reader recognises its content")
