"""HTTP endpoints for reception rules, sessions (接访/下访) and appointments (预约)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter

from reception.auth import Principal
from reception.config import local_tz
from reception.db import DB
from reception.responses import Limit, Offset, Page, read_as
from reception.scheduling import schemas, service

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
        return Page([read_as(schemas.RuleRead, r) for r in rows], total, limit, offset)

    @get("/{rule_id:int}")
    async def get_rule(
        self, db: DB, request: AnyRequest, rule_id: FromPath[int]
    ) -> schemas.RuleRead:
        rule = await service.get_rule(session=db, rule_id=rule_id, principal=request.user)
        return read_as(schemas.RuleRead, rule)

    @post("/")
    async def create_rule(
        self, db: DB, request: AnyRequest, data: JSONBody[schemas.RuleCreate]
    ) -> schemas.RuleRead:
        rule = await service.create_rule(session=db, actor=request.user, data=data)
        return read_as(schemas.RuleRead, rule)

    @patch("/{rule_id:int}")
    async def update_rule(
        self,
        db: DB,
        request: AnyRequest,
        rule_id: FromPath[int],
        data: JSONBody[schemas.RuleUpdate],
    ) -> schemas.RuleRead:
        rule = await service.update_rule(session=db, actor=request.user, rule_id=rule_id, data=data)
        return read_as(schemas.RuleRead, rule)

    @post("/{rule_id:int}/generate", status_code=200)
    async def generate(
        self,
        db: DB,
        request: AnyRequest,
        rule_id: FromPath[int],
        data: JSONBody[schemas.GenerateRequest],
    ) -> schemas.GenerateResult:
        """Create the rule's sessions up to `until` (idempotent)."""
        result = await service.generate(
            session=db, actor=request.user, rule_id=rule_id, until=data.until
        )
        return schemas.GenerateResult(
            created=await service.session_rows(session=db, subjects=result.created),
            updated=await service.session_rows(session=db, subjects=result.updated),
            skipped=result.skipped,
        )


async def _sheet(db: Any, subject: Any, principal: Principal) -> schemas.DaySheet:
    slots = await service.slots_of(session=db, session_id=subject.id)
    pairs = await service.appointments_of(session=db, session_id=subject.id)
    (row,) = await service.session_rows(session=db, subjects=[subject])
    return schemas.DaySheet(
        session=row,
        slots=[
            schemas.SlotRead(
                index=s.slot_index,
                starts_at=s.starts_at.astimezone(local_tz()),
                ends_at=s.ends_at.astimezone(local_tz()),
                capacity=s.capacity,
                booked=s.booked,
                free=s.capacity - s.booked,
            )
            for s in slots
        ],
        appointments=[
            service.appointment_read(a, s, masked=not principal.is_admin) for a, s in pairs
        ],
    )


