"""Writing xlsx: `StreamingBook` (xlsxwriter) for every report workbook — typed, inert
cells, styled tables, sheets continued past the row limit, deterministic bytes — and
`save_workbook`, a deterministic save for the openpyxl workbooks the generator writes."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
import numbers
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from ccreview.core.attestation import EXCEL_MAX_CHARS
from ccreview.reports.files import atomic_path

if TYPE_CHECKING:  # openpyxl only for the generator's workbooks: not on every import
    from types import TracebackType

    from openpyxl import Workbook
    from xlsxwriter.chart import Chart
    from xlsxwriter.format import Format
    from xlsxwriter.workbook import Workbook as XlsxWorkbook
    from xlsxwriter.worksheet import Worksheet

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
MAX_WIDTH = 40  # characters, on a free-form sheet; longer text wraps
TABLE_MAX_WIDTH = 24  # a table's column: most tables print a dozen columns or more


class _DatedZip(ZipFile):
    """A zip whose entries carry a given date instead of the clock's (or a file's mtime)."""

    def __init__(self, *args, date_time: tuple[int, ...], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._date_time = date_time

    def writestr(self, zinfo_or_arcname: str | ZipInfo, data: str | bytes,
                 compress_type: int | None = None, compresslevel: int | None = None
                 ) -> None:
        if isinstance(zinfo_or_arcname, str):
            zinfo_or_arcname = ZipInfo(zinfo_or_arcname, date_time=self._date_time)
            zinfo_or_arcname.compress_type = self.compression
        return super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(self, filename: str | Path, arcname: str | None = None,
              compress_type: int | None = None, compresslevel: int | None = None) -> None:
        with open(filename, "rb") as fh:  # openpyxl writes each sheet to a temporary file
            self.writestr(arcname or Path(filename).name, fh.read(), compress_type,
                          compresslevel)


def save_workbook(wb: Workbook, path: Path, as_of: dt.date) -> None:
    """Save atomically, dated by the as-of date (document properties and zip entries, not
    the clock), so the same inputs give the same workbook, byte for byte."""
    from openpyxl.writer.excel import ExcelWriter

    stamp = dt.datetime.combine(as_of, dt.time(0))
    wb.properties.created = stamp
    wb.properties.modified = stamp
    wb.properties.creator = "ccreview"
    with atomic_path(path) as tmp, _DatedZip(tmp, "w", ZIP_DEFLATED, allowZip64=True,
                                             date_time=stamp.timetuple()[:6]) as archive:
        ExcelWriter(wb, archive).save()


# --- streaming workbooks -------------------------------------------------------------------
# Measured on this machine, 300,000 rows x 11 typed cells: xlsxwriter (constant memory) 14 s,
# openpyxl write-only 34 s with typed cells (23 s untyped), both ~160 MB peak. Every report
# workbook is therefore written with xlsxwriter. It gives byte-identical files for the same
# inputs (fixed zip dates; document dates from the as-of).

EXCEL_MAX_ROWS = 1_048_576

SEVERITY_COLOURS = {"high": "#F8CBAD", "medium": "#FFE699", "low": "#DDEBF7"}
WIDTH_SAMPLE_ROWS = 1000
# Printing (Letter, 0.4" side margins, Calibri 11): about 105 characters of column width fit
# a portrait page at 100%, about 140 a landscape one. A sheet wider than PORTRAIT_CHARS is
# printed landscape; every sheet is scaled to one page wide, as many pages tall as needed.
PORTRAIT_CHARS = 100
PAPER_LETTER = 1
LINE_POINTS = 15  # one line of 11-point text
# Rows made tall enough for their wrapped text: the first FITTED_ROWS of a table. Past
# them a sheet is for the screen and its filters, not for paper, and a height on every
# row costs about 3 s per 100,000 rows (measured); there a wrapped cell shows its first
# line until the row is widened in the app.
FITTED_ROWS = 10_000


# The cell formats every report workbook has, by name (xlsxwriter's format properties).
FORMATS: dict[str, dict] = {
    "header": {"bold": True, "font_color": "#FFFFFF", "bg_color": "#1F4E78",
               "text_wrap": True, "valign": "vcenter"},
    "bold": {"bold": True},
    "title": {"bold": True, "font_size": 14},
    "heading": {"bold": True, "font_size": 12},
    "bold wrap": {"bold": True, "text_wrap": True, "valign": "bottom"},
    # streaming tables: Excel's default bottom alignment (a format on every cell of a large
    # sheet costs a third more writing time, measured on 100,000 rows)
    "date": {"num_format": DATE_FORMAT},
    "datetime": {"num_format": DATETIME_FORMAT},
    "wrap cell": {"text_wrap": True},
    **{f"severity:{k}": {"bg_color": v} for k, v in SEVERITY_COLOURS.items()},
    # free-form sheets (a few hundred cells): everything at the top of its row
    "wrap": {"text_wrap": True, "valign": "top"},
    "left": {"align": "left", "valign": "top"},
    "left date": {"align": "left", "valign": "top", "num_format": DATE_FORMAT},
    "top": {"valign": "top"},
    "date top": {"num_format": DATE_FORMAT, "valign": "top"},
    "datetime top": {"num_format": DATETIME_FORMAT, "valign": "top"},
    "number": {"align": "center", "valign": "top"},
    **{f"severity top:{k}": {"bg_color": v, "valign": "top"}
       for k, v in SEVERITY_COLOURS.items()},
}


def add_formats(wb: XlsxWorkbook) -> dict[str, Format]:
    """Every format of `FORMATS` added to the xlsxwriter workbook `wb`, by name."""
    return {name: wb.add_format(props) for name, props in FORMATS.items()}


def _header_text(text: str) -> str:
    """Text for an Excel header/footer section: `&` is its control character, written
    `&&`. xlsxwriter reads `&G` and `&[Picture]` as image placeholders anywhere in the
    string (`Smith&&Gray` too) and then drops the whole header, warning with its text: a
    zero-width space keeps an escaped `&` from reading as one (it prints nothing)."""
    return text.replace("&", "&&").replace("&G", "&\u200bG").replace("&[", "&\u200b[")


HEADER_LIMIT = 255  # Excel's limit for a page header, in UTF-16 units


def page_header(title: str, as_of: dt.date) -> str:
    """Every printed page's header: the report, the sheet, the as-of date; a title too long
    for Excel's limit is shortened (xlsxwriter would drop the whole header)."""
    while True:
        header = f"&L{_header_text(title)}&C&A&RAs of {as_of.isoformat()}"
        if len(header.encode("utf-16-le")) // 2 <= HEADER_LIMIT:
            return header
        title = title[:-8].rstrip() + "…"


