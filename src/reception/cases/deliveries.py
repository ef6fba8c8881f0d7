"""Recording 送达: the one function every route ends in (the case page, the `deliver` step, a
notice's own route, an import). It checks the attempt by the rules of `cases.delivery`, keeps
it as one row of `case_delivery` and, for a scan of the evidence, seals it like the notices.
What a delivery does to the case (the 复查 window from the reply's delivery) is the `deliver`
step of the stage machine (cases.service)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.audit import service as audit
from reception.auth import Principal
from reception.cases import delivery as rules
from reception.cases import schemas
from reception.cases.access import for_change, get_case
from reception.cases.models import CaseDelivery, PetitionCase
from reception.context import Context
from reception.crypto import Undecryptable, checksum_matches
from reception.db import flush_or_conflict
from reception.errors import Broken, Forbidden, InvalidInput, NotFound
from reception.org.models import Unit
from reception.privacy import shows_whole

TABLE = "case_delivery"
EVIDENCE_TYPES = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}
EVIDENCE_MAX = 5 * 1024 * 1024


def method_code(written: str, prefix: str = "") -> str:
    """A method as the client wrote it, or a 422 naming the methods there are."""
    if not written.strip():
        raise InvalidInput("请选择送达方式", field=f"{prefix}method")
    code = rules.method_of(written)
    if code is None:
        raise InvalidInput(
            f"送达方式“{written.strip()}”不是法定的送达方式;可用:{rules.allowed_methods()}",
            field=f"{prefix}method",
        )
    return code


async def _failed_before(session: AsyncSession, case_id: int, number: str) -> bool:
    """Whether an attempt by another method failed to serve this notice."""
    found = await session.scalar(
        select(CaseDelivery.id).where(
            col(CaseDelivery.case_id) == case_id,
            col(CaseDelivery.doc_number) == number,
            col(CaseDelivery.outcome) == "failed",
            col(CaseDelivery.method) != "public",
        )
    )
    return found is not None


async def record(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    case: PetitionCase,
    doc_number: str,
    issued_on: date,
    data: schemas.DeliveryIn,
    prefix: str = "",
) -> CaseDelivery:
    """One attempt to serve a notice, checked and kept (a second successful one is a 409).
    `prefix`: where the delivery sits in the request body (errors name its fields so)."""
    if case.id is None:
        raise Broken("expected: a registered case")
    method = method_code(data.method, prefix)
    on = data.on or ctx.today()
    values = {field: getattr(data, field) for field in data.__struct_fields__}
    found = rules.problems(
        method, values, outcome=data.outcome, on=on, earliest=issued_on, today=ctx.today()
    )
    if method == "public" and data.outcome == "delivered":
        if not await _failed_before(session, case.id, doc_number):
            found.append(
                ("method", "公告送达只能在直接、邮寄等方式未能送达之后采用:请先登记未能送达的那次")
            )
    if found:
        raise InvalidInput(
            found[0][1],
            errors=[{"field": f"{prefix}{f}", "message": m} for f, m in found],
        )
    row = CaseDelivery(
        case_id=case.id,
        doc_number=doc_number,
        method=method,
        outcome=data.outcome,
        delivered_on=on,
        place=data.place.strip(),
        recipient=data.recipient.strip(),
        no_recipient_reason=data.no_recipient_reason.strip(),
        witnesses=data.witnesses.strip(),
        entrusted_to=data.entrusted_to.strip(),
        mail_number=data.mail_number.strip(),
        consent=data.consent.strip(),
        carrier=data.carrier.strip(),
        posted_on=data.posted_on,
        failure_reason=data.failure_reason.strip(),
        note=data.note.strip(),
        staff_user_id=actor.user_id if actor else None,
        staff_name=audit.actor_name(actor),
    )
    await flush_or_conflict(session, f"{doc_number} 已登记送达(刚被他人登记)", row)
    return row


def out(row: CaseDelivery) -> schemas.DeliveryOut:
    return schemas.DeliveryOut(
        id=row.id or 0,
        case_id=row.case_id,
        doc_number=row.doc_number,
        method=row.method,
        method_label=rules.METHOD_LABELS[row.method],
        outcome=row.outcome,
        delivered_on=row.delivered_on,
        place=row.place,
        recipient=row.recipient,
        no_recipient_reason=row.no_recipient_reason,
        witnesses=row.witnesses,
        entrusted_to=row.entrusted_to,
        mail_number=row.mail_number,
        consent=row.consent,
        carrier=row.carrier,
        posted_on=row.posted_on,
        failure_reason=row.failure_reason,
        note=row.note,
        staff_name=row.staff_name,
        has_evidence=bool(row.evidence),
    )


async def of_case(session: AsyncSession, case_id: int) -> list[CaseDelivery]:
    """Every attempt to serve the case's notices, oldest first."""
    rows = await session.scalars(
        select(CaseDelivery)
        .where(col(CaseDelivery.case_id) == case_id)
        .order_by(col(CaseDelivery.delivered_on), col(CaseDelivery.id))
    )
    return list(rows.all())


