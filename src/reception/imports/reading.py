"""Reading an uploaded ledger, whatever the office saved it as: the kind told by the file's
own bytes (never by its name), XLSX streamed row by row (openpyxl, read-only), XLS through
calamine, CSV in UTF-8, UTF-16 or GBK/GB18030 (the encoding found by decoding strictly:
UTF-8 is self-checking, GB18030 is what Chinese Windows writes). What is not a spreadsheet
is refused with the reason."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from reception.errors import InvalidInput

ZIP = b"PK\x03\x04"
OLE2 = bytes.fromhex("d0cf11e0a1b11ae1")
NOT_A_SHEET = "不是表格文件:请上传 Excel 表格(.xlsx、.xls)或 CSV 文件(UTF-8 或 GBK 编码)"
# What an XLSX may unpack to: a real ledger's XML is some 10–30 times its zip, a few hundred MB
# at the most for 100,000 rows.
MAX_UNPACKED = 400 * 1024 * 1024
RATIO_LIMIT = 100


@dataclass(frozen=True)
class Formula:
    """A cell holding a formula: its value is never computed here (the person pastes values)."""

    text: str


class Workbook:
    """An uploaded file's sheets and their rows (cells as read: text, numbers, dates, None)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.kind = _kind(data)
        self._text = _decoded(data) if self.kind == "csv" else ""
        self.sheets = self._sheet_names()

    def _sheet_names(self) -> list[str]:
        if self.kind == "csv":
            return ["CSV"]
        try:
            if self.kind == "xlsx":
                book = _open_xlsx(self.data)
                names = list(book.sheetnames)
                book.close()
                return names
            return list(_open_xls(self.data).sheet_names)
        except Exception:
            # Whatever a damaged or disguised file makes the reader raise, it is the file's fault.
            raise InvalidInput(
                "表格文件已损坏或无法读取,请用 Excel 或 WPS 打开后另存再上传", field="file"
            ) from None

    def sheet(self, name: str | None) -> str:
        """The sheet asked for: the first if none, every sheet for "*"."""
        if not name:
            return self.sheets[0]
        if name == "*":
            return name
        if name not in self.sheets:
            raise InvalidInput(
                f"没有工作表「{name}」;文件中有:{'、'.join(self.sheets)}", field="sheet"
            )
        return name

    def size_hint(self, sheet: str) -> int | None:
        """How many rows the sheet says it has (before reading them), where it says so."""
        if self.kind == "csv":
            return self._text.count("\n") + 1
        if self.kind == "xlsx":
            book = _open_xlsx(self.data)
            try:
                rows = book[sheet].max_row
            finally:
                book.close()
            return int(rows) if rows else None
        return None

    def rows(self, sheet: str) -> Iterator[list[Any]]:
        try:
            if self.kind == "csv":
                yield from _csv_rows(self._text)
            elif self.kind == "xlsx":
                yield from _xlsx_rows(self.data, sheet)
            else:
                yield from (
                    list(r) for r in _open_xls(self.data).get_sheet_by_name(sheet).to_python()
                )
        except InvalidInput:
            raise
        except Exception:
            # Whatever a damaged or disguised file makes a reader raise mid-way is the file's
            # fault (and the import's transaction takes back what the rows before it did).
            raise InvalidInput(
                "表格文件已损坏或无法读取,请用 Excel 或 WPS 打开后另存再上传", field="file"
            ) from None


def _kind(data: bytes) -> str:
    if not data:
        raise InvalidInput("文件是空的", field="file")
    if data.startswith(ZIP):
        try:
            members = zipfile.ZipFile(io.BytesIO(data)).infolist()
        except zipfile.BadZipFile:
            raise InvalidInput("ZIP 文件已损坏,不是 Excel 表格", field="file") from None
        names = [m.filename for m in members]
        # A small file that unpacks to gigabytes (a "zip bomb") would take the server's memory.
        unpacked = sum(m.file_size for m in members)
        if unpacked > MAX_UNPACKED or unpacked > RATIO_LIMIT * len(data):
            raise InvalidInput(
                f"表格解压后过大({unpacked // 1024 // 1024} MB),不像正常的台账文件", field="file"
            )
        if "xl/workbook.xml" not in names:
            raise InvalidInput(f"这是压缩文件,但不是 Excel 表格(.xlsx);{NOT_A_SHEET}", field="file")
        return "xlsx"
    if data.startswith(OLE2):
        return "xls"
    if b"\x00" in data[:65536] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InvalidInput(NOT_A_SHEET, field="file")
    return "csv"


def _decoded(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ["utf-16"]
    else:
        encodings = ["utf-8-sig", "gb18030"]
    for encoding in encodings:
        try:
            out = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in out:
            raise InvalidInput("文件中含有空字符(NUL),不是正常的文本表格", field="file")
        first = out[:4096].splitlines()[:5]
        if not any(sep in line for line in first for sep in (",", "\t", ";")):
            raise InvalidInput(NOT_A_SHEET, field="file")
        return out
    raise InvalidInput("无法识别文件的文字编码(应为 UTF-8 或 GBK)", field="file")


def _csv_rows(text: str) -> Iterator[list[Any]]:
    sample = text[:8192]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    yield from csv.reader(io.StringIO(text), dialect)


def _open_xlsx(data: bytes) -> Any:
    import openpyxl

    return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)


def _open_xls(data: bytes) -> Any:
    from python_calamine import CalamineWorkbook

    return CalamineWorkbook.from_filelike(io.BytesIO(data))


def _xlsx_rows(data: bytes, sheet: str) -> Iterator[list[Any]]:
    book = _open_xlsx(data)
    try:
        for row in book[sheet].iter_rows():
            yield [
                Formula(str(c.value)) if getattr(c, "data_type", "") == "f" else c.value
                for c in row
            ]
    finally:
        book.close()