def page_footer(phi: bool) -> str:
    """Every printed page's footer: confidential (holding PHI), page X of Y."""
    mark = "Confidential: contains PHI" if phi else "Confidential"
    return f"&L{mark}&RPage &P of &N"


def landscape(widths: Sequence[float]) -> bool:
    """Whether a sheet with these column widths prints landscape."""
    return sum(widths) > PORTRAIT_CHARS


class StreamingBook:
    """An xlsx workbook written row by row in constant memory (xlsxwriter), atomically, and
    dated by the as-of date. Every string is written as a string: input text never becomes
    a formula, a number or a link.

    Every sheet is print-ready when the book closes: a header with the report's name, the
    sheet and the as-of date; a footer marking it confidential (and holding PHI, for
    `phi`) with page X of Y; Letter paper, portrait or landscape by the sheet's width,
    scaled to one page wide; tables repeat their header row on every page.

    Use as a context manager; the file appears under its name only when the block succeeds.
    """

    def __init__(self, path: Path, as_of: dt.date, title: str, phi: bool = False,
                 max_rows: int = EXCEL_MAX_ROWS, small: bool = False) -> None:
        """`title`: the report's name, printed atop every page. `small`: a workbook of a
        few hundred rows, built in memory — twice as fast as the constant-memory mode's
        temporary files when there are thousands of them (measured: 4 vs 8 ms per
        attestation workbook)."""
        self.path, self.as_of, self.max_rows, self.small = path, as_of, max_rows, small
        self.title, self.phi = title, phi
        self._atomic = atomic_path(path)
        self._widths: dict[str, list[float]] = {}
        self._freeform: list[FreeformSheet] = []

    def __enter__(self) -> StreamingBook:
        import xlsxwriter

        tmp = self._atomic.__enter__()
        self.wb = xlsxwriter.Workbook(str(tmp), {
            "constant_memory": not self.small, "in_memory": self.small,
            "strings_to_formulas": False, "strings_to_numbers": False,
            "strings_to_urls": False, "tmpdir": str(self.path.parent)})
        stamp = dt.datetime.combine(self.as_of, dt.time(0))
        self.wb.set_properties({"created": stamp, "author": "ccreview", "title": self.title})
        self.fmt = add_formats(self.wb)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool | None:
        if exc_type is None:
            for sheet in self._freeform:
                sheet.flush()
            for ws in self.wb.worksheets():
                self._print_setup(ws)
            self.wb.close()
        return self._atomic.__exit__(exc_type, exc, tb)

    def set_widths(self, ws: Worksheet, widths: Sequence[float]) -> None:
        """Column widths (characters); remembered for the sheet's page orientation."""
        for j, w in enumerate(widths):
            ws.set_column(j, j, w)
        self._widths[ws.name] = list(widths)

    def widths_of(self, sheet: str) -> list[float]:
        """The column widths set on `sheet` (characters)."""
        return list(self._widths.get(sheet, []))

    def _print_setup(self, ws: Worksheet) -> None:
        ws.set_header(page_header(self.title, self.as_of))
        ws.set_footer(page_footer(self.phi))
        ws.set_paper(PAPER_LETTER)
        ws.set_margins(left=0.4, right=0.4, top=0.75, bottom=0.75)
        if landscape(self._widths.get(ws.name, [])):
            ws.set_landscape()
        else:
            ws.set_portrait()
        ws.fit_to_pages(1, 0)

    def write(self, ws: Worksheet, row: int, col: int, value: object,
              fmt: Format | None = None) -> None:
        write_cell(ws, row, col, value, fmt, self.fmt)

    def header_row(self, ws: Worksheet, row: int, header: Sequence[str], widths: Sequence[float]
                   ) -> None:
        """A table's header, wrapped, its row as tall as its longest wrapped header (apps
        do not grow a row for wrapped text on their own)."""
        if (points := header_height(header, widths)) is not None:
            ws.set_row(row, points)
        for j, h in enumerate(header):
            write_text(ws, row, j, h, self.fmt["header"])

    def table(self, name: str, header: Sequence[str], rows: Iterable[Sequence[object]],
              severity_column: str | None = None, title: str | None = None,
              caps: dict[str, int] | None = None) -> list[str]:
        """A header and data rows, continued on "<name> (2)", … past Excel's row limit:
        frozen header, autofilter, widths fitted to the content (`caps`: a narrower
        limit for some columns, by header), text longer than its column wrapped, the
        header repeated on every printed page; `title` goes above the header, with a blank
        row between. Returns the sheet names written."""
        it = iter(rows)
        head = list(itertools.islice(it, WIDTH_SAMPLE_ROWS))
        widths, wrapped = table_layout(header, head, caps)
        column_fmt = [self.fmt["wrap cell"] if j in wrapped else None
                      for j in range(len(header))]
        sev = header.index(severity_column) if severity_column in header else None
        top = 2 if title else 0  # the header's row
        per_sheet = self.max_rows - 1 - top
        pending = itertools.chain(head, it)
        names: list[str] = []
        while True:
            sheet_name = name if not names else f"{name[:25]} ({len(names) + 1})"
            ws = self.wb.add_worksheet(sheet_name)
            names.append(sheet_name)
            if title:
                write_text(ws, 0, 0, title, self.fmt["bold"])
            self.header_row(ws, top, header, widths)
            n = self._rows(ws, top, itertools.islice(pending, per_sheet), widths, wrapped,
                           column_fmt, sev)
            self.set_widths(ws, widths)
            ws.freeze_panes(top + 1, 0)
            ws.autofilter(top, 0, top + max(n, 1), len(header) - 1)
            ws.repeat_rows(top)
            ws.hide_gridlines(0)  # gridlines on screen and on paper
            if n < per_sheet:
                return names
            peek = next(pending, _END)
            if peek is _END:
                return names
            pending = itertools.chain([peek], pending)

    def _rows(self, ws: Worksheet, top: int, rows: Iterable[Sequence[object]],
              widths: Sequence[float], wrapped: Sequence[int],
              column_fmt: Sequence[object], sev: int | None) -> int:
        """A table's data rows below its header at `top`; returns how many were written.
        In constant memory as text (`_inline_rows`); an in-memory book keeps every cell
        until it closes anyway."""
        if not self.small:
            return _inline_rows(ws, self.fmt, top, rows, widths, wrapped, column_fmt, sev)
        return self._cell_rows(ws, top, rows, widths, wrapped, column_fmt, sev)

    def _cell_rows(self, ws: Worksheet, top: int, rows: Iterable[Sequence[object]],
                   widths: Sequence[float], wrapped: Sequence[int],
                   column_fmt: Sequence[object], sev: int | None) -> int:
        """`_rows` through xlsxwriter's cell calls."""
        n = 0
        for n, row in enumerate(rows, start=1):
            _row_by_cells(ws, self.fmt, top + n, n <= FITTED_ROWS, row, widths, wrapped,
                          column_fmt, sev)
        return n