async def served(session: AsyncSession, case_id: int) -> dict[str, CaseDelivery]:
    """The delivery that served each of the case's notices, by 文号 (however it was entered:
    the notice's route, the `deliver` step, the case page)."""
    rows = await session.scalars(
        select(CaseDelivery).where(
            col(CaseDelivery.case_id) == case_id, col(CaseDelivery.outcome) == "delivered"
        )
    )
    return {r.doc_number: r for r in rows}


async def _in_scope(
    session: AsyncSession, actor: Principal | None, delivery_id: int, *, change: bool
) -> CaseDelivery:
    """A delivery of a case the caller may read (or change): 404 like the case otherwise."""
    row = await session.get(CaseDelivery, delivery_id)
    if row is None or row.id is None:
        raise NotFound(f"送达记录 {delivery_id} 不存在")
    try:
        if change:
            await for_change(session, actor, row.case_id, None)
        else:
            await get_case(session=session, case_id=row.case_id, principal=actor)
    except NotFound:
        raise NotFound(f"送达记录 {delivery_id} 不存在") from None
    return row


async def attach_evidence(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    delivery_id: int,
    content: bytes,
    media_type: str,
) -> CaseDelivery:
    """A scan of the signed receipt or the postal record, sealed with the data keys."""
    row = await _in_scope(session, actor, delivery_id, change=True)
    kind = media_type.split(";", 1)[0].strip().lower()
    if kind not in EVIDENCE_TYPES:
        raise InvalidInput("凭证须为 JPG、PNG 或 PDF 文件", field="file")
    if not content or len(content) > EVIDENCE_MAX:
        raise InvalidInput("凭证文件为空或超过 5 MB", field="file")
    if not _looks_like(kind, content):
        raise InvalidInput("文件内容与类型不符:请上传扫描件的 JPG、PNG 或 PDF 原文件", field="file")
    row.evidence = ctx.keys.seal_bytes(content, table=TABLE, column="evidence", row_id=row.id or 0)
    row.evidence_type = kind
    row.evidence_checksum = ctx.keys.checksum(content)
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="delivery.evidence",
        target_type="case_delivery",
        target_id=row.id,
        after={"checksum": row.evidence_checksum, "type": kind, "bytes": len(content)},
    )
    return row


MAGIC = {
    "image/jpeg": b"\xff\xd8\xff",
    "image/png": b"\x89PNG\r\n\x1a\n",
    "application/pdf": b"%PDF-",
}


def _looks_like(kind: str, content: bytes) -> bool:
    return content.startswith(MAGIC[kind])


async def evidence_of(
    *, session: AsyncSession, ctx: Context, actor: Principal | None, delivery_id: int
) -> tuple[CaseDelivery, bytes]:
    """The scan as uploaded, for those who may read the case whole (it shows a signature)."""
    row = await _in_scope(session, actor, delivery_id, change=False)
    case = await session.get(PetitionCase, row.case_id)
    unit = await session.get(Unit, case.unit_id) if case else None
    if not shows_whole(actor, unit_path=unit.path if unit else None):
        raise Forbidden("送达凭证载有签名,只有承办单位的信访干部和管理员可以查看")
    if not row.evidence or row.id is None:
        raise NotFound(f"送达记录 {delivery_id} 没有上传凭证")
    content = ctx.keys.open_bytes(row.evidence, table=TABLE, column="evidence", row_id=row.id)
    if not checksum_matches(row.evidence_checksum, content):
        raise Undecryptable(f"{TABLE}.evidence of row {row.id} is not the file uploaded")
    return row, content
