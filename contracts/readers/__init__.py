"""Recognise each input file by its content and hand it to its reader.

Files are recognised by what is in them (CSV headers, JSON shape), never by their names.
Adding an input format is one reader module here plus one contract in `contracts.schemas`.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ccreview.config import HOSPITAL_TIME_ZONES, ApplicationListLayout, TimeZones
from ccreview.errors import UnreadableInputError, UsageError
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

__all__ = ["READER_MODULES", "REQUIRED_INPUTS", "Issue", "ReadResult", "Recognised",
           "discover", "read_input_file", "require_inputs", "sniff_kinds"]

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


def discover(input_dir: Path) -> list[Path]:
    """Every regular file under the folder, in a stable order; hidden files skipped."""
    return sorted(p for p in input_dir.rglob("*")
                  if p.is_file() and not any(part.startswith(".")
                                             for part in p.relative_to(input_dir).parts))


# What each run cannot do without: kind -> what a person calls it
NEEDS = {
    "enrollment": "enrollment submissions",
    "directory": "directory export (Active Directory or Entra ID users)",
    "adt": "ADT feed",
    "sign_in": "sign-in evidence (Entra users or sign-in log, an application access log, "
               "or AD lastLogonTimestamp)",
}
REQUIRED_INPUTS = {
    "review": ("enrollment", "directory"),
    "census": ("enrollment", "adt"),
    "dormant": ("directory", "sign_in"),
}


def sniff_kinds(path: Path, layouts: tuple[ApplicationListLayout, ...] = ()) -> set[str]:
    """What a file holds, judged from its first bytes only (cheap: for the check before a
    run starts; reading it is the readers' job): enrollment, directory, sign_in, adt,
    docusign, applications; empty when nothing is recognised or it cannot be read."""
    try:
        with path.open("rb") as fh:
            head = fh.read(HEAD_BYTES)
        if is_xlsx(head):
            return _table_kinds(_xlsx_head(path), layouts)
        text = decode_text(path, head, partial=True)
    except (OSError, UnreadableInputError):
        return set()
    stripped = text.lstrip("\ufeff \t\r\n")
    header = csv_header(stripped)
    if sign_in_events_csv.detect(header):
        return {"sign_in"}
    if adt_hl7.looks_like_hl7(text):
        return {"adt"}
    if stripped[:1] in "{[":
        kinds = set()
        if '"request_number"' in stripped and ('"request_type"' in stripped
                                               or '"sponsoring_physician"' in stripped):
            kinds.add("enrollment")
        if '"userPrincipalName"' in stripped:
            kinds.add("directory")
            if '"signInActivity"' in stripped:
                kinds.add("sign_in")
        if '"envelopes"' in stripped:
            kinds.add("docusign")
        return kinds
    return _table_kinds(stripped, layouts)


def _xlsx_head(path: Path, rows: int = 8) -> str:
    """The first rows of a workbook's first sheet as CSV text."""
    import csv
    import io

    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:  # not a readable workbook: the reader will say so
        return ""
    buf = io.StringIO()
    try:
        for row in wb.worksheets[0].iter_rows(values_only=True, max_row=rows):
            csv.writer(buf).writerow(["" if v is None else str(v) for v in row])
    finally:
        wb.close()
    return buf.getvalue()


def _table_kinds(text: str, layouts: tuple[ApplicationListLayout, ...]) -> set[str]:
    header = csv_header(text)
    if active_directory_csv.matches(header):
        return {"directory"} | ({"sign_in"} if "lastlogontimestamp" in header else set())
    if application_list_csv.matches(header) or application_list_csv.matching_layout(
            header, layouts) is not None:
        return {"applications"}
    if set(header) >= portal_exports_csv.DAA_HEADERS:
        return {"docusign"}
    if portal_exports_csv.member_list_header_line(text) is not None:
        return {"enrollment"}
    if set(header) >= adt_hl7.CSV_HEADERS:
        return {"adt"}
    return set()


def require_inputs(input_dir: Path, run: str,
                   layouts: tuple[ApplicationListLayout, ...] = ()) -> Counter:
    """Raise a usage error naming what is missing when `input_dir` lacks an input the run
    (review, census, dormant) cannot do without; else the kinds found, with counts."""
    files = discover(input_dir)
    kinds: Counter = Counter()
    recognised = 0
    for path in files:
        found = sniff_kinds(path, layouts)
        recognised += bool(found)
        kinds.update(found)
    missing = [NEEDS[k] for k in REQUIRED_INPUTS[run] if not kinds[k]]
    if missing:
        raise UsageError(
            f"--input {input_dir}: found no {' and no '.join(missing)}, which a {run} "
            f"needs (found {len(files)} file{'s' * (len(files) != 1)}, {recognised} "
            "recognised). Nothing was written.")
    return kinds