def _row_by_cells(ws: Worksheet, formats: dict[str, Format], r: int, fitted: bool,
                  row: Sequence[object], widths: Sequence[float], wrapped: Sequence[int],
                  column_fmt: Sequence[object], sev: int | None) -> None:
    """One table row at `r` through xlsxwriter's cell calls, made as tall as its wrapped
    text when `fitted`; the severity column takes its value's colour."""
    if wrapped and fitted:
        fit_row(ws, r, row, widths, wrapped)
    for j, value in enumerate(row):
        fmt = formats.get(f"severity:{value}") if j == sev else column_fmt[j]
        write_cell(ws, r, j, value, fmt, formats)


_END = object()


# A table's rows in constant-memory mode, written as xlsxwriter writes them. xlsxwriter spends
# about 4 µs a cell in Python (argument checks, a cell object, the row's flush, attribute
# lists); the compliance workbook has millions. This writes the same XML text for a row at
# once into the sheet's row file, which xlsxwriter copies into the package when the book
# closes; a row with anything else (rich-text markup, text past MAX_TEXT characters,
# other types, infinities) goes through xlsxwriter's own calls. `tests/test_xlsx_direct.py`
# compares both, byte for byte.
MAX_TEXT = 16_383  # characters: below it xlsxwriter never counts UTF-16 units to truncate
_NEEDS_ESCAPES = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_|^\s|\s$")
_ROWS_A_WRITE = 2000
_SEEN_VALUES = 200_000
DEFAULT_ROW_PIXELS = 20


