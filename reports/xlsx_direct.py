"""Small workbooks written directly: the same bytes `StreamingBook(small=True)` writes for the
same cells, at a fraction of its cost. `write_table_book` lays out tables (the census, the
distribution list); `DirectBook` takes sheets filled cell by cell with their settings
(the attestation workbooks: frozen panes, protection, a drop-down, a very hidden sheet).

A daily census writes one workbook per subscribed provider (10,600 at 10,000 groups), each
two short tables. Through xlsxwriter a workbook costs about 2.3 ms, 1.3 ms of it for an
empty one (its objects, formats, style sheet and package); this writer builds the
worksheets, shared strings and package parts as text and zips them as xlsxwriter does,
taking the style sheet and theme from xlsxwriter itself (rendered once per set of formats
used). `tests/test_xlsx_direct.py` compares its files with StreamingBook's, byte for
byte, over hand-written and generated tables.

Anything this writer does not reproduce exactly goes to StreamingBook instead: text of
16,384 characters or more, text framed as rich-text markup, a title holding `&`, values
other than text, numbers, booleans and dates, sheet names other than letters, digits,
spaces and `_`, tables longer than a sheet, books of more than nine sheets (never compared
by the tests); in a `DirectBook` also a sheet name with other characters. It holds a
book's cells in memory: fine for the census's and attestation workbooks and the
distribution list (one row per provider), not for the review's millions of cells. It
relies on a few of xlsxwriter's private helpers (escapes, date serials), so that both
write the same text; the pinned version and the byte-for-byte tests keep them honest.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import math
import re
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from zipfile import ZIP_DEFLATED, ZipFile

from xlsxwriter.utility import (
    _datetime_to_excel_datetime,
    quote_sheetname,
    xl_col_to_name,
)
from xlsxwriter.xmlwriter import XMLwriter

from ccreview.reports.files import atomic_path, write_in_building
from ccreview.reports.xlsx import (
    EXCEL_MAX_ROWS,
    FITTED_ROWS,
    MAX_TEXT,
    WIDTH_SAMPLE_ROWS,
    StreamingBook,
    add_formats,
    header_height,
    height_attributes,
    landscape,
    page_footer,
    page_header,
    row_height,
    table_layout,
    text_element,
)

ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # xlsxwriter's date for every part of an in-memory book
DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
SELECTED = 'tabSelected="1" '
HIDDEN = ' hidden="1"'
VERY_HIDDEN = ' state="veryHidden"'
_XML = XMLwriter()
_PLAIN_SHEET_NAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_ ]{0,29}[A-Za-z0-9_])?")


@dataclass(frozen=True)
class Table:
    """One sheet: `header` and `rows` under an optional `title` line (StreamingBook.table's
    arguments)."""

    name: str
    header: Sequence[str]
    rows: Sequence[Sequence[object]]
    title: str | None = None


class NotDirect(Exception):
    """Something only StreamingBook writes exactly: the book goes to it."""



def write_table_book(path: Path, as_of: dt.date, title: str, tables: Sequence[Table],
                     phi: bool = False, in_building: bool = False) -> bool:
    """A workbook of `tables`, atomically (`in_building`: in place, `path` being in a
    building folder swapped in whole): byte for byte StreamingBook(path, as_of, title,
    phi, small=True) with `book.table(t.name, t.header, t.rows, title=t.title)` for each.
    Returns whether it was written directly (False: through StreamingBook)."""
    try:
        parts = _parts(as_of, title, tables, phi)
    except NotDirect:
        with StreamingBook(path, as_of, title, phi=phi, small=True) as book:
            for t in tables:
                book.table(t.name, t.header, t.rows, title=t.title)
        return False
    _save(path, parts, in_building)
    return True


def _save(path: Path, parts: Sequence[tuple[str, str]], in_building: bool) -> None:
    """The package, atomically (`in_building`: in place, in a folder swapped in whole)."""
    if in_building:
        write_in_building(path, _package(parts))
    else:
        with atomic_path(path) as tmp:
            tmp.write_bytes(_package(parts))


class DirectSheet:
    """One sheet of a `DirectBook`, filled as a StreamingBook sheet would be: `write` is
    `write_cell` (typed; None and NaN write nothing), `blank` is xlsxwriter's `write_blank`
    with a format, `set_row` a height in points. Formats are named: `FORMATS`' or the
    book's own."""

    def __init__(self, book: DirectBook, laid: _Laid) -> None:
        self._book, self._laid = book, laid

    def write(self, row: int, col: int, value: object, fmt: str | None = None) -> None:
        if type(value) is str:  # most cells: `_cell`'s text case without its type tests
            self._laid.string_cells += 1
            strings = self._book.strings
            self._laid.rows.setdefault(row, []).append(
                (col, "s", strings.setdefault(_text(value), len(strings)), fmt))
            return
        cell = _cell(value, fmt)
        if cell is None:
            return
        kind, payload, fmt = cell
        if kind == "s":
            self._laid.string_cells += 1
            strings = self._book.strings
            payload = strings.setdefault(payload, len(strings))
        self._laid.rows.setdefault(row, []).append((col, kind, payload, fmt))

    def blank(self, row: int, col: int, fmt: str) -> None:
        self._laid.rows.setdefault(row, []).append((col, "blank", None, fmt))

    def set_row(self, row: int, points: float) -> None:
        self._laid.heights[row] = points


