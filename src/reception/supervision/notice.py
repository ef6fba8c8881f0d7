"""督办单 (督办通知): the document a conference's decision goes out as — in the national layout
the notices use (documents.gongwen), rendered in the same sandbox (documents.rendering) with
its own documented fields. Never a petitioner's name: the matter by its reference."""

from __future__ import annotations

import io
from functools import cache
from typing import Any

from litestar import Response

from reception.context import Context
from reception.documents import converter, rendering
from reception.documents.gongwen import Block, body, document, head, signature
from reception.responses import attachment
from reception.supervision.models import Decision

TITLE = "信访事项督办通知"
# The fields the 督办单 template may use, with an example each.
FIELDS: dict[str, tuple[str, Any]] = {
    "office_name": ("发文机关", "天津市蓟州区信访办公室"),
    "title": ("文书名称", TITLE),
    "number": ("督办单编号", "蓟信督〔2026〕1号"),
    "issued_on": ("成文日期", "2026年12月1日"),
    "owner_unit": ("承办单位(主送)", "下仓镇人民政府"),
    "conference": ("联席会议", "2026年第12次信访工作联席会议"),
    "held_on": ("会议日期", "2026年11月28日"),
    "convener": ("召集领导", "李某乙(区长)"),
    "matter": ("督办事项(编号与领域,不含信访人信息)", "蓟信〔2026〕00001(涉房)"),
    "content": ("议定事项", "由下仓镇牵头,会同区住建委约谈开发商,制定交房方案"),
    "done_criteria": ("办结标准", "开发商书面承诺交房日期并报区住建委备案"),
    "deadline": ("办结时限", "2026年12月15日"),
}
SAMPLE: dict[str, Any] = {name: example for name, (_, example) in FIELDS.items()}

BODY = [
    Block("to", "{{ owner_unit }}："),
    Block(
        "p",
        "{{ held_on }}召开的{{ conference }}（召集人：{{ convener }}）研究了{{ matter }}，"
        "议定：{{ content }}。现将该事项交由你单位牵头办理，请于{{ deadline }}前办结"
        "（办结标准：{{ done_criteria }}），并将办理情况书面报告区信访工作联席会议办公室。",
    ),
    Block(
        "p",
        "逾期未办结的，联席会议办公室将予以催办，并在月度信访工作点评会上通报，"
        "防止信访事项“空转”。",
    ),
]


@cache
def template(office: str) -> bytes:
    """The built-in 督办单 for the office."""
    doc = document()
    head(doc, office, number="{{ number }}", title="{{ title }}")
    body(doc, BODY)
    signature(doc, office, "{{ issued_on }}")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def render(office: str, context: dict[str, Any]) -> bytes:
    """The 督办单 for a decision (the built-in template, sandboxed like every notice)."""
    return rendering.render(template(office), {**context, "title": TITLE}, SAMPLE)


async def notice_file(ctx: Context, decision: Decision, fmt: str) -> Response[bytes]:
    """The 督办单 as issued: the DOCX kept with the decision, or a PDF made from it."""
    body = decision.notice
    media = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    if fmt == "pdf":
        body, media = await converter.to_pdf(ctx.settings, body), "application/pdf"
    return Response(
        body,
        media_type=media,
        headers={
            "Content-Disposition": attachment(
                f"督办通知_{decision.number}.{fmt}", f"decision-{decision.id}.{fmt}"
            )
        },
    )
