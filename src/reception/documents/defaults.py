"""The built-in templates: one DOCX per kind in the national layout (documents.gongwen), with
docxtpl (Jinja) fields. An office may replace any of them with its own (uploaded, validated);
these stay the fallback (version 0). What each field means is in `rendering.SAMPLE`.

The text is written as a petition office writes these notices: full-width punctuation, the
petitioners addressed as {{ you }} (你 or 你们), the clerk's passages one paragraph a line and
the decision's items as （一）（二） under their own heading (wording.items)."""

from __future__ import annotations

import io
from functools import cache

from reception.documents.gongwen import (
    Block,
    body,
    document,
    form_head,
    head,
    signature,
    table,
)

TO = Block("to", "{{ petitioners }}：")
RECEIVED = Block(
    "p",
    "{{ you }}于{{ received_on }}提出的信访事项（事项编号：{{ reference }}，反映：{{ summary }}），"
    "本机关已收悉。",
)


def _loop(name: str) -> list[Block]:
    """A passage of the clerk's, one paragraph a line (a docxtpl paragraph loop)."""
    return [
        Block("loop", f"{{%p for line in {name} %}}"),
        Block("p", "{{ line }}"),
        Block("loop", "{%p endfor %}"),
    ]


def _opinion(facts: str, basis: str, decision: str) -> list[Block]:
    return [
        Block("h1", f"一、{facts}"),
        *_loop("facts_paragraphs"),
        Block("h1", f"二、{basis}"),
        *_loop("basis_paragraphs"),
        Block("h1", f"三、{decision}"),
        *_loop("decision_items"),
    ]


BODIES: dict[str, list[Block]] = {
    "accept_notice": [
        TO,
        RECEIVED,
        Block(
            "p",
            "根据《信访工作条例》第二十三条、第三十条的规定，经审查，本机关决定予以受理，由"
            "{{ unit_name }}负责办理，并将在{{ handle_due }}前作出处理意见，书面答复{{ you }}。",
        ),
        Block(
            "p",
            "{{ you }}可以登录{{ query_page }}（信访事项查询页），凭本告知书的查询码"
            "{{ query_code }}和登记时所留身份证号码或者电话号码的后4位，查询办理进展和结果；"
            "收到处理意见后，还可以在该页对答复作出评价。请妥善保管查询码，不要告诉他人。",
        ),
    ],
    "reject_notice": [
        TO,
        RECEIVED,
        Block(
            "p",
            "经审查，{{ reason }}。根据《信访工作条例》第三十条的规定，本机关决定不予受理。",
        ),
        Block("p", "{{ you }}可以{{ redirect_to }}。"),
    ],
    "transfer_notice": [
        TO,
        RECEIVED,
        Block(
            "p",
            "根据《信访工作条例》第二十三条的规定，本机关已于{{ issued_on }}将该事项转送（交办）"
            "{{ transferred_to }}处理。{{ transferred_to }}应当自收到之日起15日内决定是否受理，"
            "并书面告知{{ you }}。",
        ),
    ],
    "extension_notice": [
        TO,
        Block(
            "p",
            "{{ you }}提出的信访事项（事项编号：{{ reference }}），本机关于{{ accepted_on }}受理，"
            "原定于{{ original_due }}前办结。",
        ),
        Block(
            "p",
            "因{{ reason }}，经{{ approver }}批准，根据《信访工作条例》第三十四条的规定，办理期限"
            "延长{{ days }}日。本机关将在{{ new_due }}前作出处理意见，并书面答复{{ you }}。",
        ),
    ],
    "reply_opinion": [
        TO,
        Block(
            "p",
            "{{ you }}于{{ received_on }}提出的信访事项（事项编号：{{ reference }}，反映："
            "{{ summary }}），本机关于{{ accepted_on }}依法受理。经调查核实，现将处理意见告知如下：",
        ),
        *_opinion("查明的事实", "处理依据", "处理意见"),
        Block(
            "p",
            "如不服本处理意见，{{ you }}可以自收到本意见书之日起30日内，向{{ review_body }}"
            "书面请求复查。{% if review_window_end %}本意见书于{{ delivered_on }}送达，请求复查的"
            "期限至{{ review_window_end }}。{% endif %}",
        ),
    ],
    "review_opinion": [
        TO,
        Block(
            "p",
            "{{ you }}不服对信访事项（事项编号：{{ reference }}）的处理意见（{{ reply_number }}），"
            "于{{ review_requested_on }}请求复查。经复查，现将复查意见告知如下：",
        ),
        *_opinion("查明的事实", "复查依据", "复查意见"),
        Block(
            "p",
            "如不服本复查意见，{{ you }}可以自收到本意见书之日起30日内，向{{ re_review_body }}"
            "书面请求复核。",
        ),
    ],
    "re_review_opinion": [
        TO,
        Block(
            "p",
            "{{ you }}不服对信访事项（事项编号：{{ reference }}）的复查意见，于"
            "{{ re_review_requested_on }}请求复核。{% if hearing_days %}复核期间举行听证"
            "{{ hearing_days }}日，依法不计入复核期限。{% endif %}经复核，现将复核意见告知如下：",
        ),
        *_opinion("查明的事实", "复核依据", "复核意见"),
        Block(
            "p",
            "本复核意见为最终意见。根据《信访工作条例》第三十六条的规定，对复核意见不服，仍然以"
            "同一事实和理由提出信访事项的，不再受理。",
        ),
    ],
    "diversion_notice": [
        TO,
        RECEIVED,
        Block(
            "p",
            "经审查，该事项属于依法应当通过{{ procedure }}等法定途径解决的事项。根据《信访工作"
            "条例》第三十一条的规定，请{{ you }}依法{{ procedure }}{% if organ %}（可以向"
            "{{ organ }}提出）{% endif %}，本机关不再按信访程序处理。",
        ),
    ],
}

# 送达回证: the form the recipient signs, filled from the delivery recorded (if any).
RECEIPT_ROWS: list[tuple[str, str, float]] = [
    ("受送达人", "{{ petitioners }}", 13),
    ("送达文书", "《{{ doc_title }}》\n{{ doc_number }}", 22),
    ("送达方式", "{{ method_box }}", 22),
    ("送达地点", "{{ place }}", 13),
    ("送达人", "{{ served_by }}", 13),
    ("见证人", "{{ witnesses }}", 13),
    ("签收人签名", "\n{{ signed_on }}", 30),
    ("备注", "{{ note }}", 18),
]


@cache
def template(kind: str, office: str) -> bytes:
    """The built-in DOCX of a kind for the office whose name it carries (the 发文机关标志's size
    and the signature's place are measured from the name)."""
    doc = document()
    if kind == "service_receipt":
        form_head(doc, office, number="{{ number }}", title="{{ title }}")
        table(doc, RECEIPT_ROWS, label_mm=34)
    else:
        head(doc, office, number="{{ number }}", title="{{ title }}")
        body(doc, BODIES[kind])
    signature(doc, office, "{{ issued_on }}", space=1 if kind == "service_receipt" else 2)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