def height_attributes(points: float | None) -> str:
    """A `<row>`'s height attributes as xlsxwriter writes them for `set_row(row, points)`
    (via pixels; none for the default height or None)."""
    if points is None:
        return ""
    pixels = int(points * 4.0 / 3.0 + 0.5)
    if pixels == DEFAULT_ROW_PIXELS:
        return ""
    return f' ht="{pixels * 0.75:.16g}" customHeight="1"'


def text_element(text: str) -> str:
    """The `<t>…</t>` element of a string, inline or shared, as xlsxwriter writes it
    (control characters as `_xHHHH_`, leading or trailing whitespace preserved, XML's
    specials escaped)."""
    if not _NEEDS_ESCAPES.search(text):  # most text: as it is
        return f"<t>{text}</t>"
    from xlsxwriter.utility import _preserve_whitespace
    from xlsxwriter.xmlwriter import XMLwriter

    text = XMLwriter._escape_control_characters(text)
    space = ' xml:space="preserve"' if _preserve_whitespace(text) else ""
    return f"<t{space}>{XMLwriter()._escape_data(text)}</t>"


def _inline_rows(ws: Worksheet, formats: dict[str, Format], top: int,
                 rows: Iterable[Sequence[object]], widths: Sequence[float], wrapped: Sequence[int],
                 column_fmt: Sequence[object], sev: int | None) -> int:
    """Write `rows` below the header at `top` of the constant-memory sheet `ws` as
    StreamingBook's cell-by-cell writes would; returns how many rows were taken.

    xlsxwriter writes a row out when the next one begins and a sheet's last row when the
    book closes, numbering each format at its first cell written out: the rows it holds
    are written out before a row of text, and a table's last row is left to it."""
    from xlsxwriter.utility import _datetime_to_excel_datetime, xl_col_to_name

    fh = ws.fh
    letters = [xl_col_to_name(j) for j in range(len(column_fmt))]
    styles: dict[int, str] = {}  # format -> ' s="N"'
    seen: dict[object, str] = {}  # a text's or date's cell after its reference (names repeat)
    out: list[str] = []
    lo = hi = last = None
    held = True  # xlsxwriter may hold a row (the header)
    it = iter(rows)
    following = next(it, _END)
    n = 0
    while following is not _END:
        row, following = following, next(it, _END)
        n += 1
        r = top + n
        ref = str(r + 1)
        cells = []
        for j, value in enumerate(row if following is not _END else ()):
            kind = type(value)
            if value is None:
                continue
            fmt = formats.get(f"severity:{value}") if j == sev else column_fmt[j]
            if kind is str:
                if (tail := seen.get(value)) is None:
                    if len(value) > MAX_TEXT or value.startswith("<r>"):
                        break
                    tail = f' t="inlineStr"><is>{text_element(value)}</is></c>'
                    if len(seen) < _SEEN_VALUES:
                        seen[value] = tail
            elif kind is int:
                tail = f"><v>{value:.16G}</v></c>"
            elif kind is float:
                if value != value:
                    continue
                if value in (math.inf, -math.inf):
                    break
                tail = f"><v>{value:.16G}</v></c>"
            elif kind is bool:
                tail = f' t="b"><v>{int(value)}</v></c>'
            elif kind is dt.date or kind is dt.datetime:
                fmt = _dated(fmt, formats, "date" if kind is dt.date else "datetime")
                if (tail := seen.get(value)) is None:
                    moment = (dt.datetime.combine(value, dt.time(0)) if kind is dt.date
                              else value.replace(tzinfo=None))
                    serial = _datetime_to_excel_datetime(moment, False, False)
                    tail = f"><v>{serial:.16G}</v></c>"
                    if len(seen) < _SEEN_VALUES and (kind is dt.date or value.tzinfo is None):
                        seen[value] = tail  # (not an aware time: equal across zones)
            else:
                break
            if held:  # out first, numbering its formats first
                ws._write_single_row(r)
                held = False
            if fmt is None:
                style = ""
            elif (style := styles.get(id(fmt))) is None:
                style = styles[id(fmt)] = f' s="{fmt._get_xf_index()}"'
            if lo is None or j < lo:
                lo = j
            if hi is None or j > hi:
                hi = j
            cells.append(f'<c r="{letters[j]}{ref}"{style}{tail}')
        else:
            if following is not _END:
                if cells:
                    last = r
                    attrs = height_attributes(row_height(row, widths, wrapped)) \
                        if wrapped and n <= FITTED_ROWS else ""
                    out.append(f'<row r="{ref}"{attrs}>{"".join(cells)}</row>')
                    if len(out) >= _ROWS_A_WRITE:
                        fh.write("".join(out))
                        out.clear()
                continue
        # the last row, or a value only xlsxwriter's calls write as StreamingBook does:
        # this row through them (xlsxwriter holds it)
        fh.write("".join(out))
        out.clear()
        _row_by_cells(ws, formats, r, n <= FITTED_ROWS, row, widths, wrapped, column_fmt, sev)
        held = True
    fh.write("".join(out))
    if last is not None:  # what xlsxwriter's writes would have recorded
        ws.dim_rowmin = min(ws.dim_rowmin, top + 1) if ws.dim_rowmin is not None else top + 1
        ws.dim_rowmax = max(ws.dim_rowmax, last) if ws.dim_rowmax is not None else last
        ws.dim_colmin = min(ws.dim_colmin, lo) if ws.dim_colmin is not None else lo
        ws.dim_colmax = max(ws.dim_colmax, hi) if ws.dim_colmax is not None else hi
        ws.previous_row = max(ws.previous_row, last)  # later writes above it are refused
    return n


