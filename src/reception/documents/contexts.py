"""What each notice prints: the fields every notice has, and one small builder per kind for
its own. Deadlines come from the clocks (never typed); the clerk's words from the request.
The fields a template may use are rendering.SAMPLE."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from reception.cases import query_code
from reception.cases.clocks import latest
from reception.cases.deliveries import of_case
from reception.cases.delivery import METHOD_LABELS
from reception.cases.models import CaseClock, CasePetitioner, ClockExtension, PetitionCase
from reception.cases.petitioners import petitioner
from reception.cases.workflow import PROCEDURE_LABELS
from reception.context import Context
from reception.documents.kinds import Kind
from reception.documents.models import CaseDocument
from reception.documents.schemas import DocumentIssue
from reception.errors import Broken, Conflict
from reception.org.models import Unit
from reception.wording import chinese_date, fullwidth, items, paragraphs, you

# What a notice prints: text, or (the clerk's passages) a list of paragraphs.
Fields = dict[str, Any]


@dataclass(frozen=True)
class Source:
    """What a builder reads: the case (with its id), the clerk's request, the document a
    送达回证 is for."""

    session: AsyncSession
    ctx: Context
    case: PetitionCase
    case_id: int
    data: DocumentIssue
    for_document: CaseDocument | None


def _day(value: date | None) -> str:
    return chinese_date(value) if value else ""


async def _clock(src: Source, *kinds: str) -> CaseClock | None:
    """The case's latest live clock of the first kind it has."""
    for kind in kinds:
        clock = await latest(src.session, src.case_id, kind)
        if clock is not None and clock.status != "void":
            return clock
    return None


def _written(src: Source) -> Fields:
    """What the clerk wrote into an 意见书: as typed (kept with the document), and as printed —
    one paragraph a line in full-width punctuation, the decision's items as （一）（二）."""
    data = src.data
    return {
        "facts": fullwidth(data.facts),
        "basis": fullwidth(data.basis),
        "decision": fullwidth(data.decision),
        "facts_paragraphs": paragraphs(data.facts),
        "basis_paragraphs": paragraphs(data.basis),
        "decision_items": items(data.decision),
    }


async def _accept(src: Source) -> Fields:
    handle = await _clock(src, "simple", "handle")
    code = query_code.read(src.ctx, src.case) or await query_code.issue(
        session=src.session, ctx=src.ctx, case=src.case
    )
    return {
        "handle_due": _day(handle.current_due if handle else None),
        "query_code": query_code.shown(code),
        "query_page": f"{src.ctx.settings.public_url.rstrip('/')}/public",
    }


async def _reject(src: Source) -> Fields:
    if not src.case.rejection_reason.strip():
        raise Conflict("该事项没有记录不予受理的理由")
    return {
        "reason": _clause(src.case.rejection_reason),
        "redirect_to": _clause(src.data.redirect_to),
    }


async def _transfer(src: Source) -> Fields:
    return {"transferred_to": fullwidth(src.data.transferred_to.strip())}


async def _extension(src: Source) -> Fields:
    handle = await _clock(src, "handle")
    ext = (
        await src.session.scalar(
            select(ClockExtension)
            .where(ClockExtension.clock_id == handle.id)
            .order_by(col(ClockExtension.id).desc())
            .limit(1)
        )
        if handle
        else None
    )
    if handle is None or ext is None:
        raise Conflict("该事项的办理期限没有延期记录:请先办理延期")
    return {
        "reason": _clause(ext.reason),
        "approver": ext.approver,
        "days": str(handle.extended_days),
        "original_due": _day(handle.original_due),
        "new_due": _day(handle.current_due),
    }


async def _reply(src: Source) -> Fields:
    window = await _clock(src, "review_request")
    delivered = src.case.delivered_on
    return _written(src) | {
        "review_body": src.data.review_body or src.ctx.settings.review_body,
        "delivered_on": _day(delivered),
        "review_window_end": _day(window.current_due) if window and delivered else "",
    }


async def _review(src: Source) -> Fields:
    return _written(src) | {
        "reply_number": src.case.reply_doc_number,
        "review_requested_on": _day(src.case.review_requested_on),
        "re_review_body": src.data.re_review_body or "上一级人民政府",
    }


