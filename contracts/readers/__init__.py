"""Recognise each input file by its content and hand it to its reader.

Files are recognised by what is in them (CSV headers, JSON shape), never by their names.
Adding an input format is one reader module here plus one contract in `contracts.schemas`.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ccreview.contracts.readers import (
    active_directory_csv,
    adt_hl7,
    application_list_csv,
    docusign_json,
    enrollment_json,
    entra_graph_json,
    entra_sign_in_json,
    portal_exports_csv,
    sign_in_events_csv,
)
from ccreview.contracts.readers.base import (
    READ_AS_WINDOWS_1252,
    WINDOWS_ENCODING,
    Issue,
    ReadResult,
    api_error,
    csv_header,
    decode_text,
    decoded,
    graph_page_note,
    is_xlsx,
    other_culture_note,
    xlsx_sheets_as_csv_text,
)
from ccreview.core.config import (
    HOSPITAL_CULTURES,
    HOSPITAL_TIME_ZONES,
    ApplicationListLayout,
    Cultures,
    TimeZones,
)
from ccreview.core.errors import UnreadableInputError, UsageError
from ccreview.core.vocabulary import PULL_STATE_FOLDER

__all__ = ["READER_MODULES", "REQUIRED_INPUTS", "Issue", "ReadResult", "Recognised",
           "check_workbook_size", "discover", "display_name", "read_input_file",
           "readers_fingerprint", "require_inputs", "sniff_kinds", "survey"]

# every reader, in the order the data dictionary documents them
READER_MODULES = (enrollment_json, portal_exports_csv, active_directory_csv, entra_graph_json,
                  application_list_csv, docusign_json, sign_in_events_csv, entra_sign_in_json,
                  adt_hl7)

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

    def __post_init__(self) -> None:
        # what the reader noted of the file's export (`ReadResult.note`) joins the note
        if self.result is not None and self.result.note:
            self.note = "; ".join(filter(None, (self.note, self.result.note)))


def readers_fingerprint(settings: tuple) -> str:
    """What a file's rows depend on besides its bytes: the readers' code and the modules
    they call, the libraries that parse (hl7, openpyxl, pandas, DuckDB) and the reading
    settings (`settings`: application-list layouts, time zones, cultures). The evidence
    store reads a file it holds again when this differs from the one it was read under."""
    from importlib import metadata

    from ccreview.core import identifiers, vocabulary

    digest = hashlib.sha256(repr(settings).encode())
    for package in ("hl7", "openpyxl", "pandas", "duckdb"):
        digest.update(f"|{package} {metadata.version(package)}".encode())
    for module in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(module.read_bytes())
    for module in (identifiers, vocabulary):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()


def read_input_file(path: Path, layouts: tuple[ApplicationListLayout, ...] = (),
                    time_zones: TimeZones = HOSPITAL_TIME_ZONES,
                    cultures: Cultures = HOSPITAL_CULTURES) -> Recognised:
    """Read one input file; raises UnreadableInputError for a file that cannot be read.
    `layouts` are the configured application-list layouts (exports with other headers);
    `time_zones` the zones of sources that write clock times without an offset;
    `cultures` the date formats of the hosts that exported them."""
    try:
        return _read_input_file(path, layouts, time_zones, cultures)
    except RecursionError:  # a structure nested deeper than any export's
        raise UnreadableInputError(str(path), "nested too deeply to be an export") from None
    except OSError as exc:  # permissions, a name too long, an I/O error
        raise UnreadableInputError(str(path), "cannot be read "
                                   f"({os.strerror(exc.errno or 0) or 'I/O error'})") from None


# A workbook is a zip: what it inflates to is capped before any XML is parsed, so a zip
# bomb is refused instead of filling memory.
MAX_WORKBOOK_BYTES = 512 << 20  # uncompressed, all parts together
MAX_COMPRESSION_RATIO = 200  # a sheet of real data compresses 5-30 times


def check_workbook_size(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a zip at all: the workbook reader says so in its own words
    total = sum(p.file_size for p in parts)
    if total > MAX_WORKBOOK_BYTES:
        raise UnreadableInputError(str(path), f"the workbook would inflate to {total >> 20} "
                                   f"MB, over the {MAX_WORKBOOK_BYTES >> 20} MB read per "
                                   "workbook")
    for p in parts:
        if p.file_size > (1 << 20) and p.file_size > MAX_COMPRESSION_RATIO * max(
                p.compress_size, 1):
            raise UnreadableInputError(str(path), "a part of the workbook inflates over "
                                       f"{MAX_COMPRESSION_RATIO} times (a zip bomb?); not "
                                       "read")


def _read_input_file(path: Path, layouts: tuple[ApplicationListLayout, ...],
                     time_zones: TimeZones, cultures: Cultures) -> Recognised:
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES)
    if is_xlsx(head):
        check_workbook_size(path)
        rec = _read_workbook(xlsx_sheets_as_csv_text(path), layouts, time_zones, cultures)
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
                          adt_hl7.read_hl7(text, time_zones.zone("adt")),
                          adt_hl7.batch_note(text))
    text, encoding = decoded(path)
    rec = _read_text(path, text, layouts, time_zones, cultures)
    if encoding == WINDOWS_ENCODING and rec.result is not None:
        rec.note = "; ".join(filter(None, (rec.note, READ_AS_WINDOWS_1252)))
    return rec


def _read_text(path: Path, text: str, layouts: tuple[ApplicationListLayout, ...],
               time_zones: TimeZones, cultures: Cultures) -> Recognised:
    """A decoded text file: JSON, or a table recognised by its header."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped[:15].lower().startswith(("<!doctype html", "<html")):
        # a browser's or proxy's page saved under the export's name (a sign-in page when
        # the session had expired, an error page): the data is missing, not unknown
        raise UnreadableInputError(str(path), "an HTML page (a sign-in or error page?) saved "
                                   "in place of the export")
    if stripped[:1] in "{[":
        try:
            body = json.loads(stripped)
        except json.JSONDecodeError:
            raise UnreadableInputError(str(path), "not valid JSON (truncated or corrupted)") \
                from None
        except RecursionError:
            raise UnreadableInputError(str(path), "JSON nested too deeply to be an export") \
                from None
        if enrollment_json.documents(body) is not None:
            return Recognised(enrollment_json.FORMAT, enrollment_json.read(str(path), body))
        if entra_sign_in_json.matches(body):  # (records with a UPN, as Entra users have)
            return Recognised(entra_sign_in_json.FORMAT, entra_sign_in_json.read(body),
                              graph_page_note(body))
        if entra_graph_json.matches(body):
            return Recognised(entra_graph_json.FORMAT, entra_graph_json.read(body),
                              graph_page_note(body))
        if docusign_json.matches(body):
            return Recognised(docusign_json.FORMAT, docusign_json.read(body),
                              docusign_json.page_note(body))
        if isinstance(body, dict) and body.get("generator") == "ccreview generate":
            return Recognised("generator-metadata", None, "generator metadata, not an input")
        if (error := api_error(body)) is not None:
            # a failed call's body saved as the export: the data is missing, not unknown
            raise UnreadableInputError(str(path), f"{error} saved in place of the export")
        return Recognised("unrecognised", None, "JSON of a shape no reader knows")
    return _read_table_text(text, layouts, time_zones, cultures)