class FreeformSheet:
    """A sheet of titles, facts, prose and small tables, laid out top to bottom and written
    when the book closes: the columns are then as wide as the facts and table cells they
    hold (capped, longer text wrapped), and a title or sentence wider than its first
    column spans the sheet's columns, wrapped, instead of running off the printed page."""

    def __init__(self, book: StreamingBook, name: str) -> None:
        self.book, self.ws, self.row = book, book.wb.add_worksheet(name), 0
        self._cells: list[tuple[int, int, object, str | None]] = []
        self._lines: list[tuple[int, str, str | None]] = []
        self._charts: list[tuple[int, object, int]] = []
        self._breaks: list[int] = []
        self._widths: dict[int, int] = {}
        self._done = False
        book._freeform.append(self)

    def _cell(self, row: int, col: int, value: object, fmt: str | None = None,
              measure: bool = True) -> None:
        self._cells.append((row, col, value, fmt))
        if measure and value is not None:
            self._widths[col] = max(self._widths.get(col, 0), _text_width(value))

    def line(self, text: str, fmt: str | None = None) -> None:
        """A title, heading or sentence across the sheet."""
        self._lines.append((self.row, text, fmt))
        self.row += 1

    def fact(self, label: str, value: object) -> None:
        """A bold label and its value on one line."""
        self._cell(self.row, 0, label, "bold")
        style = "left date" if isinstance(value, dt.date) else "left"
        self._cell(self.row, 1, value, style)
        self.row += 1

    def skip(self, n: int = 1) -> None:
        self.row += n

    def table(self, header: list[str], rows: list[list], severity_column: int | None = None
              ) -> None:
        for j, h in enumerate(header):
            self._cell(self.row, j, h, "bold wrap", measure=False)
            self._widths[j] = max(self._widths.get(j, 0), _longest_word(h))
        self.row += 1
        for r in rows:
            for j, v in enumerate(r):
                fmt = (f"severity top:{v}" if j == severity_column and
                       f"severity top:{v}" in self.book.fmt else
                       "number" if isinstance(v, numbers.Number)
                       and not isinstance(v, bool) else "top")
                self._cell(self.row, j, v, fmt)
            self.row += 1

    def chart(self, chart: Chart, rows: int) -> None:
        """A chart here, across the sheet's columns, `rows` rows tall, starting a printed
        page (so that no page break cuts through it)."""
        self._breaks.append(self.row)
        self._charts.append((self.row, chart, rows))
        self.row += rows

    def flush(self) -> None:
        """Write what was laid out (once; the book calls it when it closes)."""
        if self._done:
            return
        self._done = True
        ncols = max(self._widths, default=0) + 1
        widths = [min(max(self._widths.get(j, 0) + 2, 8), MAX_WIDTH)
                  for j in range(ncols)]
        total = sum(widths)
        fmts = self.book.fmt
        by_row: dict[int, list] = {}
        for row, col, value, fmt in self._cells:
            by_row.setdefault(row, []).append((col, value, fmt))
        spans = {row: (text, fmt) for row, text, fmt in self._lines}
        for row in sorted(set(by_row) | set(spans)):
            if row in spans:
                text, fmt = spans[row]
                if len(text) > widths[0] and ncols > 1:
                    size = 1.4 if fmt == "title" else 1.2 if fmt == "heading" else 1.0
                    lines = _wrapped_lines(text, total / size)
                    key = f"span:{fmt}"
                    if key not in fmts:
                        fmts[key] = self.book.wb.add_format(
                            {"text_wrap": True, "valign": "top", "bold": fmt is not None,
                             "font_size": {"title": 14, "heading": 12}.get(fmt or "", 11)})
                    style = fmts[key]
                    self.ws.set_row(row, LINE_POINTS * size * lines)
                    self.ws.merge_range(row, 0, row, ncols - 1, "", style)
                    write_text(self.ws, row, 0, text, style)
                else:
                    self.book.write(self.ws, row, 0, text, fmts[fmt] if fmt else None)
            cells = sorted(by_row.get(row, []), key=lambda c: c[0])
            lines = max((_wrapped_lines(v, widths[c]) for c, v, _ in cells
                         if isinstance(v, str)), default=1)
            if lines > 1 and row not in spans:
                self.ws.set_row(row, LINE_POINTS * lines)
            for col, value, fmt in cells:
                style = fmts[fmt] if fmt else None
                if (isinstance(value, str) and len(value) > widths[col] - 1
                        and fmt in (None, "left", "top")):
                    style = fmts["wrap"]
                self.book.write(self.ws, row, col, value, style)
        for row, chart, rows in self._charts:
            chart.set_size({"width": min(sum(_pixels(w) for w in widths), 960),
                            "height": rows * 20})
            self.ws.insert_chart(row, 0, chart, {"object_position": 3})
        if self._breaks:
            self.ws.set_h_pagebreaks(self._breaks)
        self.book.set_widths(self.ws, widths)


