"""Rendering a notice: a DOCX template (the office's or the built-in one) filled with what the
case, its clocks and the clerk say. The text a template may use is `SAMPLE` (also what an
uploaded template must render with before it is accepted)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from typing import Any

from docxtpl import DocxTemplate

from reception.sandbox import SecurityError, environment

# Every field a template may use: what it holds, and an example (the sample case an upload
# must render with, and the template admin page's list).
FIELDS: dict[str, tuple[str, Any]] = {
    "office_name": ("出具文书的机关(系统设置中的机关名称)", "天津市蓟州区信访办公室"),
    "title": ("文书名称", "信访事项处理意见书"),
    "number": ("文号,出具时自动编号", "蓟信复〔2026〕1号"),
    "issued_on": ("成文日期", "2026年10月8日"),
    "petitioners": ("信访人姓名(多人以顿号分隔)", "张某明"),
    "you": ("对信访人的称呼:一人为“你”,多人为“你们”", "你"),
    "address": ("信访人住址", "蓟州区下仓镇小杨家庄村"),
    "reference": ("信访事项编号", "蓟信〔2026〕00001"),
    "received_on": ("收到日期", "2026年9月16日"),
    "registered_on": ("登记日期", "2026年9月16日"),
    "accepted_on": ("受理日期", "2026年9月21日"),
    "summary": ("反映的事项", "小区逾期交房，要求开发商履约交付"),
    "unit_name": ("承办单位", "下仓镇人民政府"),
    "handle_due": ("办理期限届满日(受理告知书;按工作日历计算)", "2026年11月20日"),
    "query_code": ("查询码(受理告知书)", "ACDEF-GHJKL"),
    "query_page": ("信访人查询页的网址(受理告知书)", "http://127.0.0.1:8000/public"),
    "reason": ("理由:不予受理的理由,或延期的理由", "该事项已经依法处理完毕"),
    "redirect_to": ("告知去向(不予受理告知书)", "向人民法院提起诉讼"),
    "transferred_to": ("转送(交办)的机关", "蓟州区住房和建设委员会"),
    "original_due": ("延期前的办理期限(延期告知书)", "2026年11月20日"),
    "new_due": ("延期后的办理期限(延期告知书)", "2026年12月21日"),
    "days": ("延长天数", "30"),
    "approver": ("批准延期的负责人", "区信访办主任黄某辛"),
    "facts": ("查明的事实(整段)", "经核查，……"),
    "basis": ("处理依据(整段)", "《信访工作条例》……"),
    "decision": ("处理意见(整段)", "……"),
    "facts_paragraphs": ("查明的事实,逐段(写法见上)",
                         ["经核查，开发商已承诺于12月底前交房。"]),
    "basis_paragraphs": ("处理依据,逐段", ["《城市房地产开发经营管理条例》第三十条。"]),
    "decision_items": ("处理意见,逐项,多项时已编为(一)(二)",
                       ["（一）督促开发商按期交房；", "（二）逾期按合同约定支付违约金。"]),
    "review_body": ("受理复查的机关", "蓟州区人民政府"),
    "re_review_body": ("受理复核的机关", "天津市人民政府"),
    "delivered_on": ("处理意见书的送达日期(已送达时)", "2026年9月28日"),
    "review_window_end": ("请求复查的期限(已送达时;按工作日历计算)", "2026年10月28日"),
    "reply_number": ("处理意见书的文号(复查意见书)", "蓟信复〔2026〕1号"),
    "review_requested_on": ("请求复查的日期", "2026年10月12日"),
    "re_review_requested_on": ("请求复核的日期", "2026年11月2日"),
    "hearing_days": ("复核期间听证的天数", "3"),
    "procedure": ("导入的法定途径", "申请行政复议"),
    "organ": ("可以向哪个机关提出(导入法定程序告知书)", "蓟州区人民政府"),
    "doc_title": ("送达的文书名称(送达回证)", "信访事项处理意见书"),
    "doc_number": ("送达的文书文号(送达回证)", "蓟信复〔2026〕1号"),
    "method_box": ("送达方式,已登记的打“☑”(送达回证)",
                   "☑直接送达　□留置送达　□委托送达\n□邮寄送达　□电子送达　□公告送达"),
    "place": ("送达地点(送达回证)", "区信访局接待大厅"),
    "served_by": ("送达人(送达回证)", "褚某记"),
    "witnesses": ("见证人(留置送达)", ""),
    "signed_on": ("签收日期(已送达时),否则留空待填", "2026年9月28日"),
    "note": ("备注", ""),
}  # fmt: skip
SAMPLE: dict[str, Any] = {name: example for name, (_, example) in FIELDS.items()}
# The fields that hold paragraphs (a list each), not one text.
LISTS = frozenset(name for name, example in SAMPLE.items() if isinstance(example, list))


class TemplateBroken(ValueError):
    """A template that is not a DOCX, or does not render (the message says why)."""


def check_docx(content: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            if "word/document.xml" not in archive.namelist():
                raise TemplateBroken("不是 Word 文档(.docx):缺少 word/document.xml")
    except zipfile.BadZipFile as exc:
        raise TemplateBroken("不是 Word 文档(.docx)") from exc


def render(
    template: bytes, context: dict[str, Any], documented: Mapping[str, Any] = SAMPLE
) -> bytes:
    """The DOCX for `context`, rendered in the sandbox with the documented fields only (as
    text; `documented`: a notice's fields and their examples — the case notices' by default).
    Any failure of the template is a TemplateBroken."""
    check_docx(template)
    lists = {k for k, v in documented.items() if isinstance(v, list)}
    fields: dict[str, Any] = {
        k: [str(x) for x in v] if k in lists else str(v)
        for k, v in context.items()
        if k in documented
    }
    try:
        doc = DocxTemplate(io.BytesIO(template))
        unknown = doc.get_undeclared_template_variables(jinja_env=environment(strict=True)) - set(
            documented
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
