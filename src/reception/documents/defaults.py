"""The built-in templates: one DOCX per kind, made with python-docx, with docxtpl (Jinja)
fields. An office may replace any of them with its own (uploaded, validated); these stay the
fallback (version 0). What each field means is in `rendering.context_for`."""

from __future__ import annotations

import io
from functools import cache

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

ADDRESSEE = "{{ petitioners }}:"
RECEIVED = (
    "你(你们)于{{ received_on }}提出的信访事项(事项编号:{{ reference }},内容:{{ summary }}),"
    "本机关已收悉。"
)

BODIES: dict[str, list[str]] = {
    "accept_notice": [
        ADDRESSEE,
        RECEIVED,
        "根据《信访工作条例》第二十三条、第三十条的规定,本机关决定予以受理,由{{ unit_name }}"
        "负责办理,并将在{{ handle_due }}前作出处理意见、书面答复你(你们)。",
        "你(你们)可以凭查询码 {{ query_code }},加上登记时所留身份证号码或电话号码的后4位,"
        "查询办理进展和结果。",
    ],
    "reject_notice": [
        ADDRESSEE,
        RECEIVED,
        "经审查:{{ reason }}。根据《信访工作条例》第三十条的规定,本机关决定不予受理。",
        "你(你们)可以{{ redirect_to }}。",
    ],
    "transfer_notice": [
        ADDRESSEE,
        RECEIVED,
        "本机关已于{{ issued_on }}将该事项转送(交办){{ transferred_to }}处理。根据《信访工作条例》"
        "第二十三条的规定,{{ transferred_to }}应当自收到之日起15日内决定是否受理,并书面告知你(你们)。",
    ],
    "extension_notice": [
        ADDRESSEE,
        "你(你们)的信访事项(事项编号:{{ reference }})由本机关于{{ accepted_on }}受理,"
        "原定于{{ original_due }}前办结。",
        "因{{ reason }},经{{ approver }}批准,根据《信访工作条例》第三十四条的规定,办理期限延长"
        "{{ days }}日,本机关将在{{ new_due }}前作出处理意见并书面答复你(你们)。",
    ],
    "reply_opinion": [
        ADDRESSEE,
        "你(你们)于{{ received_on }}提出的信访事项(事项编号:{{ reference }},内容:{{ summary }}),"
        "本机关于{{ accepted_on }}受理。现出具处理意见如下:",
        "一、查明的事实:{{ facts }}",
        "二、处理依据:{{ basis }}",
        "三、处理意见:{{ decision }}",
        "如不服本处理意见,可以自收到本意见书之日起30日内向{{ review_body }}请求复查。"
        "{% if review_window_end %}本意见书于{{ delivered_on }}送达,请求复查的期限至"
        "{{ review_window_end }}。{% endif %}",
    ],
    "review_opinion": [
        ADDRESSEE,
        "你(你们)不服对信访事项(事项编号:{{ reference }})的处理意见(文号:{{ reply_number }}),"
        "于{{ review_requested_on }}请求复查。经复查:",
        "一、查明的事实:{{ facts }}",
        "二、复查依据:{{ basis }}",
        "三、复查意见:{{ decision }}",
        "如不服本复查意见,可以自收到本意见书之日起30日内向{{ re_review_body }}请求复核。",
    ],
    "re_review_opinion": [
        ADDRESSEE,
        "你(你们)不服对信访事项(事项编号:{{ reference }})的复查意见,于{{ re_review_requested_on }}"
        "请求复核。{% if hearing_days %}复核期间举行听证{{ hearing_days }}日,依法不计入复核期限。"
        "{% endif %}经复核:",
        "一、查明的事实:{{ facts }}",
        "二、复核依据:{{ basis }}",
        "三、复核意见:{{ decision }}",
        "本复核意见为最终意见。根据《信访工作条例》第三十六条的规定,信访人对复核意见不服,仍然以"
        "同一事实和理由提出信访事项的,不再受理。",
    ],
    "diversion_notice": [
        ADDRESSEE,
        RECEIVED,
        "经审查,该事项属于依法应当通过{{ procedure }}等法定途径解决的事项。根据《信访工作条例》"
        "第三十一条的规定,请你(你们)依法{{ procedure }}{% if organ %}(可以向{{ organ }}提出)"
        "{% endif %},本机关不再按信访程序处理。",
    ],
}

RECEIPT_ROWS = [
    ("送达文书", "{{ doc_title }}"),
    ("文号", "{{ doc_number }}"),
    ("信访事项编号", "{{ reference }}"),
    ("受送达人", "{{ petitioners }}"),
    ("送达地点", "{{ address }}"),
    ("送达方式", "□直接送达  □邮寄送达  □电子送达  □留置送达  □公告送达"),
    ("受送达人签名或盖章", "                    年    月    日"),
    ("代收人及代收理由", ""),
    ("见证人(留置送达)", ""),
    ("送达人", "                    年    月    日"),
    ("备注", "{{ note }}"),
]


def _font(run: object, size: int, bold: bool = False) -> None:
    run.font.size = Pt(size)  # type: ignore[attr-defined]
    run.font.bold = bold  # type: ignore[attr-defined]
    run.font.name = "Times New Roman"  # type: ignore[attr-defined]
    run._element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")  # type: ignore[attr-defined]


def _paragraph(
    doc: object,
    text: str,
    *,
    size: int = 14,
    bold: bool = False,
    align: object = None,
    indent: bool = False,
) -> None:
    p = doc.add_paragraph()  # type: ignore[attr-defined]
    if align is not None:
        p.alignment = align
    if indent:
        p.paragraph_format.first_line_indent = Pt(size * 2)
    p.paragraph_format.line_spacing = Pt(size * 1.8)
    _font(p.add_run(text), size, bold)


@cache
def template(kind: str) -> bytes:
    """The built-in DOCX of a kind (A4; office, title, 文号, body, signature)."""
    doc = Document()
    section = doc.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.left_margin = section.right_margin = Cm(2.8)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    _paragraph(doc, "{{ office_name }}", size=16, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    _paragraph(doc, "{{ title }}", size=22, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    _paragraph(doc, "{{ number }}", size=14, align=WD_ALIGN_PARAGRAPH.CENTER)
    if kind == "service_receipt":
        table = doc.add_table(rows=len(RECEIPT_ROWS), cols=2)
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        for row, (label, value) in zip(table.rows, RECEIPT_ROWS, strict=True):
            row.cells[0].width, row.cells[1].width = Cm(4.5), Cm(10.9)
            _font(row.cells[0].paragraphs[0].add_run(label), 12, True)
            _font(row.cells[1].paragraphs[0].add_run(value), 12)
    else:
        for i, text in enumerate(BODIES[kind]):
            _paragraph(doc, text, indent=i > 0)
    _paragraph(doc, "", size=14)
    _paragraph(doc, "{{ office_name }}", align=WD_ALIGN_PARAGRAPH.RIGHT)
    _paragraph(doc, "{{ issued_on }}", align=WD_ALIGN_PARAGRAPH.RIGHT)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()