class DirectBook:
    """A workbook of sheets filled cell by cell, written directly: byte for byte the
    StreamingBook(small=True) whose sheets get the same cells, heights and settings in the
    same order (each layout that uses it is compared with its StreamingBook twin by the
    tests). `formats`: the book's own formats besides `FORMATS`, by name. A value this
    writer does not reproduce raises `NotDirect` (write that book through StreamingBook)."""

    def __init__(self, formats: dict[str, dict] | None = None) -> None:
        self.strings: dict[str, int] = {}
        self._sheets: list[_Laid] = []
        self._formats = tuple((name, tuple(props.items()))
                              for name, props in (formats or {}).items())

    def add_sheet(self, name: str, widths: Sequence[int] = (), *,
                  frozen: tuple[int, int] | None = None,
                  filter_range: tuple[int, int, int, int] | None = None,
                  title_row: int | None = None, protection: str = "", validations: str = "",
                  gridlines: bool = False, very_hidden: bool = False) -> DirectSheet:
        """A sheet; its settings as xlsxwriter writes them (`protection`, `validations`:
        the elements' XML)."""
        if not _PLAIN_SHEET_NAME.fullmatch(name):
            raise NotDirect
        laid = _Laid(name, {}, {}, 0, list(widths), frozen, filter_range, title_row,
                     protection, validations, gridlines, very_hidden)
        self._sheets.append(laid)
        return DirectSheet(self, laid)

    def write(self, path: Path, as_of: dt.date, title: str, phi: bool = False,
              in_building: bool = False) -> None:
        """The package, atomically (`in_building`: in place, in a folder swapped in
        whole)."""
        used: list[str] = []  # formats in the order of their first cell, as xlsxwriter
        for laid in self._sheets:  # numbers them: sheet by sheet, row by row
            for r in sorted(laid.rows):
                laid.rows[r].sort(key=lambda c: c[0])
                for _, _, _, fmt in laid.rows[r]:
                    if fmt is not None and fmt not in used:
                        used.append(fmt)
        _save(path, _book_parts(as_of, title, phi, self._sheets, self.strings, used,
                                self._formats), in_building)


# --- the package: a zip as Python's zipfile writes xlsxwriter's ----------------------------
# Local header, deflated data, central directory, end record: the same bytes as
# `ZipFile.writestr(ZipInfo(name, ZIP_DATE))` with ZIP_DEFLATED (compared by the tests).
# Parts that are the same in every book (theme, styles, relationships) are deflated once.

_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_DOS_DATE = (ZIP_DATE[0] - 1980) << 9 | ZIP_DATE[1] << 5 | ZIP_DATE[2]
_VERSION = 20  # zipfile's default "version needed" for a deflated entry
_UNIX = 3
_PERMISSIONS = 0o600 << 16  # what zipfile gives an entry without attributes
_SHARED_PARTS = ("[Content_Types].xml", "_rels/.rels", "xl/_rels/workbook.xml.rels",
                 "xl/styles.xml", "xl/theme/theme1.xml")


def _deflate(data: bytes) -> tuple[int, bytes]:
    packer = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    return zlib.crc32(data), packer.compress(data) + packer.flush()


_deflate_shared = functools.lru_cache(maxsize=256)(_deflate)