def _read_workbook(sheets: list[tuple[str, str, int]],
                   layouts: tuple[ApplicationListLayout, ...], time_zones: TimeZones,
                   cultures: Cultures) -> Recognised:
    """The first sheet holding a known table (a cover sheet may come first); every other
    sheet with a value in it is named in the note, with its rows: one table per file."""
    for title, text, _ in sheets:
        rec = _read_table_text(text, layouts, time_zones, cultures)
        if rec.format == "unrecognised":
            continue
        others = [(t, n) for t, _, n in sheets if t != title and n]
        if others and rec.result is not None:
            rec.note = "; ".join(filter(None, (
                f"read from its sheet '{title}'; not read: " + ", ".join(
                    f"sheet '{t}' ({n} row{'' if n == 1 else 's'})" for t, n in others)
                + ": one table per file, save each as its own", rec.note)))
        return rec
    return Recognised("unrecognised", None, "no reader recognises its content")


def _table_format(text: str, layouts: tuple[ApplicationListLayout, ...]
                  ) -> tuple[str | None, list[str]]:
    """Which table a CSV text (or an XLSX sheet as CSV text) is, by its header: the one
    place the tables are told apart, for reading and for the check before a run."""
    header = csv_header(text.lstrip("\ufeff \t\r\n"))
    if active_directory_csv.matches(header):
        return active_directory_csv.FORMAT, header
    if entra_graph_json.matches_csv(header):
        return entra_graph_json.FORMAT_CSV, header
    if application_list_csv.matches(header):
        return application_list_csv.FORMAT, header
    if application_list_csv.matching_layout(header, layouts) is not None:
        return application_list_csv.LAYOUT_FORMAT, header
    if set(header) >= portal_exports_csv.DAA_HEADERS:
        return portal_exports_csv.FORMAT_DAA, header
    if portal_exports_csv.member_list_header_line(text) is not None:
        return portal_exports_csv.FORMAT_MEMBERS, header
    if set(header) >= adt_hl7.CSV_HEADERS:
        return adt_hl7.FORMAT_CSV, header
    if header in GROUND_TRUTH_HEADERS:
        return "generator-ground-truth", header
    return None, header


# a report tool's export (an application's user list saved from its admin console) may
# put a title block — a name, a date, a blank line — above the header: looked for this far
TITLE_LINES = 10