def _pixels(width: float) -> int:
    """An Excel column width (characters of Calibri 11) in screen pixels."""
    return int(width * 7 + 5)


def fit_row(ws: Worksheet, row: int, values: Sequence[object], widths: Sequence[float],
            wrapped: Sequence[int]) -> None:
    """Make `row` as tall as its wrapped text needs: apps do not grow a row for wrapped
    text on their own. Call before writing the row's cells."""
    if (points := row_height(values, widths, wrapped)) is not None:
        ws.set_row(row, points)


def row_height(values: Sequence[object], widths: Sequence[float], wrapped: Sequence[int]
               ) -> float | None:
    """The points a table row needs for its wrapped text; None: the default height."""
    lines = row_lines(values, widths, wrapped)
    return LINE_POINTS * lines if lines > 1 else None


def header_height(header: Sequence[str], widths: Sequence[float]) -> float | None:
    """The points a table's header row needs, its headers wrapped; None: the default."""
    lines = header_lines(header, widths)
    return LINE_POINTS * lines if lines > 1 else None


def row_lines(values: Sequence[object], widths: Sequence[float], wrapped: Sequence[int]
              ) -> int:
    """Lines the tallest wrapped text of a table row takes."""
    return max((_wrapped_lines(values[j], widths[j]) for j in wrapped
                if j < len(values) and isinstance(values[j], str)), default=1)


