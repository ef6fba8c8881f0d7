"""Writers of the monthly review: XLSX (a sheet per section), CSV (UTF-8 with BOM) and JSON.

Each section is described once (columns: key, Chinese header, kind) and every format is
written from that description. A ratio with a zero denominator is "—" in XLSX and CSV and
null in JSON; a comparison with a month before the first record is "无数据" (JSON: null with
`"no_data": true`).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import msgspec

from reception.reports.sections import MISSING, NO_DATA, SECTIONS, Column
from reception.spreadsheet import TextCells, csv_bytes


def _kind(column: Column, row: dict[str, Any]) -> str:
    if column.kind == "diff":
        # A change of a rate is in percentage points, of a count in cases.
        return "pp" if row.get("kind") == "pct" else "int"
    if column.kind == "auto":
        return (
            str(row.get("kind", "int"))
            if column.key != "sanwu"
            else ("pct" if isinstance(row.get("sanwu"), float) else "text")
        )
    return column.kind


def _text(value: Any, kind: str) -> str:
    if value == NO_DATA:
        return NO_DATA
    if value is None:
        return MISSING if kind in ("pct", "int", "pp") else ""
    if kind == "pct":
        return f"{value * 100:.1f}%"
    if kind == "pp":
        return f"{value * 100:+.1f}个百分点"
    return str(value)


def _meta_lines(report: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("月份", report["month"]),
        ("统计单位", report["unit"]["name"]),
        ("统计截至", report["as_of"]),
        ("节假日安排", "含未公布年份的推算日期(暂定)" if report["provisional"] else "已公布"),
        ("信访人姓名", "已脱敏" if report["masked"] else "未脱敏(管理员导出,已留痕)"),
    ]


def to_json(report: dict[str, Any]) -> bytes:
    """Indented UTF-8 JSON (msgspec: a district's month is megabytes; the standard library's
    encoder took half a second of it)."""
    return msgspec.json.format(msgspec.json.encode(report), indent=2)


def to_csv(report: dict[str, Any]) -> bytes:
    """All sections one after another, each under its title; UTF-8 with BOM for Excel."""
    rows: list[list[Any]] = [
        [f"书记点评会信访工作月报 {report['month']} {report['unit']['name']}"],
        *([label, value] for label, value in _meta_lines(report)),
    ]
    for section in SECTIONS:
        rows += [[], [section.title], [c.header for c in section.columns]]
        rows += [
            [_text(row.get(c.key), _kind(c, row)) for c in section.columns]
            for row in section.rows(report)
        ]
    rows += [[], ["说明"], *([d["name"], d["definition"]] for d in report["definitions"])]
    return csv_bytes(rows)


def to_xlsx(report: dict[str, Any]) -> bytes:
    import xlsxwriter

    output = io.BytesIO()
    book = xlsxwriter.Workbook(output, {"in_memory": True, "default_date_format": "yyyy-mm-dd"})
    header = book.add_format(
        {
            "bold": True,
            "bg_color": "#DDEBF7",
            "border": 1,
            "text_wrap": True,
            "valign": "vcenter",
            "align": "center",
        }
    )
    pct = book.add_format({"num_format": "0.0%"})
    points = book.add_format({"num_format": '+0.0"个百分点";-0.0"个百分点";0.0"个百分点"'})
    integer = book.add_format({"num_format": "0"})
    missing = book.add_format({"align": "center", "font_color": "#808080"})
    total = book.add_format({"bold": True, "top": 1})
    total_pct = book.add_format({"bold": True, "top": 1, "num_format": "0.0%"})
    title = book.add_format({"bold": True, "font_size": 13})
    cells = TextCells(book)
    for section in SECTIONS:
        sheet = book.add_worksheet(section.sheet)
        for i, column in enumerate(section.columns):
            sheet.set_column(i, i, column.width)
            sheet.write_string(0, i, column.header, header)
        sheet.set_row(0, 30)
        sheet.freeze_panes(1, 0)
        rows = section.rows(report)
        for r, row in enumerate(rows, start=1):
            is_total = row.get("kind") == "total"
            for i, column in enumerate(section.columns):
                value = row.get(column.key)
                kind = _kind(column, row)
                if value == NO_DATA:
                    sheet.write_string(r, i, NO_DATA, missing)
                elif value is None:
                    sheet.write_string(
                        r, i, MISSING if kind in ("pct", "int", "pp") else "", missing
                    )
                elif kind == "pct":
                    sheet.write_number(r, i, value, total_pct if is_total else pct)
                elif kind == "pp":
                    sheet.write_number(r, i, round(value * 100, 2), points)
                elif kind == "int" and isinstance(value, int | float):
                    sheet.write_number(r, i, value, total if is_total else integer)
                else:
                    cells.write(sheet, r, i, value, total if is_total else None)
        if not rows:
            sheet.write_string(1, 0, "(本月无)")
        sheet.autofilter(0, 0, max(len(rows), 1), len(section.columns) - 1)
    notes = book.add_worksheet("说明")
    notes.set_column(0, 0, 16)
    notes.set_column(1, 1, 90)
    notes.write_string(0, 0, "项目", header)
    notes.write_string(0, 1, "说明", header)
    notes.freeze_panes(1, 0)
    line = 1
    notes.write_string(line, 0, f"书记点评会信访工作月报 {report['month']}", title)
    line += 1
    for label, value in _meta_lines(report):
        cells.write(notes, line, 0, label)
        cells.write(notes, line, 1, value)
        line += 1
    line += 1
    for d in report["definitions"]:
        cells.write(notes, line, 0, d["name"])
        cells.write(notes, line, 1, d["definition"])
        line += 1
    book.close()
    return output.getvalue()


CONTENT_TYPES = {
    "json": "application/json",
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
WRITERS: dict[str, Callable[[dict[str, Any]], bytes]] = {
    "json": to_json,
    "csv": to_csv,
    "xlsx": to_xlsx,
}


def filename(month: str, unit_name: str, fmt: str) -> str:
    return f"书记点评会信访月报_{month}_{unit_name}.{fmt}"
