"""代办登记表 (a document): the form the petitioner signs (or marks) when a grid worker files for them — in
the layout of the office's other forms (documents.gongwen, like the 送达回证), rendered in the
notices' sandbox with its own documented fields. It holds the petitioner's identity: it goes
only to those who see the filing whole (the worker who filed it, the township's clerks)."""

from __future__ import annotations

import io
from functools import cache
from typing import Any

from litestar import Response
from sqlalchemy.ext.asyncio import AsyncSession

from reception import pii
from reception.audit import service as audit
from reception.auth import Principal
from reception.context import Context
from reception.documents import rendering
from reception.documents.gongwen import document, form_head, signature, table
from reception.errors import Forbidden
from reception.org.models import Unit
from reception.proxy import rules, service
from reception.proxy.models import ProxyFiling
from reception.responses import attachment
from reception.wording import chinese_date

TITLE = "网格员代办信访事项登记表"
FIELDS: dict[str, tuple[str, Any]] = {
    "office_name": ("机关", "天津市蓟州区信访办公室"),
    "title": ("表名", TITLE),
    "number": ("代办编号", "蓟信代〔2026〕00001"),
    "issued_on": ("填表日期", "2026年12月1日"),
    "village": ("村(社区)", "小杨家庄村"),
    "worker": ("网格员", "杨某网"),
    "received_on": ("收到日期", "2026年12月1日"),
    "petitioner": ("信访人", "张某明"),
    "id_number": ("身份证号", "120225197001011234"),
    "phone": ("联系电话", "13812345678"),
    "address": ("住址", "下仓镇小杨家庄村"),
    "people_count": ("人数", "1"),
    "summary": ("反映的事项", "邻里通行纠纷"),
    "consent": ("同意代办的方式", "本人签字"),
}
SAMPLE: dict[str, Any] = {name: example for name, (_, example) in FIELDS.items()}
ROWS: list[tuple[str, str, float]] = [
    ("村(社区)", "{{ village }}　网格员：{{ worker }}", 12),
    ("收到日期", "{{ received_on }}", 12),
    ("信访人", "{{ petitioner }}（共{{ people_count }}人）", 12),
    ("身份证号", "{{ id_number }}", 12),
    ("联系电话", "{{ phone }}", 12),
    ("住址", "{{ address }}", 14),
    ("反映的事项", "{{ summary }}", 45),
    (
        "信访人意见",
        "本人同意由网格员代为向乡镇（街道）提出上述信访事项，所填信息属实。"
        "\n同意方式：{{ consent }}\n\n信访人（签字或按手印）：",
        40,
    ),
]


@cache
def template(office: str) -> bytes:
    doc = document()
    form_head(doc, office, number="{{ number }}", title="{{ title }}")
    table(doc, ROWS, label_mm=32)
    signature(doc, office, "{{ issued_on }}", space=1)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def render(office: str, context: dict[str, Any]) -> bytes:
    return rendering.render(template(office), {**context, "title": TITLE}, SAMPLE)


async def form_file(
    session: AsyncSession, ctx: Context, actor: Principal | None, filing: ProxyFiling
) -> Response[bytes]:
    """The filled 代办登记表 (DOCX): only to those who see the filing whole; audited."""
    village = await session.get(Unit, filing.village_id)
    if village is None or not await service.sees_whole(session, actor, filing):
        raise Forbidden("代办登记表含信访人身份信息,只提供给代办的网格员和承办的信访干部")
    id_number, phone, address = pii.opened(ctx.keys, filing, *service.SEALED_FIELDS)
    body = render(
        ctx.settings.office_name,
        {
            "office_name": ctx.settings.office_name,
            "number": filing.reference,
            "issued_on": chinese_date(filing.received_on),
            "village": village.name,
            "worker": filing.worker_name,
            "received_on": chinese_date(filing.received_on),
            "petitioner": filing.name,
            "id_number": id_number,
            "phone": phone,
            "address": address,
            "people_count": filing.people_count,
            "summary": filing.summary,
            "consent": rules.CONSENT_LABELS[filing.consent],
        },
    )
    await audit.record(
        session=session, actor=actor, action="proxy.form", target_type="proxy_filing",
        target_id=filing.id, after={"reference": filing.reference},
    )  # fmt: skip
    return Response(
        body,
        media_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        headers={
            "Content-Disposition": attachment(
                f"代办登记表_{filing.reference}.docx", f"proxy-{filing.id}.docx"
            )
        },
    )