def _package(parts: Sequence[tuple[str, str]]) -> bytes:
    out, central, offset = [], [], 0
    for name, text in parts:
        data = text.encode("utf-8")
        crc, packed = (_deflate_shared if name in _SHARED_PARTS else _deflate)(data)
        encoded = name.encode("ascii")
        local = _LOCAL.pack(b"PK\x03\x04", _VERSION, 0, 0, ZIP_DEFLATED, 0, _DOS_DATE, crc,
                            len(packed), len(data), len(encoded), 0)
        central.append(_CENTRAL.pack(b"PK\x01\x02", _VERSION, _UNIX, _VERSION, 0, 0,
                                     ZIP_DEFLATED, 0, _DOS_DATE, crc, len(packed), len(data),
                                     len(encoded), 0, 0, 0, 0, _PERMISSIONS, offset) + encoded)
        out += [local, encoded, packed]
        offset += len(local) + len(encoded) + len(packed)
    directory = b"".join(central)
    end = _END.pack(b"PK\x05\x06", 0, 0, len(central), len(central), len(directory), offset,
                    0)
    return b"".join(out) + directory + end


# --- cells -----------------------------------------------------------------------------------

def _cell(value: object, fmt: str | None) -> tuple[str, object, str | None] | None:
    """(type, payload, format name) of one cell as `write_cell` writes it; None: no cell.
    Types: "s" text, "n" number, "b" boolean. A date takes its date format when it has no
    format or a top-aligned one (`_dated`), else keeps its own."""
    if value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            raise NotDirect
        return "n", value, fmt
    if isinstance(value, str):
        return "s", _text(value), fmt
    if isinstance(value, bool):
        return "b", int(value), fmt
    if isinstance(value, int):
        return "n", value, fmt
    if isinstance(value, dt.datetime):
        return ("n", _datetime_to_excel_datetime(value.replace(tzinfo=None), False, False),
                _dated_name(fmt, "datetime"))
    if isinstance(value, dt.date):
        return ("n", _datetime_to_excel_datetime(dt.datetime.combine(value, dt.time(0)),
                                                False, False), _dated_name(fmt, "date"))
    raise NotDirect  # Decimal, NaT, other objects: as StreamingBook writes them


def _dated_name(fmt: str | None, kind: str) -> str:
    """`_dated` by name: a date cell's format is the one given, unless none or a plain
    top-aligned one is (then `kind`'s, top-aligned for a top-aligned cell)."""
    if fmt is None:
        return kind
    return f"{kind} top" if fmt == "top" else fmt


def _text(text: str) -> str:
    if len(text) > MAX_TEXT or (text.startswith("<r>") and text.endswith("</r>")):
        raise NotDirect
    return text


# --- the parts -------------------------------------------------------------------------------

def _parts(as_of: dt.date, title: str, tables: Sequence[Table], phi: bool
           ) -> list[tuple[str, str]]:
    if len({t.name.lower() for t in tables}) < len(tables):
        raise NotDirect
    strings: dict[str, int] = {}
    used: list[str] = []  # format names, in the order of their first cell
    laid_out = [_lay_out(t, strings, used) for t in tables]
    return _book_parts(as_of, title, phi, laid_out, strings, used)


def _book_parts(as_of: dt.date, title: str, phi: bool, laid_out: Sequence[_Laid],
                strings: dict[str, int], used: list[str],
                formats: tuple[tuple[str, tuple], ...] = ()) -> list[tuple[str, str]]:
    """Every part of the package: `used`, the format names in order of first use;
    `formats`, the book's own besides `FORMATS`."""
    # (page_header keeps within Excel's 255 characters; xlsxwriter escapes an & its way)
    if "&" in title or not laid_out or len(laid_out) > 9:
        raise NotDirect
    header, footer = page_header(title, as_of), page_footer(phi)
    styles, theme, index = _rendered_styles(tuple(used), formats)
    sheets = [_sheet_xml(i, t, index, header, footer) for i, t in enumerate(laid_out)]
    n = len(laid_out)
    return [("[Content_Types].xml", _content_types(n)),
            ("_rels/.rels", _root_rels()),
            ("xl/_rels/workbook.xml.rels", _workbook_rels(n)),
            *((f"xl/worksheets/sheet{i + 1}.xml", s) for i, s in enumerate(sheets)),
            ("xl/workbook.xml", _workbook_xml(laid_out)),
            ("xl/sharedStrings.xml", _shared_strings(strings, laid_out)),
            ("xl/styles.xml", styles),
            ("xl/theme/theme1.xml", theme),
            ("docProps/core.xml", _core_xml(title, as_of)),
            ("docProps/app.xml", _app_xml(laid_out))]