def _dated(fmt: Format | None, formats: dict[str, Format], kind: str) -> Format:
    """A date cell's format: the one given if it carries a date format, else `kind`'s
    (top-aligned for a top-aligned cell)."""
    if fmt is None:
        return formats[kind]
    if fmt is formats.get("top"):
        return formats[f"{kind} top"]
    return fmt


def _text_width(value: object) -> int:
    if isinstance(value, dt.datetime):  # digits print wider than average text
        return 17
    if isinstance(value, dt.date):
        return 11
    return len(str(value))


def _longest_word(text: str) -> int:
    return max((len(w) for w in str(text).split()), default=0)


def _wrapped_lines(text: object, width: float) -> int:
    """Lines `text` takes wrapped at word boundaries in a column `width` characters wide
    (a word longer than the line is broken)."""
    room = max(int(width * 1.1) - 1, 1)  # text averages narrower than the width's digits
    text = str(text)
    if len(text) <= room:  # most cells: no need to split
        return 1
    return _lines_of(text, room)


@functools.lru_cache(maxsize=65536)  # a group's name, a person's email: repeated by the row
def _lines_of(text: str, room: int) -> int:
    lines, used = 1, 0
    for word in text.split():
        if used and used + 1 + len(word) > room:
            lines, used = lines + 1, 0
        else:
            used += 1 if used else 0
        while used + len(word) > room:
            word = word[room - used:]
            lines, used = lines + 1, 0
        used += len(word)
    return lines


