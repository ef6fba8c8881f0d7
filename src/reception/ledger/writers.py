"""The ledger's files: the 排查情况表 as XLSX (the printable A4 is a page: pages.py), and the
filtered ledger as CSV or XLSX. Parties are never in them (a count only); typed text is
neutralised (reception.spreadsheet)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from typing import Any

from litestar import Response

from reception.ledger import rules
from reception.ledger.figures import COUNTS, LABELS
from reception.ledger.schemas import EntrySummary
from reception.responses import attachment
from reception.spreadsheet import TextCells, csv_bytes

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

ENTRY_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("reference", "台账编号", 20),
    ("found_on", "发现日期", 11),
    ("found_by_unit", "发现单位", 16),
    ("how_found", "发现方式", 9),
    ("domain_name", "领域", 9),
    ("risk_label", "风险等级", 8),
    ("summary", "矛盾纠纷简要情况", 40),
    ("parties", "当事人数", 8),
    ("people_count", "涉及人数", 8),
    ("amount_disputed", "争议金额(元)", 12),
    ("unit_name", "责任单位", 16),
    ("stability_leader", "稳控责任人", 10),
    ("resolution_leader", "化解责任人", 10),
    ("target_on", "化解期限", 11),
    ("review_on", "复核日期", 11),
    ("overdue", "逾期未复核", 9),
    ("status_label", "状态", 12),
    ("closed_on", "销账/转办日期", 12),
    ("amount_recovered", "化解金额(元)", 12),
)


def _cell(entry: EntrySummary, key: str) -> Any:
    value = getattr(entry, key)
    if key == "how_found":
        return rules.HOW_FOUND_LABELS[value]
    if key == "overdue":
        return "是" if value else ""
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else value


def entries_csv(entries: Sequence[EntrySummary]) -> bytes:
    return csv_bytes(
        [
            [h for _, h, _ in ENTRY_COLUMNS],
            *([_cell(e, k) for k, _, _ in ENTRY_COLUMNS] for e in entries),
        ]
    )


def entries_xlsx(entries: Sequence[EntrySummary]) -> bytes:
    import xlsxwriter

    output = io.BytesIO()
    book = xlsxwriter.Workbook(output, {"in_memory": True})
    header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    cells = TextCells(book)
    sheet = book.add_worksheet("矛盾纠纷排查台账")
    for i, (_, head, width) in enumerate(ENTRY_COLUMNS):
        sheet.set_column(i, i, width)
        sheet.write_string(0, i, head, header)
    sheet.freeze_panes(1, 1)
    for r, entry in enumerate(entries, start=1):
        for i, (key, _, _) in enumerate(ENTRY_COLUMNS):
            cells.write(sheet, r, i, _cell(entry, key))
    sheet.autofilter(0, 0, max(len(entries), 1), len(ENTRY_COLUMNS) - 1)
    book.close()
    return output.getvalue()


def entries_file(entries: Sequence[EntrySummary], fmt: str, today: date) -> Response[bytes]:
    """The filtered ledger as a download (CSV or XLSX), named with the day."""
    body = entries_csv(entries) if fmt == "csv" else entries_xlsx(entries)
    return Response(
        body,
        media_type="text/csv" if fmt == "csv" else XLSX,
        headers={
            "Content-Disposition": attachment(
                f"矛盾纠纷排查台账_{today.isoformat()}.{fmt}", f"ledger.{fmt}"
            )
        },
    )


def table_file(table: dict[str, Any]) -> Response[bytes]:
    return Response(
        table_xlsx(table),
        media_type=XLSX,
        headers={
            "Content-Disposition": attachment(f"{table_title(table)}.xlsx", "ledger-table.xlsx")
        },
    )


def table_title(table: dict[str, Any]) -> str:
    first, last = table["first"], table["last"]
    period = f"{first[:4]}年{int(first[5:7])}月"
    if first[5:] == "01-01" and last[5:] == "12-31" and first[:4] == last[:4]:
        period = f"{first[:4]}年"
    return f"{table['unit']['name']}矛盾纠纷排查化解情况表({period})"


def table_xlsx(table: dict[str, Any]) -> bytes:
    """One sheet, laid out as the paper form: title, the rows by unit and by domain, 合计, and
    the signature lines (填报单位(盖章), 填报人, 审核人, 填报日期)."""
    import xlsxwriter

    output = io.BytesIO()
    book = xlsxwriter.Workbook(output, {"in_memory": True})
    title = book.add_format({"bold": True, "font_size": 15, "align": "center"})
    header = book.add_format(
        {"bold": True, "border": 1, "text_wrap": True, "align": "center", "valign": "vcenter"}
    )
    number = book.add_format({"border": 1, "num_format": "#,##0"})
    text = book.add_format({"border": 1})
    bold = book.add_format({"border": 1, "bold": True, "num_format": "#,##0"})
    section = book.add_format({"bold": True})
    cells = TextCells(book)
    sheet = book.add_worksheet("排查情况表")
    sheet.set_landscape()
    sheet.set_paper(9)  # A4
    sheet.fit_to_pages(1, 0)
    width = len(COUNTS) + 1
    sheet.merge_range(0, 0, 0, width - 1, table_title(table), title)
    sheet.write_string(1, 0, f"统计期:{table['first']} 至 {table['last']}")
    sheet.set_column(0, 0, 22)
    sheet.set_column(1, width - 1, 10)
    row = 3

    def block(caption: str, head: str, rows: list[dict[str, Any]]) -> None:
        nonlocal row
        sheet.write_string(row, 0, caption, section)
        row += 1
        sheet.write_string(row, 0, head, header)
        for i, key in enumerate(COUNTS, start=1):
            sheet.write_string(row, i, LABELS[key], header)
        sheet.set_row(row, 32)
        row += 1
        for r in [*rows, table["total"]]:
            fmt = bold if r is table["total"] else number
            cells.write(sheet, row, 0, r["name"], bold if r is table["total"] else text)
            for i, key in enumerate(COUNTS, start=1):
                sheet.write_number(row, i, r[key], fmt)
            row += 1
        row += 1

    block("一、按单位", "单位", table["units"])
    block("二、按领域", "领域", table["domains"])
    for line in ("填报单位(盖章):", "填报人:            审核人:", "填报日期:    年   月   日"):
        sheet.write_string(row, 0, line)
        row += 2
    book.close()
    return output.getvalue()