@dataclass
class _Laid:
    """One worksheet as xlsxwriter writes it: its cells by row (each row's in column order),
    row heights, column widths, and the sheet's settings."""
    name: str
    rows: dict[int, list[tuple[int, str, object, str | None]]]  # row -> cells
    heights: dict[int, float]  # row -> points
    string_cells: int
    widths: list[int]  # characters; [] when none were set
    frozen: tuple[int, int] | None = None  # rows, columns
    filter_range: tuple[int, int, int, int] | None = None  # first row, col, last row, col
    title_row: int | None = None  # repeated atop every printed page
    protection: str = ""  # the <sheetProtection/> element
    validations: str = ""  # the <dataValidations> element
    gridlines: bool = True  # printed
    very_hidden: bool = False


def _lay_out(t: Table, strings: dict[str, int], used: list[str]) -> _Laid:
    """The cells StreamingBook.table writes, in its order (shared strings and formats are
    numbered by first use)."""
    top = 2 if t.title else 0
    if not _PLAIN_SHEET_NAME.fullmatch(t.name) or len(t.rows) > EXCEL_MAX_ROWS - 1 - top:
        raise NotDirect  # (StreamingBook continues a longer table on another sheet)
    header = [_text(h) for h in t.header]
    rows = list(t.rows)
    widths, wrapped = table_layout(header, rows[:WIDTH_SAMPLE_ROWS])
    column_fmt = ["wrap cell" if j in wrapped else None for j in range(len(header))]
    cells: dict[int, list] = {}
    heights: dict[int, float] = {}
    count = 0

    def put(row: int, col: int, cell: tuple | None) -> None:
        nonlocal count
        if cell is None:
            return
        kind, payload, fmt = cell
        if kind == "s":
            count += 1
            payload = strings.setdefault(payload, len(strings))
        if fmt is not None and fmt not in used:
            used.append(fmt)
        cells.setdefault(row, []).append((col, kind, payload, fmt))

    if t.title:
        put(0, 0, ("s", _text(t.title), "bold"))
    if (points := header_height(header, widths)) is not None:
        heights[top] = points
    for j, h in enumerate(header):
        put(top, j, ("s", h, "header"))
    ncols = len(header)
    for n, row in enumerate(rows, start=1):
        if wrapped and n <= FITTED_ROWS and \
                (points := row_height(row, widths, wrapped)) is not None:
            heights[top + n] = points
        if len(row) > ncols:
            raise NotDirect  # StreamingBook refuses it
        line = []
        for j, value in enumerate(row):
            # text, most cells, inline (a million cells for the distribution list): the
            # same as put(…, _cell(value, fmt))
            if type(value) is str:
                if len(value) > MAX_TEXT or (value.startswith("<r>")
                                             and value.endswith("</r>")):
                    raise NotDirect
                count += 1
                fmt = column_fmt[j]
                if fmt is not None and fmt not in used:
                    used.append(fmt)
                line.append((j, "s", strings.setdefault(value, len(strings)), fmt))
            elif (cell := _cell(value, column_fmt[j])) is not None:
                kind, payload, fmt = cell
                if fmt is not None and fmt not in used:
                    used.append(fmt)
                line.append((j, kind, payload, fmt))
        if line:  # in column order, as the title's and the header's
            cells[top + n] = line
    return _Laid(t.name, cells, heights, count, widths, frozen=(top + 1, 0),
                 filter_range=(top, 0, top + max(len(rows), 1), len(header) - 1),
                 title_row=top)


def _ref(row: int, col: int) -> str:
    return f"{xl_col_to_name(col)}{row + 1}"


def _pane(rows: int, cols: int) -> str:
    """The frozen pane and selections xlsxwriter writes for `freeze_panes(rows, cols)`."""
    corner = _ref(rows, cols)
    if not cols:
        return (f'<pane ySplit="{rows}" topLeftCell="{corner}" activePane="bottomLeft" '
                'state="frozen"/><selection pane="bottomLeft"/>')
    if not rows:
        return (f'<pane xSplit="{cols}" topLeftCell="{corner}" activePane="topRight" '
                'state="frozen"/><selection pane="topRight"/>')
    right, below = _ref(0, cols), _ref(rows, 0)
    return (f'<pane xSplit="{cols}" ySplit="{rows}" topLeftCell="{corner}" '
            'activePane="bottomRight" state="frozen"/><selection pane="topRight" '
            f'activeCell="{right}" sqref="{right}"/><selection pane="bottomLeft" '
            f'activeCell="{below}" sqref="{below}"/><selection pane="bottomRight"/>')