def _locate_table(text: str, layouts: tuple[ApplicationListLayout, ...]
                  ) -> tuple[int, str, str | None, list[str]]:
    """(lines before the header, the text from the header on, its format, the header):
    the first line, else the first of the next `TITLE_LINES` that is a known table's (each
    judged on its first lines: not by splitting the whole file into lines)."""
    fmt, header = _table_format(text[:HEAD_BYTES], layouts)
    if fmt is not None:
        return 0, text, fmt, header
    start = 0
    for skip in range(1, TITLE_LINES + 1):
        cut = text.find("\n", start)
        if cut < 0:
            break
        start = cut + 1
        end = text.find("\n", start)
        if not text[start:end if end >= 0 else len(text)].strip():
            continue  # a blank line: the header is on a line of its own below
        below, below_header = _table_format(text[start:start + HEAD_BYTES], layouts)
        if below is not None and below != "generator-ground-truth":
            return skip, text[start:], below, below_header
    return 0, text, None, header


def _read_table_text(text: str, layouts: tuple[ApplicationListLayout, ...],
                     time_zones: TimeZones, cultures: Cultures) -> Recognised:
    """A table (CSV, or an XLSX sheet as CSV text): recognised by its header, which a
    title block may precede (its lines are no data; rows keep their line in the file)."""
    skip, body, fmt, header = _locate_table(text, layouts)
    rec = _read_table(body, fmt, header, layouts, time_zones, cultures)
    if skip and rec.result is not None:
        for rows in rec.result.rows.values():
            for row in rows:
                row["source_line"] += skip
        rec.note = "; ".join(filter(None, (
            f"its header is on line {skip + 1}, below a title: the line(s) above it are not "
            "data", rec.note)))
    return rec


def _read_table(text: str, fmt: str | None, header: list[str],
                layouts: tuple[ApplicationListLayout, ...], time_zones: TimeZones,
                cultures: Cultures) -> Recognised:
    if fmt == active_directory_csv.FORMAT:
        res = active_directory_csv.read(text, time_zones.zone("directory"), cultures.directory)
        other_culture_note(res, cultures.directory, "directory")
        return Recognised(fmt, res)
    if fmt == entra_graph_json.FORMAT_CSV:
        return Recognised(fmt, entra_graph_json.read_csv(text, header))
    if fmt in (application_list_csv.FORMAT, application_list_csv.LAYOUT_FORMAT):
        layout = (application_list_csv.matching_layout(header, layouts)
                  if fmt == application_list_csv.LAYOUT_FORMAT else None)
        res = application_list_csv.read(text, layout, cultures.applications)
        other_culture_note(res, cultures.applications, "applications")
        return Recognised(fmt if layout is None else res.format, res)
    if fmt == portal_exports_csv.FORMAT_DAA:
        return Recognised(fmt, portal_exports_csv.read_daa_csv(text))
    if fmt == portal_exports_csv.FORMAT_MEMBERS:
        return Recognised(fmt, portal_exports_csv.read_member_list(
            text, portal_exports_csv.member_list_header_line(text)))
    if fmt == adt_hl7.FORMAT_CSV:
        return Recognised(fmt, adt_hl7.read_csv_extract(text, time_zones.zone("adt")))
    if fmt == "generator-ground-truth":
        return Recognised(fmt, None, "the generator's ground truth, not an input")
    return Recognised("unrecognised", None, "no reader recognises its content")


def display_name(path: Path, root: Path) -> str:
    """A file's path under the input folder as text that can be shown and stored: bytes
    that are not UTF-8 become U+FFFD."""
    rel = os.path.relpath(path, root)
    return os.fsencode(rel).decode("utf-8", "replace").replace(os.sep, "/")


def discover(input_dir: Path) -> list[Path]:
    """Every regular file under the folder that is read, in a stable order."""
    return survey(input_dir)[0]


def survey(input_dir: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """(files to read, [(name, why) of everything else]) under the folder. Links are never
    followed (one to outside the folder may expose anything; one inside would read a file
    twice); hidden files, Office lock files (`~$name.xlsx`), FIFOs, sockets, devices and
    folders that cannot be listed are skipped, each with the reason."""
    root = input_dir
    files: list[Path] = []
    skipped: list[tuple[str, str]] = []

    def skip(path: Path, why: str) -> None:
        skipped.append((display_name(path, root), why))

    def walk(folder: Path) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: os.fsencode(e.name))
        except OSError as exc:
            skip(folder, f"a folder that cannot be listed ({os.strerror(exc.errno or 0)})")
            return
        for entry in entries:
            path = Path(entry.path)
            name = os.fsencode(entry.name)
            try:
                if entry.is_symlink():
                    skip(path, _link_reason(path, root))
                elif name == PULL_STATE_FOLDER.encode() and folder == root:
                    skip(path, "ccreview pull's cursors and pages in progress (not an input)")
                elif name.startswith(b"."):
                    skip(path, "a hidden file or folder")
                elif entry.is_dir(follow_symlinks=False):
                    walk(path)
                elif name.startswith(b"~$"):
                    skip(path, "an Office lock file (the document is open somewhere)")
                elif entry.is_file(follow_symlinks=False):
                    files.append(path)
                else:
                    skip(path, "not a regular file (a FIFO, socket or device)")
            except OSError as exc:
                skip(path, f"cannot be examined ({os.strerror(exc.errno or 0)})")

    walk(root)
    return files, skipped