def write_text(ws: Worksheet, row: int, col: int, text: str, fmt: Format | None = None
               ) -> None:
    """A string cell, whatever the text. xlsxwriter copies a string that starts with `<r>`
    and ends with `</r>` into the file as rich-text XML, unescaped: input text such as
    `<r>x</r>` would be lost or corrupt the workbook. Such text is written as a rich
    string of three plain runs instead, which xlsxwriter escapes: the same text."""
    text = text[:EXCEL_MAX_CHARS]
    if text.startswith("<r>") and text.endswith("</r>"):
        ws.write_rich_string(row, col, text[:1], text[1:3], text[3:],
                             *([fmt] if fmt is not None else []))
    else:
        ws.write_string(row, col, text, fmt)


def write_cell(ws: Worksheet, row: int, col: int, value: object, fmt: Format | None,
               formats: dict[str, Format]) -> None:
    """One typed xlsxwriter cell: text, number, boolean or date — never a formula."""
    if value is None:
        return
    try:
        if value != value:  # NaN, NaT
            return
    except (TypeError, ValueError):
        pass
    if isinstance(value, str):
        write_text(ws, row, col, value, fmt)
    elif isinstance(value, bool):
        ws.write_boolean(row, col, value, fmt)
    elif isinstance(value, numbers.Number):
        ws.write_number(row, col, value, fmt)
    elif isinstance(value, dt.datetime):
        ws.write_datetime(row, col, value.replace(tzinfo=None),
                          _dated(fmt, formats, "datetime"))
    elif isinstance(value, dt.date):
        ws.write_datetime(row, col, dt.datetime.combine(value, dt.time(0)),
                          _dated(fmt, formats, "date"))
    else:
        write_text(ws, row, col, str(value), fmt)


def table_layout(header: Sequence[str], head: Sequence[Sequence[object]],
                 caps: dict[str, int] | None = None) -> tuple[list[int], list[int]]:
    """A table's column widths, fitted to its header and first rows (`head`: up to
    WIDTH_SAMPLE_ROWS), and the columns whose longer text wraps."""
    longest = longest_texts(len(header), head)
    widths = fitted_widths(header, longest, caps)
    return widths, [j for j in range(len(header)) if longest[j] > widths[j]]


def header_lines(header: Sequence[str], widths: Sequence[float]) -> int:
    """Lines the tallest wrapped header of a table takes."""
    return max((_wrapped_lines(h, w) for h, w in zip(header, widths, strict=False)),
               default=1)


def fitted_widths(header: Sequence[str], longest: Sequence[int],
                  caps: dict[str, int] | None = None) -> list[int]:
    """Column widths from the content: the longest value (`longest`: `longest_texts` of
    the rows; a header only by its longest word, since it wraps), at least 8, at most
    TABLE_MAX_WIDTH or the column's cap."""
    caps = caps or {}
    return [min(max(max(_longest_word(h), longest[j]) + 2, 8), caps.get(h, TABLE_MAX_WIDTH))
            for j, h in enumerate(header)]


def longest_texts(ncols: int, rows: Sequence[Sequence[object]]) -> list[int]:
    """The widest value of each column, in characters."""
    widths = [0] * ncols
    for row in rows:
        for j, v in enumerate(row[:ncols]):
            if v is not None:
                n = len(v) if type(v) is str else _text_width(v)  # text: most cells
                if n > widths[j]:
                    widths[j] = n
    return widths


def sheet_name(wanted: str, used: set[str]) -> str:
    """A sheet name by Excel's rules: at most 31 characters, none of []:*?/\\, unique in
    `used` (case-insensitive), which it joins."""
    # Excel also refuses control characters and an apostrophe at either end
    base = re.sub(r"[\[\]:*?/\\\x00-\x1f]", " ", wanted)
    base = base.strip(" '")[:31].strip(" '") or "Sheet"
    name, n = base, 1
    while name.lower() in used:
        n += 1
        suffix = f" ({n})"
        name = base[:31 - len(suffix)] + suffix
    used.add(name.lower())
    return name