def _range(first_row: int, first_col: int, last_row: int, last_col: int) -> str:
    first, last = _ref(first_row, first_col), _ref(last_row, last_col)
    return first if first == last else f"{first}:{last}"


def _sheet_xml(i: int, t: _Laid, index: dict[str, int], header: str, footer: str) -> str:
    rows = sorted(t.rows)
    cols = [c for r in t.rows.values() for c, *_ in r]
    lo_r, hi_r, lo_c, hi_c = rows[0], rows[-1], min(cols), max(cols)
    blocks: dict[int, tuple[int, int]] = {}  # rows of 16 -> their first and last column
    for r in rows:
        first, last = t.rows[r][0][0], t.rows[r][-1][0]  # (cells sorted by column)
        have = blocks.get(r // 16)
        blocks[r // 16] = (first, last) if have is None else \
            (min(have[0], first), max(have[1], last))
    spans = {b: f"{lo + 1}:{hi + 1}" for b, (lo, hi) in blocks.items()}
    letters = [xl_col_to_name(j) for j in range(hi_c + 1)]
    styles = {None: "", **{fmt: f' s="{i}"' for fmt, i in index.items()}}
    view = f"<sheetView {SELECTED if i == 0 else ''}workbookViewId=\"0\""
    view += f">{_pane(*t.frozen)}</sheetView>" if t.frozen else "/>"
    out = [DECLARATION, f'<worksheet xmlns="{MAIN}" xmlns:r="{RELS}"><sheetPr>'
           f'<pageSetUpPr fitToPage="1"/></sheetPr><dimension '
           f'ref="{_range(lo_r, lo_c, hi_r, hi_c)}"/><sheetViews>{view}</sheetViews>'
           '<sheetFormatPr defaultRowHeight="15"/>']
    if t.widths:
        out.append("<cols>")
    j = 0
    while j < len(t.widths):  # equal neighbours share one <col>, as xlsxwriter writes them
        k = j
        while k + 1 < len(t.widths) and t.widths[k + 1] == t.widths[j]:
            k += 1
        out.append(f'<col min="{j + 1}" max="{k + 1}" width="{_char_width(t.widths[j])}" '
                   'customWidth="1"/>')
        j = k + 1
    out.append("</cols><sheetData>" if t.widths else "<sheetData>")
    for r in range(lo_r, hi_r + 1):
        cells = t.rows.get(r)
        if cells is None and r not in t.heights:
            continue
        attrs = f'r="{r + 1}"'
        if r // 16 in spans:
            attrs += f' spans="{spans[r // 16]}"'
        if r in t.heights:
            attrs += height_attributes(t.heights[r])
        if cells is None:
            out.append(f"<row {attrs}/>")
            continue
        out.append(f"<row {attrs}>")
        number = r + 1
        for col, kind, payload, fmt in cells:
            if kind == "s":
                out.append(f'<c r="{letters[col]}{number}"{styles[fmt]} t="s"><v>{payload}'
                           '</v></c>')
            elif kind == "b":
                out.append(f'<c r="{letters[col]}{number}"{styles[fmt]} t="b"><v>{payload}'
                           '</v></c>')
            elif kind == "blank":
                out.append(f'<c r="{letters[col]}{number}"{styles[fmt]}/>')
            else:
                out.append(f'<c r="{letters[col]}{number}"{styles[fmt]}><v>{payload:.16G}'
                           '</v></c>')
        out.append("</row>")
    out.append(f"</sheetData>{t.protection}")
    if t.filter_range:
        out.append(f'<autoFilter ref="{_range(*t.filter_range)}"/>')
    out.append(t.validations)
    if t.gridlines:
        out.append('<printOptions gridLines="1"/>')
    out.append('<pageMargins left="0.4" right="0.4" top="0.75" bottom="0.75" header="0.3" '
               'footer="0.3"/><pageSetup paperSize="1" fitToHeight="0" orientation='
               f'"{"landscape" if landscape(t.widths) else "portrait"}"/><headerFooter>'
               f"<oddHeader>{_data(header)}</oddHeader><oddFooter>{_data(footer)}"
               "</oddFooter></headerFooter></worksheet>")
    return "".join(out)


def _char_width(width: int) -> str:
    """xlsxwriter's stored width for a column `width` characters wide (via pixels)."""
    pixels = int(width * 7 + 0.5) + 5
    return f"{(pixels * 256 // 7) / 256.0:.16g}"


def _data(text: str) -> str:
    return _XML._escape_control_characters(_XML._escape_data(text))


def _attr(text: str) -> str:
    return _XML._escape_attributes(text)


def _shared_strings(strings: dict[str, int], laid: Sequence[_Laid]) -> str:
    out = [DECLARATION, f'<sst xmlns="{MAIN}" count="{sum(t.string_cells for t in laid)}" '
           f'uniqueCount="{len(strings)}">']
    for s in strings:  # in order of first use
        out.append(f"<si>{text_element(s)}</si>")
    out.append("</sst>")
    return "".join(out)


def _defined_names(laid: Sequence[_Laid]) -> list[tuple[str, int, str, str]]:
    """(name, sheet index, range, sort key) in xlsxwriter's (and Excel's) order."""
    names = []
    for i, t in enumerate(laid):
        quoted = quote_sheetname(t.name)  # 'Mid9': a name that reads as a reference
        key = quoted.lstrip("'").lower()
        if t.filter_range:
            r1, c1, r2, c2 = t.filter_range
            names.append(("_xlnm._FilterDatabase", i,
                          f"{quoted}!${xl_col_to_name(c1)}${r1 + 1}:${xl_col_to_name(c2)}"
                          f"${r2 + 1}", f"filterdatabase::{key}"))
        if t.title_row is not None:
            names.append(("_xlnm.Print_Titles", i,
                          f"{quoted}!${t.title_row + 1}:${t.title_row + 1}",
                          f"print_titles::{key}"))
    return sorted(names, key=lambda n: n[3])


def _workbook_xml(laid: Sequence[_Laid]) -> str:
    sheets = "".join(f'<sheet name="{_attr(t.name)}" sheetId="{i + 1}"'
                     f'{VERY_HIDDEN if t.very_hidden else ""} r:id="rId{i + 1}"/>'
                     for i, t in enumerate(laid))
    names = "".join(
        f'<definedName name="{name}" localSheetId="{i}"'
        f"{HIDDEN if 'Filter' in name else ''}>{ref}</definedName>"
        for name, i, ref, _ in _defined_names(laid))
    return (f'{DECLARATION}<workbook xmlns="{MAIN}" xmlns:r="{RELS}"><fileVersion '
            'appName="xl" lastEdited="4" lowestEdited="4" rupBuild="4505"/><workbookPr '
            'defaultThemeVersion="124226"/><bookViews><workbookView xWindow="240" '
            'yWindow="15" windowWidth="16095" windowHeight="9660"/></bookViews>'
            f"<sheets>{sheets}</sheets>"
            + (f"<definedNames>{names}</definedNames>" if names else "")
            + '<calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>')


def _app_xml(laid: Sequence[_Laid]) -> str:
    shown = [t.name for t in laid if not t.very_hidden]
    printed = [ref.split("!")[0] + "!Print_Titles" for name, _, ref, _ in _defined_names(laid)
               if name == "_xlnm.Print_Titles"]
    titles = shown + printed
    parts = "".join(f"<vt:lpstr>{_data(x)}</vt:lpstr>" for x in titles)
    pairs = (f"<vt:variant><vt:lpstr>Worksheets</vt:lpstr></vt:variant><vt:variant><vt:i4>"
             f"{len(shown)}</vt:i4></vt:variant>")
    if printed:
        pairs += ("<vt:variant><vt:lpstr>Named Ranges</vt:lpstr></vt:variant><vt:variant>"
                  f"<vt:i4>{len(printed)}</vt:i4></vt:variant>")
    return (f'{DECLARATION}<Properties xmlns="http://schemas.openxmlformats.org/'
            'officeDocument/2006/extended-properties" xmlns:vt="http://schemas.'
            'openxmlformats.org/officeDocument/2006/docPropsVTypes"><Application>Microsoft '
            'Excel</Application><DocSecurity>0</DocSecurity><ScaleCrop>false</ScaleCrop>'
            f'<HeadingPairs><vt:vector size="{2 if not printed else 4}" baseType="variant">'
            f"{pairs}</vt:vector>"
            f'</HeadingPairs><TitlesOfParts><vt:vector size="{len(titles)}" '
            f'baseType="lpstr">{parts}</vt:vector></TitlesOfParts><Company></Company>'
            "<LinksUpToDate>false</LinksUpToDate><SharedDoc>false</SharedDoc>"
            "<HyperlinksChanged>false</HyperlinksChanged><AppVersion>12.0000</AppVersion>"
            "</Properties>")


def _core_xml(title: str, as_of: dt.date) -> str:
    stamp = f"{as_of.isoformat()}T00:00:00Z"
    return (f'{DECLARATION}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/'
            'package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/'
            '1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.'
            'org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<dc:title>{_data(title)}</dc:title><dc:creator>ccreview</dc:creator>"
            "<cp:lastModifiedBy>ccreview</cp:lastModifiedBy><dcterms:created "
            f'xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created><dcterms:modified '
            f'xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified></cp:coreProperties>')


_TYPES = "application/vnd.openxmlformats-officedocument"


def _content_types(n: int) -> str:
    sheets = "".join(f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" ContentType='
                     f'"{_TYPES}.spreadsheetml.worksheet+xml"/>' for i in range(n))
    return (f'{DECLARATION}<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.'
            'openxmlformats-package.relationships+xml"/><Default Extension="xml" '
            'ContentType="application/xml"/><Override PartName="/docProps/app.xml" '
            f'ContentType="{_TYPES}.extended-properties+xml"/><Override PartName='
            '"/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.'
            'core-properties+xml"/><Override PartName="/xl/styles.xml" ContentType='
            f'"{_TYPES}.spreadsheetml.styles+xml"/><Override PartName="/xl/theme/'
            f'theme1.xml" ContentType="{_TYPES}.theme+xml"/><Override PartName='
            f'"/xl/workbook.xml" ContentType="{_TYPES}.spreadsheetml.sheet.main+xml"/>'
            f'{sheets}<Override PartName="/xl/sharedStrings.xml" ContentType="{_TYPES}.'
            'spreadsheetml.sharedStrings+xml"/></Types>')


def _root_rels() -> str:
    return (f'{DECLARATION}<Relationships xmlns="{PACKAGE_RELS}"><Relationship Id="rId1" '
            f'Type="{RELS}/officeDocument" Target="xl/workbook.xml"/><Relationship '
            f'Id="rId2" Type="{PACKAGE_RELS}/metadata/core-properties" '
            'Target="docProps/core.xml"/><Relationship Id="rId3" '
            f'Type="{RELS}/extended-properties" Target="docProps/app.xml"/>'
            "</Relationships>")


def _workbook_rels(n: int) -> str:
    rels = [(f"{RELS}/worksheet", f"worksheets/sheet{i + 1}.xml") for i in range(n)]
    rels += [(f"{RELS}/theme", "theme/theme1.xml"), (f"{RELS}/styles", "styles.xml"),
             (f"{RELS}/sharedStrings", "sharedStrings.xml")]
    return (f'{DECLARATION}<Relationships xmlns="{PACKAGE_RELS}">'
            + "".join(f'<Relationship Id="rId{i + 1}" Type="{kind}" Target="{target}"/>'
                      for i, (kind, target) in enumerate(rels))
            + "</Relationships>")


# --- the style sheet, from xlsxwriter --------------------------------------------------------

@functools.lru_cache(maxsize=64)
def _rendered_styles(used: tuple[str, ...], extra: tuple[tuple[str, tuple], ...] = ()
                     ) -> tuple[str, str, dict[str, int]]:
    """xlsxwriter's style sheet and theme for a book whose cells use the formats `used`,
    first used in that order, and each format's index in it. `extra`: formats of the book's
    own besides `FORMATS` ((name, properties as items))."""
    import xlsxwriter

    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(buffer, {"in_memory": True})
    formats = add_formats(wb)
    formats.update({name: wb.add_format(dict(props)) for name, props in extra})
    ws = wb.add_worksheet()
    for row, name in enumerate(used):
        ws.write_string(row, 0, "x", formats[name])
    wb.close()
    with ZipFile(buffer) as package:
        styles = package.read("xl/styles.xml").decode("utf-8")
        theme = package.read("xl/theme/theme1.xml").decode("utf-8")
    return styles, theme, {name: formats[name].xf_index for name in used}