def _link_reason(path: Path, root: Path) -> str:
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return "a symbolic link that is broken or loops; not followed"
    if not target.is_relative_to(root.resolve()):
        return "a symbolic link to outside the input folder; not followed"
    return "a symbolic link inside the input folder; not followed (its target is read)"


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


def _head_text(path: Path) -> str | None:
    """A file's first bytes as text; None for a workbook. Raises OSError or
    UnreadableInputError for a file that cannot be read."""
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES)
    return None if is_xlsx(head) else decode_text(path, head, partial=True)


def is_event_log(path: Path) -> bool:
    """Whether the file is a sign-in or access log, which DuckDB loads (from its header;
    False when it cannot be read: the readers say why)."""
    try:
        text = _head_text(path)
    except (OSError, UnreadableInputError):
        return False
    return text is not None and sign_in_events_csv.detect(
        csv_header(text.lstrip("\ufeff \t\r\n"))) is not None


# what `sniff_kinds` found, by the file's identity and state on disk: a command-line run
# asks of every file three times (the command line's check, the flow's, the store's choice
# of what a census or dormant run reads), each pass 0.1-0.3 s at 1,000-10,000 groups
_SNIFFED: dict[tuple, frozenset[str]] = {}
_SNIFFED_MAX = 50_000


def sniff_kinds(path: Path, layouts: tuple[ApplicationListLayout, ...] = ()) -> set[str]:
    """What a file holds, judged from its first bytes only (cheap: for the check before a
    run starts; reading it is the readers' job): enrollment, directory, sign_in, adt,
    docusign, applications; empty when nothing is recognised or it cannot be read. A file
    asked about again unchanged (the same inode, size, modification and change times) is
    not read again."""
    try:
        st = path.stat()
    except OSError:
        return set()
    key = (os.fspath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns,
           st.st_ctime_ns, layouts)
    found = _SNIFFED.get(key)
    if found is None:
        if len(_SNIFFED) >= _SNIFFED_MAX:  # a long-lived process: forget, don't grow
            _SNIFFED.clear()
        found = _SNIFFED[key] = frozenset(_sniff(path, layouts))
    return set(found)


def _sniff(path: Path, layouts: tuple[ApplicationListLayout, ...]) -> set[str]:
    try:
        text = _head_text(path)
        if text is None:
            check_workbook_size(path)
            return next((kinds for _, head, _ in xlsx_sheets_as_csv_text(
                             path, max_rows=TITLE_LINES + 2)
                         if (kinds := _table_kinds(head, layouts))), set())
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
        lowered = stripped.lower()  # Graph's names, or the PowerShell SDK's PascalCase
        if '"userprincipalname"' in lowered and '"appdisplayname"' in lowered:
            kinds.add("sign_in")  # a sign-in log
        elif '"userprincipalname"' in lowered:
            kinds.add("directory")
            if '"signinactivity"' in lowered:
                kinds.add("sign_in")
        if '"envelopes"' in stripped or '"envelopeid"' in lowered:
            kinds.add("docusign")
        return kinds
    return _table_kinds(stripped, layouts)


_KINDS_OF_TABLES = {
    active_directory_csv.FORMAT: {"directory"},
    entra_graph_json.FORMAT_CSV: {"directory"},
    application_list_csv.FORMAT: {"applications"},
    application_list_csv.LAYOUT_FORMAT: {"applications"},
    portal_exports_csv.FORMAT_DAA: {"docusign"},
    portal_exports_csv.FORMAT_MEMBERS: {"enrollment"},
    adt_hl7.FORMAT_CSV: {"adt"},
}


def _table_kinds(text: str, layouts: tuple[ApplicationListLayout, ...]) -> set[str]:
    _, _, fmt, header = _locate_table(text, layouts)
    kinds = set(_KINDS_OF_TABLES.get(fmt, set()))
    if fmt == active_directory_csv.FORMAT and "lastlogontimestamp" in header:
        kinds.add("sign_in")  # AD's lastLogonTimestamp is sign-in evidence too
    if fmt == entra_graph_json.FORMAT_CSV and any(
            "lastsuccessfulsignindatetime" in h for h in header):
        kinds.add("sign_in")
    return kinds


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
