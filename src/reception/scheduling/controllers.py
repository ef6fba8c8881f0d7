"""HTTP endpoints for reception rules, sessions (接访/下访), appointments (预约) and the cases a
session is about. Thin: parse, call, shape."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, patch, post
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter

from reception.auth import Principal
from reception.cases.access import get_case
from reception.context import Ctx
from reception.db import DB
from reception.privacy import shows_whole
from reception.responses import Limit, Offset, Page
from reception.scheduling import booking, generation, history, links, schemas, service, views
from reception.scheduling.access import get_appointment, get_session, session_etag

AnyRequest = Request[Principal, Any, Any]
IfMatch = Annotated[
    str | None,
    HeaderParameter(name="If-Match", description="The ETag you read; 412 if the session changed"),
]
IdempotencyKeyHeader = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        description="A retry with the same key returns the first result and creates nothing",
    ),
]


class RuleController(Controller):
    path = "/reception-rules"
    tags = ["reception days"]

    @get("/")
    async def list_rules(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        limit: Limit = 100,
        offset: Offset = 0,
        leader_id: FromQuery[int | None] = None,
        active: FromQuery[bool | None] = None,
    ) -> Page[schemas.RuleRead]:
        rows, total = await service.list_rules(
            session=db,
            principal=request.user,
            limit=limit,
            offset=offset,
            leader_id=leader_id,
            active=active,
        )
        return Page([views.rule_read(r, ctx.tz) for r in rows], total, limit, offset)

    @get("/{rule_id:int}")
    async def get_rule(
        self, db: DB, ctx: Ctx, request: AnyRequest, rule_id: FromPath[int]
    ) -> schemas.RuleRead:
        rule = await service.get_rule(session=db, rule_id=rule_id, principal=request.user)
        return views.rule_read(rule, ctx.tz)

    @post("/")
    async def create_rule(
        self, db: DB, ctx: Ctx, request: AnyRequest, data: JSONBody[schemas.RuleCreate]
    ) -> schemas.RuleRead:
        rule = await service.create_rule(session=db, actor=request.user, data=data)
        return views.rule_read(rule, ctx.tz)

    @patch("/{rule_id:int}")
    async def update_rule(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        rule_id: FromPath[int],
        data: JSONBody[schemas.RuleUpdate],
    ) -> schemas.RuleRead:
        rule = await service.update_rule(session=db, actor=request.user, rule_id=rule_id, data=data)
        return views.rule_read(rule, ctx.tz)

    @post("/{rule_id:int}/generate", status_code=200)
    async def generate(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        rule_id: FromPath[int],
        data: JSONBody[schemas.GenerateRequest],
    ) -> schemas.GenerateResult:
        """Create the rule's sessions up to `until` (idempotent)."""
        result = await generation.generate(
            session=db, ctx=ctx, actor=request.user, rule_id=rule_id, until=data.until
        )
        return schemas.GenerateResult(
            created=await views.session_rows(session=db, subjects=result.created, tz=ctx.tz),
            updated=await views.session_rows(session=db, subjects=result.updated, tz=ctx.tz),
            skipped=result.skipped,
        )