async def _re_review(src: Source) -> Fields:
    clock = await _clock(src, "re_review")
    return _written(src) | {
        "re_review_requested_on": _day(src.case.re_review_requested_on),
        "hearing_days": str(clock.paused_days) if clock and clock.paused_days else "",
    }


async def _diversion(src: Source) -> Fields:
    return {
        "procedure": PROCEDURE_LABELS.get(src.case.diverted_to, "依法定程序解决"),
        "organ": fullwidth(src.data.organ.strip()),
    }


async def _receipt(src: Source) -> Fields:
    """送达回证 of a notice: what the delivery recorded for it says (the attempt that served
    it, else the latest), or boxes and blanks to fill in by hand at the door."""
    doc = src.for_document
    if doc is None:
        raise Broken("expected: the document a 送达回证 is for")
    out: Fields = {"doc_title": doc.title, "doc_number": doc.number}
    if doc.kind in ("reply_opinion", "review_opinion"):
        step = "复查" if doc.kind == "reply_opinion" else "复核"
        out["note"] = (
            fullwidth(src.data.note) or f"受送达人可以自收到该文书之日起30日内请求{step}。"
        )
    attempts = [a for a in await of_case(src.session, src.case_id) if a.doc_number == doc.number]
    served = next((a for a in attempts if a.outcome == "delivered"), None)
    shown = served or (attempts[-1] if attempts else None)
    chosen = shown.method if shown else ""
    boxes = [f"{'☑' if code == chosen else '□'}{label}" for code, label in METHOD_LABELS.items()]
    out["method_box"] = "\n".join("　".join(boxes[i : i + 3]) for i in range(0, len(boxes), 3))
    out["place"] = shown.place if shown else ""
    out["served_by"] = shown.staff_name if shown else ""
    out["witnesses"] = shown.witnesses if shown else ""
    out["signed_on"] = (
        f"{chinese_date(served.delivered_on)}" if served else "          年      月      日"
    )
    return out


def _clause(text: str) -> str:
    """A clause the notice continues after (…。 dropped), in full-width punctuation."""
    return fullwidth(text.strip()).rstrip("。．.")


# One builder per kind: what that notice prints beyond the common fields.
BUILDERS: dict[str, Callable[[Source], Awaitable[Fields]]] = {
    "accept_notice": _accept,
    "reject_notice": _reject,
    "transfer_notice": _transfer,
    "extension_notice": _extension,
    "reply_opinion": _reply,
    "review_opinion": _review,
    "re_review_opinion": _re_review,
    "diversion_notice": _diversion,
    "service_receipt": _receipt,
}


async def _common(src: Source, kind: Kind, doc_number: str, on: date) -> Fields:
    unit = await src.session.get(Unit, src.case.unit_id)
    rows = await src.session.scalars(
        select(CasePetitioner)
        .where(CasePetitioner.case_id == src.case_id)
        .order_by(col(CasePetitioner.position))
    )
    people = [petitioner(src.ctx.keys, p) for p in rows]
    case = src.case
    return {
        "you": you(len(people)),
        "office_name": src.ctx.settings.office_name,
        "title": kind.title,
        "number": doc_number,
        "issued_on": chinese_date(on),
        "petitioners": "、".join(p.name for p in people),
        "address": next((p.address for p in people if p.address), ""),
        "reference": case.reference,
        "received_on": _day(case.received_on),
        "registered_on": _day(case.registered_on),
        "accepted_on": _day(case.accepted_on),
        "summary": _clause(case.summary),
        "unit_name": unit.name if unit else "",
        "note": fullwidth(src.data.note.strip()),
    }


async def context_for(
    session: AsyncSession,
    ctx: Context,
    case: PetitionCase,
    kind: Kind,
    data: DocumentIssue,
    *,
    doc_number: str,
    on: date,
    for_document: CaseDocument | None,
) -> Fields:
    """Every value the notice prints."""
    if case.id is None:
        raise Broken("expected: a registered case")
    src = Source(session, ctx, case, case.id, data, for_document)
    return await _common(src, kind, doc_number, on) | await BUILDERS[kind.code](src)