class SessionController(Controller):
    path = "/sessions"
    tags = ["reception days"]

    @get("/")
    async def list_sessions(
        self,
        db: DB,
        request: AnyRequest,
        limit: Limit = 100,
        offset: Offset = 0,
        leader_id: FromQuery[int | None] = None,
        unit_id: Annotated[
            int | None, QueryParameter(description="Leaders of this unit subtree, or visits to it")
        ] = None,
        kind: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
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
        return Page(await service.session_rows(session=db, subjects=rows), total, limit, offset)

    @post("/")
    async def create_session(
        self, db: DB, request: AnyRequest, data: JSONBody[schemas.SessionCreate]
    ) -> schemas.SessionRead:
        subject = await service.create_session(session=db, actor=request.user, data=data)
        return (await service.session_rows(session=db, subjects=[subject]))[0]

    @get("/{session_id:int}")
    async def day_sheet(
        self, db: DB, request: AnyRequest, session_id: FromPath[int]
    ) -> Response[schemas.DaySheet]:
        """The session with its slots and appointments in slot order; its ETag is what a
        move or cancellation sends back as If-Match."""
        subject = await service.get_session(
            session=db, session_id=session_id, principal=request.user
        )
        sheet = await _sheet(db, subject, request.user)
        return Response(sheet, headers={"ETag": service.session_etag(subject)})

    @patch("/{session_id:int}")
    async def move_session(
        self,
        db: DB,
        request: AnyRequest,
        session_id: FromPath[int],
        data: JSONBody[schemas.SessionMove],
        if_match: IfMatch = None,
    ) -> Response[schemas.DaySheet]:
        subject = await service.move_session(
            session=db, actor=request.user, session_id=session_id, data=data, if_match=if_match
        )
        sheet = await _sheet(db, subject, request.user)
        return Response(sheet, headers={"ETag": service.session_etag(subject)})

    @post("/{session_id:int}/cancel", status_code=200)
    async def cancel_session(
        self,
        db: DB,
        request: AnyRequest,
        session_id: FromPath[int],
        data: JSONBody[schemas.CancelRequest],
        if_match: IfMatch = None,
    ) -> schemas.CancelResult:
        subject, cancelled = await service.cancel_session(
            session=db,
            actor=request.user,
            session_id=session_id,
            reason=data.reason,
            if_match=if_match,
        )
        slots = {s.id: s for s in await service.slots_of(session=db, session_id=session_id)}
        return schemas.CancelResult(
            session=(await service.session_rows(session=db, subjects=[subject]))[0],
            cancelled_appointments=[
                service.appointment_read(a, slots[a.slot_id], masked=not request.user.is_admin)
                for a in cancelled
            ],
        )

    @post("/{session_id:int}/hold", status_code=200)
    async def hold_session(
        self,
        db: DB,
        request: AnyRequest,
        session_id: FromPath[int],
        data: JSONBody[schemas.HoldRequest],
    ) -> schemas.SessionRead:
        """Record that the session took place, with its outcome (a leader may do this for
        his own field visits)."""
        subject = await service.hold_session(
            session=db, actor=request.user, session_id=session_id, outcome=data.outcome
        )
        return (await service.session_rows(session=db, subjects=[subject]))[0]

    @get("/{session_id:int}/appointments")
    async def list_appointments(
        self, db: DB, request: AnyRequest, session_id: FromPath[int]
    ) -> Page[schemas.AppointmentRead]:
        await service.get_session(session=db, session_id=session_id, principal=request.user)
        pairs = await service.appointments_of(session=db, session_id=session_id)
        items = [service.appointment_read(a, s, masked=not request.user.is_admin) for a, s in pairs]
        return Page(items, len(items), len(items), 0)

    @post("/{session_id:int}/appointments")
    async def book(
        self,
        db: DB,
        request: AnyRequest,
        session_id: FromPath[int],
        data: JSONBody[schemas.AppointmentCreate],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[schemas.AppointmentRead]:
        booking = await service.book_slot(
            session=db,
            actor=request.user,
            session_id=session_id,
            data=data,
            idempotency_key=idempotency_key,
        )
        body = service.appointment_read(booking.appointment, booking.slot, masked=False)
        headers = {"Idempotent-Replayed": "true"} if booking.replayed else {}
        return Response(body, status_code=201, headers=headers)


class AppointmentController(Controller):
    path = "/appointments"
    tags = ["reception days"]

    @get("/{appointment_id:int}")
    async def get_appointment(
        self, db: DB, request: AnyRequest, appointment_id: FromPath[int]
    ) -> schemas.AppointmentRead:
        """One appointment, unmasked for those who may manage its leader's schedule."""
        appointment = await service.get_appointment(
            session=db, appointment_id=appointment_id, principal=request.user
        )
        subject = await service.get_session(
            session=db, session_id=appointment.session_id, principal=None
        )
        slot = await service.slot_of(session=db, appointment=appointment)
        masked = not request.user.may_act_for_leader(subject.leader_id)
        return service.appointment_read(appointment, slot, masked=masked)

    @post("/{appointment_id:int}/status", status_code=200)
    async def change_status(
        self,
        db: DB,
        request: AnyRequest,
        appointment_id: FromPath[int],
        data: JSONBody[schemas.AppointmentStatusChange],
    ) -> schemas.AppointmentRead:
        """booked → checked_in → completed | no_show; or cancelled (with a reason)."""
        appointment = await service.transition_appointment(
            session=db,
            actor=request.user,
            appointment_id=appointment_id,
            to=data.status,
            reason=data.reason,
        )
        slot = await service.slot_of(session=db, appointment=appointment)
        return service.appointment_read(appointment, slot, masked=False)

    @post("/{appointment_id:int}/case", status_code=200)
    async def link_case(
        self,
        db: DB,
        request: AnyRequest,
        appointment_id: FromPath[int],
        data: JSONBody[schemas.AppointmentCaseLink],
    ) -> schemas.AppointmentRead:
        """Link the appointment to the case registered for it (or unlink with null)."""
        appointment = await service.set_appointment_case(
            session=db, actor=request.user, appointment_id=appointment_id, case_id=data.case_id
        )
        slot = await service.slot_of(session=db, appointment=appointment)
        return service.appointment_read(appointment, slot, masked=not request.user.is_admin)