class SessionController(Controller):
    path = "/sessions"
    tags = ["reception days"]

    @get("/")
    async def list_sessions(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        limit: Limit = 100,
        offset: Offset = 0,
        leader_id: FromQuery[int | None] = None,
        unit_id: Annotated[
            int | None, QueryParameter(description="Leaders of this unit subtree, or visits to it")
        ] = None,
        kind: FromQuery[Literal["reception", "field_visit"] | None] = None,
        status: FromQuery[Literal["scheduled", "held", "cancelled"] | None] = None,
        date_from: Annotated[date | None, QueryParameter(name="from")] = None,
        date_to: Annotated[date | None, QueryParameter(name="to")] = None,
    ) -> Page[schemas.SessionRead]:
        rows, total = await service.list_sessions(
            session=db,
            principal=request.user,
            limit=limit,
            offset=offset,
            leader_id=leader_id,
            unit_id=unit_id,
            kind=kind,
            status=status,
            date_from=date_from,
            date_to=date_to,
        )
        items = await views.session_rows(session=db, subjects=rows, tz=ctx.tz)
        return Page(items, total, limit, offset)

    @post("/")
    async def create_session(
        self, db: DB, ctx: Ctx, request: AnyRequest, data: JSONBody[schemas.SessionCreate]
    ) -> schemas.SessionRead:
        subject = await service.create_session(session=db, ctx=ctx, actor=request.user, data=data)
        return await views.session_row(session=db, subject=subject, tz=ctx.tz)

    @get("/{session_id:int}")
    async def day_sheet(
        self, db: DB, ctx: Ctx, request: AnyRequest, session_id: FromPath[int]
    ) -> Response[schemas.DaySheet]:
        """The session with its slots and appointments in slot order; its ETag is what a
        move or cancellation sends back as If-Match."""
        subject = await get_session(session=db, session_id=session_id, principal=request.user)
        sheet = await views.day_sheet(
            session=db, subject=subject, principal=request.user, tz=ctx.tz, keys=ctx.keys
        )
        return Response(sheet, headers={"ETag": session_etag(subject)})

    @patch("/{session_id:int}")
    async def move_session(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        session_id: FromPath[int],
        data: JSONBody[schemas.SessionMove],
        if_match: IfMatch = None,
    ) -> Response[schemas.DaySheet]:
        subject = await service.move_session(
            session=db,
            ctx=ctx,
            actor=request.user,
            session_id=session_id,
            data=data,
            if_match=if_match,
        )
        sheet = await views.day_sheet(
            session=db, subject=subject, principal=request.user, tz=ctx.tz, keys=ctx.keys
        )
        return Response(sheet, headers={"ETag": session_etag(subject)})

    @post("/{session_id:int}/cancel", status_code=200)
    async def cancel_session(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        session_id: FromPath[int],
        data: JSONBody[schemas.CancelRequest],
        if_match: IfMatch = None,
    ) -> schemas.CancelResult:
        """Cancel the session; the appointments it cancels come back as the call list."""
        subject, cancelled = await service.cancel_session(
            session=db,
            ctx=ctx,
            actor=request.user,
            session_id=session_id,
            reason=data.reason,
            if_match=if_match,
        )
        slots = {s.id: s for s in await views.slots_of(session=db, session_id=session_id)}
        return schemas.CancelResult(
            session=await views.session_row(session=db, subject=subject, tz=ctx.tz),
            cancelled_appointments=views.appointment_reads(
                [(a, slots[a.slot_id]) for a in cancelled],
                principal=request.user,
                leader_id=subject.leader_id,
                tz=ctx.tz,
                keys=ctx.keys,
            ),
        )

    @post("/{session_id:int}/hold", status_code=200)
    async def hold_session(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        session_id: FromPath[int],
        data: JSONBody[schemas.HoldRequest],
    ) -> schemas.SessionRead:
        """Record that the session took place, with its outcome (a leader may do this for
        his own field visits)."""
        subject = await service.hold_session(
            session=db, ctx=ctx, actor=request.user, session_id=session_id, outcome=data.outcome
        )
        return await views.session_row(session=db, subject=subject, tz=ctx.tz)

    @get("/{session_id:int}/appointments")
    async def list_appointments(
        self, db: DB, ctx: Ctx, request: AnyRequest, session_id: FromPath[int]
    ) -> Page[schemas.AppointmentRead]:
        subject = await get_session(session=db, session_id=session_id, principal=request.user)
        pairs = await views.appointments_of(session=db, session_id=session_id)
        items = views.appointment_reads(
            pairs, principal=request.user, leader_id=subject.leader_id, tz=ctx.tz, keys=ctx.keys
        )
        return Page(items, len(items), len(items), 0)

    @post("/{session_id:int}/appointments/check", status_code=200)
    async def check_petitioner(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        session_id: FromPath[int],
        data: JSONBody[schemas.PetitionerCheck],
    ) -> list[schemas.BookingWarning]:
        """Before booking: already booked here, been before, cases registered (what the
        caller may see). Nothing is written."""
        return await history.before_booking(
            session=db, ctx=ctx, principal=request.user, session_id=session_id, data=data
        )

    @post("/{session_id:int}/appointments")
    async def book(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        session_id: FromPath[int],
        data: JSONBody[schemas.AppointmentCreate],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[schemas.AppointmentRead]:
        result = await booking.book(
            session=db,
            ctx=ctx,
            actor=request.user,
            session_id=session_id,
            data=data,
            idempotency_key=idempotency_key,
        )
        body = views.appointment_read(
            result.appointment,
            result.slot,
            whole=shows_whole(request.user, leader_id=result.subject.leader_id),
            tz=ctx.tz,
            keys=ctx.keys,
        )
        headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
        return Response(body, status_code=201, headers=headers)


async def _appointment_body(
    db: Any, ctx: Any, principal: Principal, appointment: Any
) -> schemas.AppointmentRead:
    subject = await get_session(session=db, session_id=appointment.session_id, principal=None)
    slot = await views.slot_of(session=db, appointment=appointment)
    (body,) = views.appointment_reads(
        [(appointment, slot)],
        principal=principal,
        leader_id=subject.leader_id,
        tz=ctx.tz,
        keys=ctx.keys,
    )
    return body


class AppointmentController(Controller):
    path = "/appointments"
    tags = ["reception days"]

    @get("/{appointment_id:int}")
    async def get_appointment(
        self, db: DB, ctx: Ctx, request: AnyRequest, appointment_id: FromPath[int]
    ) -> schemas.AppointmentRead:
        appointment = await get_appointment(
            session=db, appointment_id=appointment_id, principal=request.user
        )
        return await _appointment_body(db, ctx, request.user, appointment)

    @post("/{appointment_id:int}/status", status_code=200)
    async def change_status(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        appointment_id: FromPath[int],
        data: JSONBody[schemas.AppointmentStatusChange],
    ) -> schemas.AppointmentRead:
        """booked → checked_in → completed | no_show; or cancelled (with a reason)."""
        appointment = await booking.transition_appointment(
            session=db,
            ctx=ctx,
            actor=request.user,
            appointment_id=appointment_id,
            to=data.status,
            reason=data.reason,
        )
        return await _appointment_body(db, ctx, request.user, appointment)

    @post("/{appointment_id:int}/move", status_code=200)
    async def move(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        appointment_id: FromPath[int],
        data: JSONBody[schemas.AppointmentMove],
    ) -> schemas.AppointmentRead:
        """改约: to another slot, or another session of the same leader (places enforced)."""
        appointment = await booking.move_appointment(
            session=db, ctx=ctx, actor=request.user, appointment_id=appointment_id, data=data
        )
        return await _appointment_body(db, ctx, request.user, appointment)

    @post("/{appointment_id:int}/case", status_code=200)
    async def link_case(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        appointment_id: FromPath[int],
        data: JSONBody[schemas.AppointmentCaseLink],
    ) -> schemas.AppointmentRead:
        """Link the appointment to the case registered for it (or unlink with null)."""
        appointment = await links.set_appointment_case(
            session=db,
            keys=ctx.keys,
            actor=request.user,
            appointment_id=appointment_id,
            case_id=data.case_id,
        )
        return await _appointment_body(db, ctx, request.user, appointment)


class SessionCasesController(Controller):
    path = "/sessions/{session_id:int}/cases"
    tags = ["cases"]

    @get("/")
    async def list_links(
        self, db: DB, request: AnyRequest, session_id: FromPath[int]
    ) -> list[schemas.SessionCaseOut]:
        await get_session(session=db, session_id=session_id, principal=request.user)
        return [
            schemas.SessionCaseOut(
                session_id, case.id or 0, case.reference, link.outcome, link.outcome_on
            )
            for link, case in await links.session_cases(
                session=db, session_id=session_id, principal=request.user
            )
        ]

    @post("/")
    async def link(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        session_id: FromPath[int],
        data: JSONBody[schemas.SessionCaseLink],
    ) -> schemas.SessionCaseOut:
        """The session (usually a 带案下访 field visit) is about this case."""
        link = await links.link_session_case(
            session=db, ctx=ctx, actor=request.user, session_id=session_id, case_id=data.case_id
        )
        case = await get_case(session=db, case_id=data.case_id, principal=None)
        return schemas.SessionCaseOut(session_id, link.case_id, case.reference, "", None)

    @post("/{case_id:int}/outcome", status_code=200)
    async def outcome(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        session_id: FromPath[int],
        case_id: FromPath[int],
        data: JSONBody[schemas.SessionCaseOutcome],
    ) -> schemas.SessionCaseOut:
        """What the visit achieved for this case; it goes on the case's timeline."""
        link = await links.record_session_outcome(
            session=db,
            ctx=ctx,
            actor=request.user,
            session_id=session_id,
            case_id=case_id,
            outcome=data.outcome,
            on=data.on,
        )
        case = await get_case(session=db, case_id=case_id, principal=None)
        return schemas.SessionCaseOut(
            session_id, case_id, case.reference, link.outcome, link.outcome_on
        )
