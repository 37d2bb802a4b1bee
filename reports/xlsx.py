"""openpyxl helpers shared by every workbook: inert cells, styled tables, deterministic save."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from reports.files import atomic_path

HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
HEADER_FONT = Font(bold=True, color="FFFFFF")
SEVERITY_FILLS = {"high": PatternFill("solid", fgColor="F8CBAD"),
                  "medium": PatternFill("solid", fgColor="FFE699"),
                  "low": PatternFill("solid", fgColor="DDEBF7")}
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
MAX_WIDTH = 60


def set_value(cell: Cell, value: object) -> None:
    """Put a value in a cell; a string is always a string cell, never a formula."""
    if value is None or (isinstance(value, float) and value != value):
        cell.value = None
        return
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl would otherwise make "=..." a formula
    elif isinstance(value, dt.datetime):
        cell.number_format = DATETIME_FORMAT
    elif isinstance(value, dt.date):
        cell.number_format = DATE_FORMAT


def write_table(ws: Worksheet, header: Sequence[str], rows: Sequence[Sequence[object]],
                start_row: int = 1, severity_column: str | None = None) -> None:
    """A header row and data rows: frozen header, autofilter, fitted widths, print setup."""
    for j, name in enumerate(header, start=1):
        c = ws.cell(row=start_row, column=j)
        set_value(c, name)
        c.fill, c.font = HEADER_FILL, HEADER_FONT
        c.alignment = Alignment(vertical="center", wrap_text=True)
    sev_idx = header.index(severity_column) if severity_column in header else None
    widths = [len(h) for h in header]
    for i, row in enumerate(rows, start=start_row + 1):
        fill = SEVERITY_FILLS.get(str(row[sev_idx])) if sev_idx is not None else None
        for j, value in enumerate(row, start=1):
            c = ws.cell(row=i, column=j)
            set_value(c, value)
            if fill is not None and j == sev_idx + 1:
                c.fill = fill
            widths[j - 1] = max(widths[j - 1], len(str(value)) if value is not None else 0)
    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = min(max(w + 2, 8), MAX_WIDTH)
    last = get_column_letter(len(header))
    ws.freeze_panes = ws.cell(row=start_row + 1, column=1)
    ws.auto_filter.ref = f"A{start_row}:{last}{start_row + max(len(rows), 1)}"
    ws.print_title_rows = f"{start_row}:{start_row}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


class _DatedZip(ZipFile):
    """A zip whose entries carry a given date instead of the clock's (or a file's mtime)."""

    def __init__(self, *args, date_time: tuple[int, ...], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._date_time = date_time

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):
        if isinstance(zinfo_or_arcname, str):
            zinfo_or_arcname = ZipInfo(zinfo_or_arcname, date_time=self._date_time)
            zinfo_or_arcname.compress_type = self.compression
        return super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
        with open(filename, "rb") as fh:  # openpyxl writes each sheet to a temporary file
            self.writestr(arcname or Path(filename).name, fh.read(), compress_type,
                          compresslevel)


def save_workbook(wb: Workbook, path: Path, as_of: dt.date) -> None:
    """Save atomically, dated by the as-of date (document properties and zip entries, not
    the clock), so the same inputs give the same workbook, byte for byte."""
    stamp = dt.datetime.combine(as_of, dt.time(0))
    wb.properties.created = stamp
    wb.properties.modified = stamp
    wb.properties.creator = "ccreview"
    with atomic_path(path) as tmp, _DatedZip(tmp, "w", ZIP_DEFLATED, allowZip64=True,
                                             date_time=stamp.timetuple()[:6]) as archive:
        ExcelWriter(wb, archive).save()
