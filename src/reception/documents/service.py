"""Issuing notices and recording their delivery (送达). Plain functions that flush, never commit.

Issuing a notice: the case's step it belongs to is checked (the 意见书 *are* the reply and the
decisions, so issuing one performs that step with the document's 文号); its number is drawn
from the kind's yearly counter; the deadlines it announces come from the clock rules, never
from the request; the bytes are rendered from the office's template (or the built-in one) and
kept as issued, with their SHA-256 and the template's version. A correction is a new document
that supersedes the old one; both are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import msgspec
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.audit import service as audit
from reception.auth import Principal
from reception.cases import deliveries, workflow
from reception.cases import schemas as case_schemas
from reception.cases import service as cases
from reception.cases.access import for_change, get_case, may_write
from reception.cases.clocks import restart_window
from reception.cases.delivery import METHOD_LABELS
from reception.cases.models import CaseDelivery, PetitionCase
from reception.cases.schemas import DeliveryIn
from reception.cases.timeline import effective_date, record_event
from reception.context import Context
from reception.crypto import Undecryptable, checksum, checksum_matches
from reception.db import next_in_counter
from reception.documents import contexts, defaults, rendering
from reception.documents.kinds import (
    FIELD_LABELS,
    KINDS,
    Kind,
    number,
)
from reception.documents.models import CaseDocument, DocumentCounter, DocumentTemplate
from reception.documents.schemas import DocumentIssue
from reception.errors import Broken, Conflict, Forbidden, InvalidInput, NotFound
from reception.org.models import Unit
from reception.privacy import shows_whole

# What a stored document's `fields` never keep (they are printed, not listed).
UNLISTED = frozenset({"query_code", "petitioners", "address"})
# The issued file is stored sealed (`reception.pii.SEALED`).
TABLE = "case_document"


# ---------------------------------------------------------------- templates


@dataclass(frozen=True)
class InForce:
    version: int
    content: bytes
    checksum: str


async def template_in_force(
    session: AsyncSession, kind: str, office: str, suite: str = "aes"
) -> InForce:
    """The office's latest upload of the kind, or the built-in one (version 0) for `office`
    (the settings' office_name)."""
    row = await session.scalar(
        select(DocumentTemplate)
        .where(DocumentTemplate.kind == kind)
        .order_by(col(DocumentTemplate.version).desc())
        .limit(1)
    )
    if row is not None:
        return InForce(row.version, row.content, row.checksum)
    content = defaults.template(kind, office)
    return InForce(0, content, checksum(suite, content))


async def upload_template(
    *,
    session: AsyncSession,
    actor: Principal,
    kind: str,
    filename: str,
    content: bytes,
    suite: str = "aes",
) -> DocumentTemplate:
    """An office's own template: accepted only if it renders with the sample case (the
    template in force stays until then)."""
    if kind not in KINDS:
        raise NotFound(f"没有文书种类 {kind}")
    sample = {**rendering.SAMPLE, "title": KINDS[kind].title}
    try:
        rendering.render(content, sample)
    except rendering.TemplateBroken as exc:
        raise InvalidInput(f"模板未被采用:{exc}。原模板继续有效。", field="file") from exc
    version = (
        await session.scalar(
            select(func.max(DocumentTemplate.version)).where(DocumentTemplate.kind == kind)
        )
        or 0
    ) + 1
    row = DocumentTemplate(
        kind=kind,
        version=version,
        filename=filename[:200] or f"{kind}.docx",
        content=content,
        checksum=checksum(suite, content),
        uploaded_by_name=audit.actor_name(actor),
    )
    session.add(row)
    await audit.changed(
        session=session,
        actor=actor,
        action="document_template.upload",
        target=row,
        exclude={"content"},
    )
    return row


# ---------------------------------------------------------------- numbering


async def next_number(session: AsyncSession, kind: str, year: int) -> int:
    """The kind's next sequence for the year: one UPDATE … RETURNING, serialised by the row
    lock, so concurrent issues get consecutive numbers and a rolled-back one gives its back."""
    return await next_in_counter(session, DocumentCounter, kind=kind, year=year)


# ---------------------------------------------------------------- issuing


def _check_fields(kind: Kind, data: DocumentIssue) -> None:
    for name in kind.required:
        if not str(getattr(data, name)).strip():
            raise InvalidInput(f"{kind.title}须写明{FIELD_LABELS[name]}", field=name)


async def _perform(
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    case: PetitionCase,
    kind: Kind,
    doc_number: str,
    on: date,
) -> None:
    """The case step the 意见书 is (reply, decision), dated and numbered by the document."""
    if case.id is None or kind.performs is None:
        raise Broken("expected: case.id is not None and kind.performs is not None")
    await cases.transition(
        session=session,
        ctx=ctx,
        actor=actor,
        case_id=case.id,
        data=case_schemas.Transition(
            action=kind.performs,  # type: ignore[arg-type]
            on=on,
            doc_number=doc_number,
        ),
    )


async def issue(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    case_id: int,
    data: DocumentIssue,
) -> CaseDocument:
    kind = KINDS[data.kind]
    case = await for_change(session, actor, case_id, None)
    if case.id is None:
        raise Broken("expected: case.id is not None")
    _check_fields(kind, data)
    superseded = await _superseded(session, case, kind, data.supersedes)
    for_document = await _for_document(session, case, kind, data.for_document_id)
    _check_issuable(case, kind, superseded)
    on = effective_date(ctx, data.on, not_before=case.registered_on, label="登记日期")
    seq = await next_number(session, kind.code, on.year)
    doc_number = number(ctx.settings.case_ref_prefix, kind, on.year, seq)
    if kind.performs and superseded is None:
        await _perform(session, ctx, actor, case, kind, doc_number, on)
    elif kind.performs == "reply":
        case.reply_doc_number = doc_number
    if data.delivery is not None:
        if kind.performs is None:
            raise InvalidInput("只有意见书可以在出具时一并登记送达", field="delivery")
        # Handed over as it is issued (at the desk): the same delivery as any other, and the
        # notice prints it (the 复查 window it starts).
        notice = Served(
            kind.code, kind.title, doc_number, on, superseded.id if superseded else None
        )
        await _serve(session, ctx, actor, case, notice, data.delivery, "delivery.")
    await session.refresh(case)
    values = await contexts.context_for(
        session, ctx, case, kind, data, doc_number=doc_number, on=on, for_document=for_document
    )
    template, content = await _rendered(session, ctx, kind, values)
    doc = CaseDocument(
        case_id=case.id,
        kind=kind.code,
        year=on.year,
        seq=seq,
        number=doc_number,
        title=kind.title,
        issued_on=on,
        template_version=template.version,
        template_checksum=template.checksum,
        content=b"",
        checksum=ctx.keys.checksum(content),
        fields={k: v for k, v in values.items() if k not in UNLISTED and k not in rendering.LISTS},
        supersedes_id=superseded.id if superseded else None,
        for_document_id=for_document.id if for_document else None,
        issued_by_user_id=actor.user_id if actor else None,
        issued_by_name=audit.actor_name(actor),
    )
    session.add(doc)
    await session.flush()
    if doc.id is None:
        raise Broken("expected: doc.id is not None")
    doc.content = ctx.keys.seal_bytes(content, table=TABLE, column="content", row_id=doc.id)
    await record_event(
        session=session,
        case=case,
        actor=actor,
        kind="document.superseded" if superseded else "document.issued",
        on=on,
        before={"number": superseded.number} if superseded else None,
        after={"kind": kind.code, "number": doc_number, "title": kind.title, "document_id": doc.id},
        note=f"{kind.title} {doc_number}",
    )
    return doc


def _check_issuable(case: PetitionCase, kind: Kind, superseded: CaseDocument | None) -> None:
    """The case's stage allows the kind; a reply is issued once (a correction supersedes)."""
    if kind.stages and case.stage not in kind.stages:
        raise Conflict(
            f"处于“{workflow.STAGE_LABELS[case.stage]}”阶段的事项不能出具{kind.title}",
            stage=case.stage,
        )
    step_done = kind.performs == "reply" and case.replied_on is not None
    if kind.performs and step_done and superseded is None:
        raise Conflict(
            f"该事项已经答复(文号 {case.reply_doc_number}):更正请出具新文书并注明所更正的文书"
        )


async def _rendered(
    session: AsyncSession, ctx: Context, kind: Kind, values: dict[str, Any]
) -> tuple[InForce, bytes]:
    """The template in force and the DOCX it makes of `values`."""
    template = await template_in_force(session, kind.code, ctx.settings.office_name, ctx.keys.suite)
    try:
        return template, rendering.render(template.content, values)
    except rendering.TemplateBroken as exc:
        raise Conflict(f"{kind.title}的模板无法生成文书:{exc}") from exc


async def _superseded(
    session: AsyncSession, case: PetitionCase, kind: Kind, supersedes: int | None
) -> CaseDocument | None:
    if supersedes is None:
        return None
    old = await session.get(CaseDocument, supersedes)
    if old is None or old.case_id != case.id or old.kind != kind.code:
        raise InvalidInput(f"本事项没有可更正的{kind.title} {supersedes}", field="supersedes")
    if await session.scalar(
        select(CaseDocument.id).where(CaseDocument.supersedes_id == supersedes)
    ):
        raise Conflict(f"文书 {old.number} 已被更正过:请更正最新的一份")
    return old


async def _for_document(
    session: AsyncSession, case: PetitionCase, kind: Kind, document_id: int | None
) -> CaseDocument | None:
    if kind.code != "service_receipt":
        if document_id is not None:
            raise InvalidInput("只有送达回证注明所送达的文书", field="for_document_id")
        return None
    if document_id is None:
        raise InvalidInput("送达回证须注明所送达的文书", field="for_document_id")
    doc = await session.get(CaseDocument, document_id)
    if doc is None or doc.case_id != case.id or doc.kind == "service_receipt":
        raise InvalidInput(f"本事项没有文书 {document_id}", field="for_document_id")
    return doc


# ---------------------------------------------------------------- delivery (送达)


async def deliver(
    *,
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    document_id: int,
    data: DeliveryIn,
    prefix: str = "",
) -> CaseDelivery:
    """An attempt to serve an issued notice, kept in the one delivery record."""
    doc = await get_document(session=session, principal=actor, document_id=document_id)
    may_write(actor)
    case = await for_change(session, actor, doc.case_id, None)
    if doc.kind == "service_receipt":
        raise InvalidInput("送达回证本身不送达:请登记所送达文书的送达", field="document_id")
    notice = Served(doc.kind, doc.title, doc.number, doc.issued_on, doc.supersedes_id)
    return await _serve(session, ctx, actor, case, notice, data, prefix)


@dataclass(frozen=True)
class Served:
    """The notice a delivery serves: issued, or being issued (its number drawn)."""

    kind: str
    title: str
    number: str
    issued_on: date
    supersedes_id: int | None


async def _serve(
    session: AsyncSession,
    ctx: Context,
    actor: Principal | None,
    case: PetitionCase,
    doc: Served,
    data: DeliveryIn,
    prefix: str,
) -> CaseDelivery:
    """Through cases.deliveries: the reply's first delivery is the case's `deliver` step (it
    starts the 30 days to ask for 复查); a 复查意见's restarts the window for 复核; any other
    is kept as it is."""
    data = msgspec.structs.replace(data, on=data.on or ctx.today())
    reply = doc.kind == "reply_opinion" and doc.supersedes_id is None
    if reply and data.outcome == "delivered" and case.delivered_on is None:
        await cases.transition(
            session=session,
            ctx=ctx,
            actor=actor,
            case_id=case.id or 0,
            data=case_schemas.Transition(action="deliver", on=data.on, delivery=data),
            delivery_prefix=prefix,
        )
        # The step's own timeline event says it.
        return await _served(session, case.id or 0, doc.number)
    row = await deliveries.record(
        session=session,
        ctx=ctx,
        actor=actor,
        case=case,
        doc_number=doc.number,
        issued_on=doc.issued_on,
        data=data,
        prefix=prefix,
    )
    if doc.kind == "review_opinion" and row.outcome == "delivered":
        # 复核 is asked within 30 days of receiving the 复查意见, not of the decision.
        await restart_window(session, case, row.delivered_on)
    await record_event(
        session=session,
        case=case,
        actor=actor,
        kind="document.delivered" if row.outcome == "delivered" else "document.delivery_failed",
        on=row.delivered_on,
        after={
            "number": doc.number,
            "method": row.method,
            "delivered_on": row.delivered_on.isoformat(),
        },
        note=f"{doc.title} {doc.number} {METHOD_LABELS[row.method]}"
        + (f":{row.failure_reason}" if row.outcome == "failed" else ""),
    )
    return row


async def _served(session: AsyncSession, case_id: int, number: str) -> CaseDelivery:
    row = (await deliveries.served(session, case_id)).get(number)
    if row is None:
        raise Broken("expected: the delivery the deliver step recorded")
    return row


# ---------------------------------------------------------------- reading


async def get_document(
    *, session: AsyncSession, principal: Principal | None, document_id: int
) -> CaseDocument:
    """A document of a case the caller may read (404 otherwise, like the case)."""
    doc = await session.get(CaseDocument, document_id)
    if doc is None:
        raise NotFound(f"文书 {document_id} 不存在")
    try:
        await get_case(session=session, case_id=doc.case_id, principal=principal)
    except NotFound:
        raise NotFound(f"文书 {document_id} 不存在") from None
    return doc


async def readable_content(
    *, session: AsyncSession, ctx: Context, principal: Principal | None, document_id: int
) -> tuple[CaseDocument, bytes]:
    """The document's bytes print the petitioner's name and address whole: only for those
    the privacy policy shows them to (the clerk handling the case, an admin)."""
    doc = await get_document(session=session, principal=principal, document_id=document_id)
    case = await session.get(PetitionCase, doc.case_id)
    if case is None or not await downloads(session, principal, case):
        raise Forbidden("文书载有信访人的个人信息,只有承办单位的信访干部和管理员可以下载")
    return doc, opened_content(ctx, doc)


async def downloads(session: AsyncSession, principal: Principal | None, case: PetitionCase) -> bool:
    """Whether a caller may download a case's notices (they print the petitioner whole): the
    privacy policy's answer for the case's unit."""
    unit = await session.get(Unit, case.unit_id)
    return shows_whole(principal, unit_path=unit.path if unit else None)


def opened_content(ctx: Context, doc: CaseDocument) -> bytes:
    """The file as issued (stored sealed: it prints the petitioner's name and address)."""
    if doc.id is None:
        raise Broken("expected: doc.id is not None")
    content = ctx.keys.open_bytes(doc.content, table=TABLE, column="content", row_id=doc.id)
    if not checksum_matches(doc.checksum, content):
        # Only `content` may be rewritten (sealing, key rotation): never to another file.
        raise Undecryptable(f"{TABLE}.content of row {doc.id} is not the file issued")
    return content


async def documents_of(
    *, session: AsyncSession, principal: Principal | None, case_id: int
) -> list[tuple[CaseDocument, CaseDelivery | None, int | None]]:
    """A case's documents with their delivery and, for a corrected one, its correction."""
    await get_case(session=session, case_id=case_id, principal=principal)
    docs = list(
        await session.scalars(
            select(CaseDocument)
            .where(CaseDocument.case_id == case_id)
            .order_by(col(CaseDocument.id))
        )
    )
    served = await deliveries.served(session, case_id)
    corrected = {d.supersedes_id: d.id for d in docs if d.supersedes_id}
    return [(d, served.get(d.number), corrected.get(d.id or 0)) for d in docs]
