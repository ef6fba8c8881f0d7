"""Rendering a notice: a DOCX template (the office's or the built-in one) filled with what the
case, its clocks and the clerk say. The text a template may use is `SAMPLE` (also what an
uploaded template must render with before it is accepted)."""

from __future__ import annotations

import asyncio
import io
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from docxtpl import DocxTemplate

from reception.sandbox import SecurityError, environment

# Every field a template may use, with an example (the sample case an upload must render).
SAMPLE: dict[str, str] = {
    "office_name": "天津市蓟州区信访办公室",
    "title": "信访事项处理意见书",
    "number": "蓟信复〔2026〕1号",
    "issued_on": "2026年10月8日",
    "petitioners": "张某明",
    "address": "蓟州区下仓镇小杨家庄村",
    "reference": "蓟信〔2026〕00001",
    "received_on": "2026年9月16日",
    "registered_on": "2026年9月16日",
    "accepted_on": "2026年9月21日",
    "summary": "小区逾期交房,要求开发商履约交付",
    "unit_name": "下仓镇人民政府",
    "handle_due": "2026年11月20日",
    "query_code": "ACDEF-GHJKL",
    "reason": "该事项已经依法处理完毕",
    "redirect_to": "向人民法院提起诉讼",
    "transferred_to": "蓟州区住房和建设委员会",
    "original_due": "2026年11月20日",
    "new_due": "2026年12月21日",
    "days": "30",
    "approver": "区信访办主任黄某辛",
    "facts": "经核查,……",
    "basis": "《信访工作条例》……",
    "decision": "……",
    "review_body": "蓟州区人民政府",
    "re_review_body": "天津市人民政府",
    "delivered_on": "2026年9月28日",
    "review_window_end": "2026年10月28日",
    "reply_number": "蓟信复〔2026〕1号",
    "review_requested_on": "2026年10月12日",
    "re_review_requested_on": "2026年11月2日",
    "hearing_days": "3",
    "procedure": "申请行政复议",
    "organ": "蓟州区人民政府",
    "doc_title": "信访事项处理意见书",
    "doc_number": "蓟信复〔2026〕1号",
    "note": "",
}


class TemplateBroken(ValueError):
    """A template that is not a DOCX, or does not render (the message says why)."""


def check_docx(content: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            if "word/document.xml" not in archive.namelist():
                raise TemplateBroken("不是 Word 文档(.docx):缺少 word/document.xml")
    except zipfile.BadZipFile as exc:
        raise TemplateBroken("不是 Word 文档(.docx)") from exc


def render(template: bytes, context: dict[str, Any]) -> bytes:
    """The DOCX for `context`, rendered in the sandbox with the documented fields only (as
    text). Any failure of the template is a TemplateBroken."""
    check_docx(template)
    fields = {k: str(v) for k, v in context.items() if k in SAMPLE}
    try:
        doc = DocxTemplate(io.BytesIO(template))
        unknown = doc.get_undeclared_template_variables(jinja_env=environment(strict=True)) - set(
            SAMPLE
        )
        if unknown:
            raise TemplateBroken(f"模板中有未知字段:{'、'.join(sorted(unknown))}")
        doc.render(fields, jinja_env=environment(strict=True), autoescape=True)
        out = io.BytesIO()
        doc.save(out)
    except TemplateBroken:
        raise
    except SecurityError as exc:
        # A field's hidden attributes or methods, a huge product: not what a notice needs.
        what = str(exc) if not str(exc).isascii() else "访问字段的内部属性或方法"
        raise TemplateBroken(f"模板使用了不允许的写法({what}),只能使用文档列出的字段") from exc
    except Exception as exc:  # Jinja syntax, a broken document: the template is at fault
        raise TemplateBroken(f"模板无法生成文书:{type(exc).__name__}: {exc}") from exc
    return out.getvalue()


def text_of(docx: bytes) -> str:
    """The document's text, paragraphs and table cells (for tests and the PDF check)."""
    from docx import Document

    doc = Document(io.BytesIO(docx))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


# ---------------------------------------------------------------- PDF


class NoConverter(RuntimeError):
    """LibreOffice is not installed: PDFs cannot be made on this machine."""


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def _to_pdf(docx: bytes) -> bytes:
    binary = soffice()
    if binary is None:
        raise NoConverter("未安装 LibreOffice(soffice),无法生成 PDF;可下载 DOCX 打印")
    with tempfile.TemporaryDirectory(prefix="reception-pdf-") as tmp:
        work = Path(tmp)
        (work / "doc.docx").write_bytes(docx)
        # Each conversion gets its own profile: LibreOffice runs one instance per profile.
        subprocess.run(
            [
                binary,
                f"-env:UserInstallation=file://{work / 'profile'}",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                str(work),
                str(work / "doc.docx"),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        return (work / "doc.pdf").read_bytes()


async def to_pdf(docx: bytes) -> bytes:
    return await asyncio.to_thread(_to_pdf, docx)
