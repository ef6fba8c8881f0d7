"""Cells of the CSV and XLSX files the service hands out, made safe to open.

Excel and WPS run a cell that starts with `=`, `+`, `-` or `@` (also after a tab or a carriage
return) as a formula: a case summary typed as `=HYPERLINK("http://…","点我")` would become a
live link on the reviewer's PC. Every text cell goes through here (OWASP "CSV injection"):
- CSV: such a cell gets a leading `'`, which spreadsheet programs take as "this is text";
- XLSX: every text cell is written as a string (never a formula), and such a cell also carries
  Excel's quote prefix, so editing it later keeps it text while the `'` stays invisible.
Numbers and dates the service computed are written as what they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

# What a spreadsheet program reads as the start of a formula (or of a DDE command).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def risky(text: str) -> bool:
    return text.startswith(FORMULA_START)


def neutralise(text: str) -> str:
    """A text cell for CSV: a leading `'` where a spreadsheet would see a formula."""
    return "'" + text if risky(text) else text


def csv_bytes(rows: Iterable[Iterable[Any]]) -> bytes:
    """Rows as CSV in UTF-8 with a BOM (Excel then reads the Chinese), every text neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([neutralise(v) if isinstance(v, str) else v for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


class TextCells:
    """Writes text into an XlsxWriter workbook's sheets as strings, never formulas."""

    def __init__(self, book: Any) -> None:
        # A typed text that looks like a formula carries Excel's quote prefix (its own plain
        # format: such a cell is never a heading or a total).
        self.quoted = book.add_format({"quote_prefix": True})

    def write(self, sheet: Any, row: int, col: int, value: Any, fmt: Any = None) -> None:
        """A cell: text as a string (quote-prefixed where risky), anything else as itself."""
        if isinstance(value, str):
            sheet.write_string(row, col, value, self.quoted if risky(value) else fmt)
        elif value is None:
            sheet.write_blank(row, col, None, fmt)
        else:
            sheet.write(row, col, value, fmt)


__all__ = ["FORMULA_START", "TextCells", "csv_bytes", "neutralise", "risky"]
