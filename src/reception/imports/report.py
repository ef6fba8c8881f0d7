"""The dry run's report as a workbook: one line per row of the file — its row number, the
verdict, the reasons — with the row's own cells beside it as they were typed (text written as
text: a cell that looks like a formula stays inert), and the totals per verdict."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Sequence
from typing import Any

import xlsxwriter

from reception.imports.cases import VERDICTS, Verdict
from reception.imports.reading import Formula
from reception.imports.values import text
from reception.spreadsheet import TextCells

# What a cell of the original row shows at most (the report is read, not re-imported).
SHOWN_CHARS = 500


class ReportBook:
    """Written row by row while the dry run walks the file (constant memory)."""

    def __init__(self, headers: Sequence[str], title: str, sheet: str = "") -> None:
        self.sheet_name = sheet
        self.buffer = io.BytesIO()
        self.book = xlsxwriter.Workbook(self.buffer, {"constant_memory": True, "in_memory": True})
        self.cells = TextCells(self.book)
        self.bold = self.book.add_format({"bold": True})
        self.counts: Counter[str] = Counter()
        self.title = title
        self.sheet = self.book.add_worksheet("逐行核对")
        self.sheet.freeze_panes(1, 4)
        head = ["工作表", "行号", "核对结论", "说明", *[h or "(无表头)" for h in headers]]
        for c, name in enumerate(head):
            self.cells.write(self.sheet, 0, c, name, self.bold)
        self.sheet.set_column(2, 2, 18)
        self.sheet.set_column(3, 3, 60)
        self.row = 1

    def add(self, v: Verdict) -> None:
        self.counts[v.verdict] += 1
        self.cells.write(self.sheet, self.row, 0, v.sheet or self.sheet_name)
        self.cells.write(self.sheet, self.row, 1, v.line)
        self.cells.write(self.sheet, self.row, 2, VERDICTS[v.verdict])
        self.cells.write(self.sheet, self.row, 3, ";".join(v.reasons))
        for c, value in enumerate(v.raw):
            self.cells.write(self.sheet, self.row, 4 + c, _shown(value))
        self.row += 1

    def finish(self) -> bytes:
        totals = self.book.add_worksheet("合计")
        self.cells.write(totals, 0, 0, self.title, self.bold)
        for r, (code, label) in enumerate(VERDICTS.items(), start=2):
            self.cells.write(totals, r, 0, label)
            self.cells.write(totals, r, 1, int(self.counts.get(code, 0)))
        self.cells.write(totals, len(VERDICTS) + 2, 0, "合计", self.bold)
        self.cells.write(totals, len(VERDICTS) + 2, 1, sum(self.counts.values()))
        totals.set_column(0, 0, 40)
        self.book.close()
        return self.buffer.getvalue()


def _shown(value: Any) -> Any:
    if isinstance(value, Formula):
        # The formula as typed, written as text (inert: quote-prefixed by TextCells).
        return value.text[:SHOWN_CHARS]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    try:
        shown = text(value)
    except ValueError:
        shown = "(含控制字符或过长,未显示)"
    return shown[:SHOWN_CHARS]
