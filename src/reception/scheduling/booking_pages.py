"""Booking in the console: the booking form with places left and the warnings while the
secretary types, the day's check-in (签到 / 未到 / 已接待) and 改约 to another slot or session."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from reception.auth import Principal
from reception.base import form_id
from reception.context import Context, Ctx
from reception.db import DB
from reception.errors import DomainError
from reception.scheduling import booking, calls, history, schemas, service, views
from reception.scheduling.access import get_appointment
from reception.scheduling.models import SessionSlot
from reception.scheduling.pages import KIND_LABELS, load_sheet, sheet_page
from reception.scheduling.rules import APPOINTMENT_LABELS
from reception.web.render import (
    FormErrors,
    check_form,
    page,
    read_form,
    refused,
    see_other,
    to_body,
    unchecked_form,
)
from reception.wording import chinese_date

AnyRequest = Request[Principal, Any, Any]

# ---------------------------------------------------------------- booking


async def _book_page(
    request: AnyRequest,
    db: DB,
    ctx: Context,
    session_id: int,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    warnings: list[schemas.BookingWarning] | None = None,
) -> Template:
    _, sheet = await load_sheet(db, ctx, request.user, session_id)
    return page(
        request,
        "scheduling/book.html",
        status=status,
        title="预约登记",
        s=sheet.session,
        slots=sheet.slots,
        errors=errors or {},
        values=values or {},
        warnings=warnings or [],
        kinds=KIND_LABELS,
    )


@get("/sessions/{session_id:int}/book")
async def book_form(db: DB, ctx: Ctx, request: AnyRequest, session_id: FromPath[int]) -> Template:
    return await _book_page(request, db, ctx, session_id)


@post("/sessions/{session_id:int}/book/check", status_code=200)
async def book_check(db: DB, ctx: Ctx, request: AnyRequest, session_id: FromPath[int]) -> Template:
    """The warnings beside the booking form, while the secretary types (htmx)."""
    form = await read_form(request)
    try:
        data = to_body(
            schemas.PetitionerCheck,
            {
                k: form.get(k, "")
                for k in ("petitioner_name", "petitioner_phone", "petitioner_id_number")
            },
        )
        warnings = await history.before_booking(
            session=db, ctx=ctx, principal=request.user, session_id=session_id, data=data
        )
    except (DomainError, FormErrors):
        warnings = []
    return page(request, "scheduling/_warnings.html", title="", warnings=warnings)


def _booking_body(form: Any) -> dict[str, Any]:
    representatives = (
        [r.strip() for r in form.getall("representatives") if r.strip()]
        if ("representatives" in form)
        else []
    )
    values = {
        k: form.get(k, "")
        for k in (
            "petitioner_name",
            "petitioner_phone",
            "petitioner_id_number",
            "matter_summary",
            "party_size",
            "slot_index",
            "case_id",
        )
    }
    values["representatives"] = representatives
    values["allow_duplicate"] = form.get("allow_duplicate") == "on"
    return values


@post("/sessions/{session_id:int}/book", status_code=200)
async def book(db: DB, ctx: Ctx, request: AnyRequest, session_id: FromPath[int]) -> Response[Any]:
    form = await unchecked_form(request)
    values = _booking_body(form)
    try:
        check_form(form)
        data = to_body(schemas.AppointmentCreate, values)
        result = await booking.book(
            session=db, ctx=ctx, actor=request.user, session_id=session_id, data=data
        )
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        warnings = await history.before_booking(
            session=db,
            ctx=ctx,
            principal=request.user,
            session_id=session_id,
            data=schemas.PetitionerCheck(
                petitioner_name=str(values["petitioner_name"])[:50],
                petitioner_phone=str(values["petitioner_phone"])[:20],
                petitioner_id_number=str(values["petitioner_id_number"])[:18],
            ),
        )
        if isinstance(exc, DomainError) and exc.extra.get("first_appointment_id"):
            # The refusal itself names the first booking: no second line saying the same.
            warnings = [w for w in warnings if w.kind != "double_booking"]
        return await _book_page(
            request,
            db,
            ctx,
            session_id,
            status=problem.status,
            errors=problem.fields,
            values=values,
            warnings=warnings,
        )
    slot_time = ctx.local(result.slot.starts_at).strftime("%H:%M")
    return await see_other(
        request,
        db,
        f"/sessions/{session_id}",
        notice=f"已预约:{result.appointment.petitioner_name},{slot_time} 时段",
    )


# ---------------------------------------------------------------- an appointment


@post("/appointments/{appointment_id:int}/status", status_code=200)
async def appointment_status(
    db: DB, ctx: Ctx, request: AnyRequest, appointment_id: FromPath[int]
) -> Response[Any]:
    form = await read_form(request)
    found = await get_appointment(session=db, appointment_id=appointment_id, principal=request.user)
    session_id = found.session_id
    try:
        data = to_body(
            schemas.AppointmentStatusChange,
            {"status": form.get("status", ""), "reason": form.get("reason", "")},
        )
        await booking.transition_appointment(
            session=db,
            ctx=ctx,
            actor=request.user,
            appointment_id=appointment_id,
            to=data.status,
            reason=data.reason,
        )
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        subject, sheet = await load_sheet(db, ctx, request.user, session_id)
        fields = {f"a{appointment_id}": problem.general or next(iter(problem.fields.values()))}
        return sheet_page(request, ctx, subject, sheet, status=problem.status, errors=fields)
    label = APPOINTMENT_LABELS[data.status]
    return await see_other(
        request,
        db,
        f"/sessions/{session_id}",
        notice=f"{found.petitioner_name}的预约已改为“{label}”",
    )


async def _move_page(
    request: AnyRequest,
    db: DB,
    ctx: Context,
    appointment_id: int,
    target_id: int | None,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    rebook: bool = False,
) -> Template:
    """改约 of a booked appointment (its slot or session changes), or — `rebook` — of a
    cancelled one (booked anew into another session, from the call list)."""
    appointment = await get_appointment(
        session=db, appointment_id=appointment_id, principal=request.user
    )
    subject, sheet = await load_sheet(db, ctx, request.user, appointment.session_id)
    (current,) = [a for a in sheet.appointments if a.id == appointment_id]
    rows, _ = await service.list_sessions(
        session=db,
        principal=request.user,
        limit=60,
        offset=0,
        leader_id=subject.leader_id,
        kind="reception",
        status="scheduled",
        date_from=ctx.today(),
    )
    choices = await views.session_rows(session=db, subjects=rows, tz=ctx.tz)
    if rebook:
        choices = [c for c in choices if c.id != appointment.session_id]
    target_id = target_id or (
        (choices[0].id if choices else None) if rebook else appointment.session_id
    )
    # A rebooking with no other session of the leader to go to: the page says so.
    target = (await load_sheet(db, ctx, request.user, target_id))[1] if target_id else None
    return page(
        request,
        "scheduling/move_appointment.html",
        status=status,
        title="改约",
        a=current,
        s=sheet.session,
        choices=choices,
        target=target.session if target else None,
        slots=target.slots if target else [],
        rebook=rebook,
        errors=errors or {},
    )


async def _move(
    request: AnyRequest, db: DB, ctx: Context, appointment_id: int, *, rebook: bool
) -> Response[Any]:
    """改约 sent: a booked appointment moved (its record kept), or a cancelled one booked anew
    (`rebook`); refused, the same page again with the message; done, the target session
    with where the petitioner now goes."""
    form = await read_form(request)
    target = form.get("session_id") or None
    try:
        data = to_body(
            schemas.AppointmentMove,
            {
                "session_id": target,
                "slot_index": form.get("slot_index", ""),
                "reason": form.get("reason", ""),
            },
        )
        slot: SessionSlot | None
        if rebook:
            result = await calls.rebook(
                session=db, ctx=ctx, actor=request.user, appointment_id=appointment_id, data=data
            )
            moved, slot = result.appointment, result.slot
        else:
            moved = await booking.move_appointment(
                session=db, ctx=ctx, actor=request.user, appointment_id=appointment_id, data=data
            )
            slot = await db.get(SessionSlot, moved.slot_id)
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        target_id = form_id(target)
        return await _move_page(
            request,
            db,
            ctx,
            appointment_id,
            target_id,
            status=problem.status,
            errors=problem.fields,
            rebook=rebook,
        )
    when = ctx.local(slot.starts_at) if slot is not None else None
    to = f"{chinese_date(when)} {when:%H:%M} 时段" if when is not None else "新的时段"
    return await see_other(
        request, db, f"/sessions/{moved.session_id}", notice=f"{moved.petitioner_name}已改约至{to}"
    )


@get("/appointments/{appointment_id:int}/move")
async def move_form(
    db: DB,
    ctx: Ctx,
    request: AnyRequest,
    appointment_id: FromPath[int],
    session_id: Annotated[int | None, QueryParameter(name="session_id", ge=1)] = None,
) -> Template:
    return await _move_page(request, db, ctx, appointment_id, session_id)


@post("/appointments/{appointment_id:int}/move", status_code=200)
async def move_appointment(
    db: DB, ctx: Ctx, request: AnyRequest, appointment_id: FromPath[int]
) -> Response[Any]:
    return await _move(request, db, ctx, appointment_id, rebook=False)


@get("/appointments/{appointment_id:int}/rebook")
async def rebook_form(
    db: DB,
    ctx: Ctx,
    request: AnyRequest,
    appointment_id: FromPath[int],
    session_id: Annotated[int | None, QueryParameter(name="session_id", ge=1)] = None,
) -> Template:
    return await _move_page(request, db, ctx, appointment_id, session_id, rebook=True)


@post("/appointments/{appointment_id:int}/rebook", status_code=200)
async def rebook_appointment(
    db: DB, ctx: Ctx, request: AnyRequest, appointment_id: FromPath[int]
) -> Response[Any]:
    """改约 from the call list: the cancelled appointment's person and matter, booked anew."""
    return await _move(request, db, ctx, appointment_id, rebook=True)


PAGES = [
    book_form,
    book_check,
    book,
    appointment_status,
    move_form,
    move_appointment,
    rebook_form,
    rebook_appointment,
]
