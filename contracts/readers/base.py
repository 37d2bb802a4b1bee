"""What every reader shares: decoding a file as the exporting tool wrote it, and the result
shape (canonical rows + the rows it had to quarantine while parsing).

A reader turns one source file into rows of one or more canonical tables. Values are
converted from the tool's encoding (FILETIME, `1/15/2023 9:03:12 AM`, `True`) into plain
Python values; a value that cannot be converted quarantines its row with the column and a
reason — never the raw value, which may be PHI.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path

from ccreview.core.errors import UnreadableInputError


@dataclass(frozen=True)
class Issue:
    """One reason a row of `table` (at `row_index` in the reader's output) is quarantined."""
    table: str
    row_index: int
    column: str
    rule: str
    reason: str
    # the canonical column the value was read into (`column` names it as the export
    # does): left empty by the failure, it is not also reported missing
    target: str | None = None


# what `csv_records` yields for a row it cannot split into the header's fields, and the
# reason of rule `csv_width` for it, whichever reader finds the row
UNSPLIT = "__width_mismatch__"
UNSPLIT_ROW = ("the row cannot be split into the header's fields (another number of fields, "
               "or broken quoting)")


@dataclass
class ReadResult:
    """Every row a reader found in one file, per canonical table, and the parse issues.

    Rows with an issue stay in `rows` (with the unparseable value set to None) so that
    validation can account for each one: read = accepted + quarantined.
    Each row carries `source_line`: the physical line (CSV) or 1-based record (JSON).
    """
    format: str
    rows: dict[str, list[dict]] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    note: str = ""  # what the file says of its export (`input_files.note`)

    def add(self, table: str, row: dict) -> int:
        rows = self.rows.setdefault(table, [])
        rows.append(row)
        return len(rows) - 1

    def reject(self, table: str, row_index: int, column: str, rule: str, reason: str,
               target: str | None = None) -> None:
        self.issues.append(Issue(table, row_index, column, rule, reason, target))

    def rejected_unsplit(self, table: str, row_index: int, rec: dict) -> bool:
        """Quarantine a row `csv_records` could not split into the header's fields (rule
        `csv_width`); whether it was one."""
        if UNSPLIT not in rec:
            return False
        self.reject(table, row_index, "(row)", "csv_width", UNSPLIT_ROW)
        return True

    def convert(self, table: str, row_index: int, row: dict, dst: str,
                parse: Callable[[object], object], raw: object, column: str, rule: str
                ) -> None:
        """row[dst] = parse(raw); a value that does not parse becomes None and a parse
        issue on `column` (the reason is the parser's, which never quotes the value)."""
        try:
            row[dst] = parse(raw)
        except (ValueError, OverflowError) as exc:
            row[dst] = None
            self.reject(table, row_index, column, rule, str(exc), dst)


def reject_repeated_request(result: ReadResult, row_index: int,
                            requested: dict[tuple[str, str], str], email: str,
                            application: str, column: str) -> None:
    """Quarantine a request for an application the same person (by normalised email) has
    already asked for in the same submission: the form named the application twice, or
    named the person twice (a sponsor also entered as the administrator or a member). The
    first request stands, so the person's applications are unchanged; the repeat is
    quarantined with where the first one is, not counted twice. `requested` maps (email,
    application) to the column of the first request, for one submission."""
    key = (email.strip().lower(), application)
    if key not in requested:
        requested[key] = column
        return
    result.reject("enrollment_app_requests", row_index, column, "repeated_request",
                  f"the person already requested this application in this submission "
                  f"({requested[key]}); that request is used")


# the other encoding Windows tools write text in: the ANSI code page of a US or Western
# European Windows, as Excel's "CSV (Comma delimited)" and `Export-Csv -Encoding Default`
# save it (`José` is one byte 0xE9 there, no UTF-8)
WINDOWS_ENCODING = "cp1252"
READ_AS_WINDOWS_1252 = ("not UTF-8: read as Windows-1252 text, as Excel's \"CSV (Comma "
                        "delimited)\" and Export-Csv -Encoding Default save it")


def decode_text(path: Path, data: bytes | None = None, partial: bool = False) -> str:
    """Decode as Windows and PowerShell write text: UTF-8 (with or without BOM), UTF-16 with
    a BOM (what `Out-File` / `>` writes in Windows PowerShell 5.1), plain ASCII, or — when
    it is not UTF-8 — Windows-1252 (`decoded`).
    `partial`: `data` is the head of a larger file (a character may be cut at its end)."""
    return decoded(path, data, partial)[0]


def decoded(path: Path, data: bytes | None = None, partial: bool = False) -> tuple[str, str]:
    """`decode_text`'s text and the encoding it was read in."""
    raw = path.read_bytes() if data is None else data
    if not raw.strip():
        raise UnreadableInputError(str(path), "the file is empty")
    if raw.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = "utf-8"
        if b"\x00" in raw[:4096]:
            raise UnreadableInputError(str(path), "binary content, not a text export")
    try:
        return raw.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        if partial and exc.start >= len(raw) - 4:  # a character cut by the head's end
            return raw[:exc.start].decode(encoding), encoding
        if encoding != "utf-8":  # a byte order mark said which: not Windows-1252 then
            raise UnreadableInputError(
                str(path), f"not valid {encoding.upper()} text (unknown encoding)") from None
    try:  # a single-byte encoding: no character is cut at a head's end
        return raw.decode(WINDOWS_ENCODING), WINDOWS_ENCODING
    except UnicodeDecodeError:
        raise UnreadableInputError(
            str(path), "neither UTF-8 nor Windows-1252 text (unknown encoding)") from None


def delimiter_of(header_line: str) -> str:
    """The header's separator: `;` for an export written with `Export-Csv -UseCulture`
    under a culture whose list separator is a semicolon (most of Europe), a tab for
    Excel's "Unicode Text" and `Export-Csv -Delimiter "`t"`, else `,` (also on a tie)."""
    counts = {sep: header_line.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > counts[","] else ","


def csv_records(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(physical line number, row) for each data row of a CSV export.

    Skips PowerShell 5.1's `#TYPE` line; reads `,`, `;` or a tab as the delimiter, as the
    header shows; header names are matched case-insensitively by the caller (they are returned
    lower-cased and stripped).
    """
    buf = io.StringIO(text, newline="")
    first = buf.readline()
    offset = 1
    if not first.startswith("#TYPE"):
        buf.seek(0)
        offset = 0
    header_line = buf.readline()
    buf.seek(0)
    if offset:
        buf.readline()
    reader = csv.reader(buf, delimiter=delimiter_of(header_line))
    header: list[str] | None = None
    for row in _rows(reader):
        if header is None:
            header = [h.strip().lower() for h in row]
            continue
        if not any(cell.strip() for cell in row):
            continue
        line = reader.line_num + offset
        if len(row) != len(header):
            yield line, {UNSPLIT: str(len(row))}
            continue
        yield line, dict(zip(header, row, strict=True))


def _rows(reader: Iterable[list[str]]) -> Iterator[list[str]]:
    """The reader's rows; a malformed file (a field over the csv module's limit, a NUL
    byte in an unquoted field) is unreadable as a whole, named, never a traceback."""
    try:
        yield from reader
    except csv.Error:
        raise UnreadableInputError("", "not a CSV export: a field is malformed or longer "
                                   f"than {csv.field_size_limit() >> 10} KB") from None


def csv_header(text: str) -> list[str]:
    """Lower-cased header of a CSV export (after a `#TYPE` line if there is one)."""
    lines = text.lstrip("\ufeff").splitlines()
    if lines and lines[0].startswith("#TYPE"):
        lines = lines[1:]
    if not lines:
        return []
    try:
        return [h.strip().lower()
                for h in next(csv.reader([lines[0]], delimiter=delimiter_of(lines[0])))]
    except csv.Error:
        return []


_TRUE = ("true", "yes", "y", "1", "x", "on", "checked")
_FALSE = ("false", "no", "n", "0", "", "off", "unchecked", "none")


def parse_bool(value: str | bool | int | None) -> bool | None:
    """A check box or yes/no answer in any encoding the sources use: JSON `true`, the
    strings `"true"`/`"Yes"`/`"1"` (ServiceNow values and labels, the portal's cells),
    PowerShell's `True`. Missing -> None, an empty cell -> False; anything else is not a
    boolean."""
    if isinstance(value, bool):
        return value
    if value is None:
        return None
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    s = str(value).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise ValueError("not a true/false value")


_ISO_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")
# how a Windows culture writes a DateTime (PowerShell's Export-Csv uses the exporting
# host's culture); a date that does not fit the source's culture is never guessed
CULTURE_FORMATS = {
    "en-US": ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M %p",
              "%m/%d/%Y"),
    "en-GB": ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y"),
}


def parse_datetime(value: str | None, tz: tzinfo | None = None,
                   culture: str = "en-US") -> datetime | None:
    """A timestamp as exports write it, as a naive UTC datetime (what the warehouse stores).
    A value with an offset (`Z`, `-07:00`) is converted by it; a value without one is a
    clock time in `tz`, the source's time zone (None: the source writes UTC). Besides ISO
    8601, the formats of the source's `culture` are read: `15/01/2023` is the 15th of
    January in en-GB and no date in en-US. Empty -> None.

    `0001-01-01T00:00:00Z` (Graph's "never") is None, never a date.
    """
    if value is None:
        return None
    s = str(value).strip()
    if not s or s.startswith("0001-01-01"):
        return None
    iso = s.replace("Z", "+00:00")
    try:
        dt = datetime.fromisoformat(iso)
    except ValueError:
        dt = None
        for fmt in (*CULTURE_FORMATS[culture], *_ISO_FORMATS):
            try:
                dt = datetime.strptime(s, fmt)
                break
            except ValueError:
                continue
        if dt is None:
            other = _other_order(s, culture)
            if other is not None:
                raise ValueError(f"a date written in {other}, {IN_ANOTHER_CULTURE} "
                                 f"({culture})") from None
            raise ValueError("not a date/time in a known format") from None
    return to_utc(dt, tz)


# a date its source's culture cannot read whose day and month are in the other culture's
# order (a month over 12 in the source's): the host exported in that one, so its dates
# that fit both (a day of 12 or less) were read with day and month swapped; the file is
# noted (`other_culture_note`) and the run refused (`contracts.completeness`)
IN_ANOTHER_CULTURE = "not the culture set for this source"
OTHER_CULTURE = "dates written in another culture"


# the order each culture writes a date's day and month in, and a date so written
CULTURE_ORDER = {"en-US": "month/day", "en-GB": "day/month"}
_NUMERIC_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/\d{4}\b")


def _other_culture(culture: str) -> str:
    return next(c for c, order in CULTURE_ORDER.items() if order != CULTURE_ORDER[culture])


def _other_order(value: str, culture: str) -> str | None:
    """The culture whose day and month order a date that `culture` cannot read must be in:
    one whose month, in `culture`'s order, is over 12 while the other order reads (22/01
    in en-US). None when nothing tells: another time format (24-hour, no seconds) is no
    evidence of another order."""
    match = _NUMERIC_DATE.match(value)
    if not match:
        return None
    first, second = int(match.group(1)), int(match.group(2))
    day, month = (second, first) if CULTURE_ORDER[culture] == "month/day" else (first, second)
    if month > 12 and 1 <= day <= 12 and 1 <= month <= 31:
        return _other_culture(culture)
    return None


def other_culture_note(result: ReadResult, culture: str, setting: str) -> None:
    """Note on `result` that some of its dates are in the other culture's order, not
    `culture`'s, which `[cultures] <setting>` sets: how many values, in which columns
    (`culture_setting` reads the setting back)."""
    found = [i for i in result.issues if IN_ANOTHER_CULTURE in i.reason]
    if not found:
        return
    columns = sorted({i.column for i in found})
    note = (f"{OTHER_CULTURE}: {len(found)} date(s) in {', '.join(columns)} fit "
            f"{_other_culture(culture)}, not the {culture} that [cultures] {setting} sets")
    result.note = "; ".join(filter(None, (result.note, note)))


def culture_setting(said: str) -> str:
    """`[cultures] <setting>` named by an `other_culture_note`."""
    return said.rsplit(" that ", 1)[-1].removesuffix(" sets")


# Windows PowerShell 5.1's ConvertTo-Json writes a DateTime as `\/Date(<ms since 1970,
# UTC>)\/` (json.loads leaves `/Date(...)/`); an offset after the milliseconds is the
# writer's zone, not a change to the instant
_MS_DATE = re.compile(r"/Date\((-?\d+)(?:[+-]\d{4})?\)/")


def parse_json_datetime(value: str | None) -> datetime | None:
    """A time in a JSON export: ISO 8601 (Graph) or PowerShell's `/Date(ms)/`."""
    match = _MS_DATE.fullmatch(value or "")
    if match:
        return datetime(1970, 1, 1) + timedelta(milliseconds=int(match.group(1)))
    return parse_datetime(value)


# a file's note when its Microsoft Graph page (users, sign-ins) says another page follows:
# an export whose every page says so lacks (at least) its last page (the run is refused:
# contracts.completeness)
GRAPH_NEXT_PAGE_NOTE = "a Graph page that says another page follows (@odata.nextLink)"
# ... and when it says how many records its export holds (`$count=true`): pages that hold
# fewer, by a page or more, lack one (in the middle too)
GRAPH_COUNT_NOTE = "a Graph export that counts its records (@odata.count)"
_GRAPH_COUNT = re.compile(re.escape(GRAPH_COUNT_NOTE) + r": (\d+)")


# an export of accounts whose status (enabled, active) is empty on every row: read so, every
# account would be disabled or inactive (an empty cell is no) or quarantined (missing), the
# review's access findings made on a status nobody exported; the run is refused
# (`contracts.completeness`)
NO_STATUS = "no account has a status"


def no_status_note(where: str) -> str:
    """The note of such an export, `where` saying which column or property is empty (no
    '; ', which joins a file's notes)."""
    return f"{NO_STATUS} ({where})"


def graph_page_note(body: object) -> str:
    """What a Graph page says of its export: GRAPH_NEXT_PAGE_NOTE when another page
    follows, GRAPH_COUNT_NOTE with the count when it states one; '' when neither."""
    if not isinstance(body, dict):
        return ""
    notes = [GRAPH_NEXT_PAGE_NOTE] if body.get("@odata.nextLink") else []
    count = body.get("@odata.count")
    if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
        notes.append(f"{GRAPH_COUNT_NOTE}: {count}")
    return "; ".join(notes)


def graph_stated_count(note: str | None) -> int | None:
    """The record count a file's note says its Graph export holds, if it says one."""
    match = _GRAPH_COUNT.search(note or "")
    return int(match.group(1)) if match else None


_ERROR_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")


def api_error(body: object) -> str | None:
    """What an API's error response says, when a file holds one in place of an export (a
    script that saved the body of a failed call): Microsoft Graph's and other OData
    services' `{"error": {"code", "message"}}`, ServiceNow's `{"error": {"message",
    "detail"}, "status": "failure"}`, DocuSign's `{"errorCode", "message"}`. The service
    and its error code (an identifier: never the message, which may quote what was asked
    for); None when `body` is no error response."""
    if not isinstance(body, dict):
        return None

    def code(value: object) -> str:
        return f" ({value})" if isinstance(value, str) and _ERROR_CODE.fullmatch(value) else ""

    error = body.get("error")
    if isinstance(error, dict) and ("code" in error or "message" in error) \
            and not body.get("value") and not body.get("result"):
        service = "ServiceNow" if body.get("status") == "failure" else "Microsoft Graph"
        return f"a {service} API error response{code(error.get('code'))}"
    if isinstance(body.get("errorCode"), str) and "envelopes" not in body:
        return f"a DocuSign API error response{code(body['errorCode'])}"
    return None


def lower_keys(obj: object) -> dict:
    """A JSON object's members by lower-case name (the PowerShell SDK's
    `UserPrincipalName` is Graph's `userPrincipalName`); anything else, no members."""
    return {str(k).lower(): v for k, v in obj.items()} if isinstance(obj, dict) else {}


def to_utc(dt: datetime, tz: tzinfo | None) -> datetime:
    """Naive UTC: an aware time converted; a naive one read as a clock time in `tz` (None:
    already UTC). Every time field of every source goes through here."""
    if dt.tzinfo is None and tz is not None:
        dt = dt.replace(tzinfo=tz)
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


def text_of(value: object) -> str | None:
    """A value as text: stripped, empty -> None; an object or a list is no text (None);
    numbers keep their digits (an NPI typed as a JSON number is still the NPI)."""
    if value is None or isinstance(value, (dict, list)):
        return None
    s = str(value).replace("\x00", "").strip()  # a NUL byte is never part of a value
    return s or None


def parse_text(value: object) -> str | None:
    """A text field of a form (`text_of`), where a true/false value is an error."""
    if isinstance(value, bool):
        raise ValueError("a true/false value where text was expected")
    return text_of(value)


def is_xlsx(head: bytes) -> bool:
    """An Office Open XML workbook (a zip whose parts include xl/)."""
    return head.startswith(b"PK\x03\x04") and b"xl/" in head


def _cell_text(value: object) -> str:
    """A workbook cell as a CSV export writes it: a date and time as ISO text with a space
    (`2026-10-01 08:00:00`), a date or a time of day as ISO text, anything else as text."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)


def xlsx_sheets_as_csv_text(path: Path, max_rows: int | None = None
                            ) -> list[tuple[str, str, int]]:
    """Each sheet of a workbook, in tab order, as (title, CSV text, rows with a value):
    line n = row n, so that a CSV reader reads an XLSX export of the same table. Dates
    become ISO text; cells are never evaluated. `max_rows`: the first rows only."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile, XML and openpyxl errors: an unreadable workbook
        raise UnreadableInputError(str(path), f"not a readable Excel workbook "
                                   f"({exc.__class__.__name__})") from None
    sheets = []
    try:
        for ws in wb.worksheets:
            buf = io.StringIO()
            writer = csv.writer(buf, lineterminator="\n")
            filled = 0
            for row in ws.iter_rows(values_only=True, max_row=max_rows):
                cells = [_cell_text(v) for v in row]
                filled += any(cells)
                writer.writerow(cells)
            sheets.append((ws.title, buf.getvalue(), filled))
    except Exception as exc:  # a sheet's XML that does not parse
        raise UnreadableInputError(str(path), f"not a readable Excel workbook "
                                   f"({exc.__class__.__name__})") from None
    finally:
        wb.close()
    return sheets
