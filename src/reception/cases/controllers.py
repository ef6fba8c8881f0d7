"""HTTP endpoints for cases (信访事项): registration, transitions, clocks, ownership,
resolution, evaluation, timeline. Thin: parse, call, shape."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, patch, post, put
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter

from reception.auth import Principal, require
from reception.cases import (
    deliveries,
    lists,
    query_code,
    registration,
    schemas,
    service,
    views,
    workflow,
)
from reception.cases.access import case_etag, get_case
from reception.cases.models import PetitionCase
from reception.cases.ownership import assign_owner
from reception.cases.timeline import timeline
from reception.context import Context, Ctx
from reception.db import DB
from reception.org import service as org
from reception.responses import Limit, Offset, Page, attachment

AnyRequest = Request[Principal, Any, Any]
IfMatch = Annotated[
    str | None,
    HeaderParameter(name="If-Match", description="The ETag you read; 412 if the case changed"),
]


async def _detail_response(
    db: Any,
    ctx: Context,
    case: PetitionCase,
    principal: Principal,
    *,
    status: int = 200,
    candidates: list[schemas.RepeatCandidate] | None = None,
) -> Response[schemas.CaseDetail]:
    body = await views.detail_of(
        session=db,
        keys=ctx.keys,
        principal=principal,
        case=case,
        as_of=ctx.today(),
        tz=ctx.tz,
        candidates=candidates,
    )
    return Response(body, status_code=status, headers={"ETag": case_etag(case)})


class CaseController(Controller):
    path = "/cases"
    tags = ["cases"]

    @post("/", guards=[require("clerk")])
    async def register(
        self, db: DB, ctx: Ctx, request: AnyRequest, data: JSONBody[schemas.CaseCreate]
    ) -> Response[schemas.CaseDetail]:
        """Register a case; repeat candidates (same petitioner, similar matter) come back for
        the clerk to confirm with PATCH {"repeat_of": id}."""
        done = await registration.register(session=db, ctx=ctx, actor=request.user, data=data)
        response = await _detail_response(
            db, ctx, done.case, request.user, status=201, candidates=done.candidates
        )
        # The 查询码 is shown here once, for the receipt; the 受理告知书 prints it again.
        response.content.query_code = query_code.shown(done.query_code)
        return response

    @post("/repeat-check", guards=[require("clerk")], status_code=200)
    async def repeat_check(
        self, db: DB, ctx: Ctx, request: AnyRequest, data: JSONBody[schemas.RepeatCheck]
    ) -> list[schemas.RepeatCandidate]:
        """Before registering: earlier cases this one may repeat."""
        return await registration.repeat_candidates(
            session=db,
            keys=ctx.keys,
            principal=request.user,
            petitioners=data.petitioners,
            category=data.category,
            unit_id=data.unit_id,
            summary=data.summary,
        )

    @get("/")
    async def list_cases(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        limit: Limit = 100,
        offset: Offset = 0,
        overdue: FromQuery[bool | None] = None,
        due_before: FromQuery[date | None] = None,
        owner_leader_id: FromQuery[int | None] = None,
        unit_id: Annotated[int | None, QueryParameter(description="This unit and below")] = None,
        stage: FromQuery[workflow.Stage | None] = None,
        channel: FromQuery[workflow.Channel | None] = None,
        category: FromQuery[str | None] = None,
        first_time: FromQuery[bool | None] = None,
        inquiry: Annotated[
            Literal["open", "signed"] | None,
            QueryParameter(description="Cases whose 流调 is open (to finish) or signed"),
        ] = None,
        q: Annotated[
            str | None,
            QueryParameter(
                max_length=50,
                description="Reference (or part), or a petitioner's exact name, ID number or phone",
            ),
        ] = None,
        sort: Annotated[
            Literal["registered", "due"],
            QueryParameter(description="registered: newest first; due: next deadline first"),
        ] = "registered",
    ) -> Page[schemas.CaseSummary]:
        as_of = ctx.today()
        rows, total = await lists.list_cases(
            session=db,
            keys=ctx.keys,
            principal=request.user,
            as_of=as_of,
            limit=limit,
            offset=offset,
            overdue=overdue,
            due_before=due_before,
            owner_leader_id=owner_leader_id,
            unit_id=unit_id,
            stage=stage,
            channel=channel,
            category=category,
            first_time=first_time,
            inquiry=inquiry,
            q=q,
            sort=sort,
        )
        items = await lists.summaries(session=db, principal=request.user, cases=rows, as_of=as_of)
        return Page(items, total, limit, offset)

    @get("/{case_id:int}")
    async def get_case(
        self, db: DB, ctx: Ctx, request: AnyRequest, case_id: FromPath[int]
    ) -> Response[schemas.CaseDetail]:
        case = await get_case(session=db, case_id=case_id, principal=request.user)
        return await _detail_response(db, ctx, case, request.user)

    @patch("/{case_id:int}")
    async def update_case(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        case_id: FromPath[int],
        data: JSONBody[schemas.CaseUpdate],
        if_match: IfMatch = None,
    ) -> Response[schemas.CaseDetail]:
        case = await registration.update_case(
            session=db, ctx=ctx, actor=request.user, case_id=case_id, data=data, if_match=if_match
        )
        return await _detail_response(db, ctx, case, request.user)

    @post("/{case_id:int}/transitions", status_code=200)
    async def transition(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        case_id: FromPath[int],
        data: JSONBody[schemas.Transition],
        if_match: IfMatch = None,
    ) -> Response[schemas.CaseDetail]:
        """accept · reject · divert · simple_procedure · start · extend · reply · deliver ·
        request_review · decide_review · request_re_review · decide_re_review · close."""
        case = await service.transition(
            session=db, ctx=ctx, actor=request.user, case_id=case_id, data=data, if_match=if_match
        )
        return await _detail_response(db, ctx, case, request.user)

    @get("/{case_id:int}/clocks")
    async def clocks(
        self, db: DB, ctx: Ctx, request: AnyRequest, case_id: FromPath[int]
    ) -> list[schemas.ClockOut]:
        await get_case(session=db, case_id=case_id, principal=request.user)
        return await views.case_clocks(session=db, case_id=case_id, as_of=ctx.today())

    @post("/{case_id:int}/ownership")
    async def assign(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        case_id: FromPath[int],
        data: JSONBody[schemas.OwnershipAssign],
        if_match: IfMatch = None,
    ) -> schemas.OwnerOut:
        """Make a leader the case's accountable leader (包案领导); reassigning needs a reason."""
        ownership = await assign_owner(
            session=db, ctx=ctx, actor=request.user, case_id=case_id, data=data, if_match=if_match
        )
        history = await views.owners(session=db, case_id=case_id)
        return next(o for o in history if o.id == ownership.id)

    @get("/{case_id:int}/ownership")
    async def ownership(
        self, db: DB, request: AnyRequest, case_id: FromPath[int]
    ) -> list[schemas.OwnerOut]:
        await get_case(session=db, case_id=case_id, principal=request.user)
        return await views.owners(session=db, case_id=case_id)

    @put("/{case_id:int}/resolution")
    async def resolution(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        case_id: FromPath[int],
        data: JSONBody[schemas.ResolutionPut],
        if_match: IfMatch = None,
    ) -> Response[schemas.CaseDetail]:
        """化解 / 息诉罢访 (or back to unresolved), with date, method and evidence."""
        case = await service.set_resolution(
            session=db, ctx=ctx, actor=request.user, case_id=case_id, data=data, if_match=if_match
        )
        return await _detail_response(db, ctx, case, request.user)

    @put("/{case_id:int}/evaluation")
    async def evaluation(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        case_id: FromPath[int],
        data: JSONBody[schemas.EvaluationPut],
        if_match: IfMatch = None,
    ) -> Response[schemas.CaseDetail]:
        """The petitioner's satisfaction: 满意 / 基本满意 / 不满意 / 未评价."""
        case = await service.set_evaluation(
            session=db, ctx=ctx, actor=request.user, case_id=case_id, data=data, if_match=if_match
        )
        return await _detail_response(db, ctx, case, request.user)

    @get("/{case_id:int}/timeline")
    async def timeline(
        self, db: DB, ctx: Ctx, request: AnyRequest, case_id: FromPath[int]
    ) -> list[schemas.EventOut]:
        await get_case(session=db, case_id=case_id, principal=request.user)
        return [views.event_out(e, ctx.tz) for e in await timeline(session=db, case_id=case_id)]

    @get("/{case_id:int}/deliveries")
    async def deliveries(
        self, db: DB, request: AnyRequest, case_id: FromPath[int]
    ) -> list[schemas.DeliveryOut]:
        """Every attempt to serve the case's notices (送达 and 未能送达), oldest first: the
        one record the console, the notices and the monthly review read."""
        await get_case(session=db, case_id=case_id, principal=request.user)
        return [deliveries.out(row) for row in await deliveries.of_case(db, case_id)]


class DeliveryController(Controller):
    path = "/deliveries"
    tags = ["cases"]

    @put("/{delivery_id:int}/evidence", guards=[require("clerk")], status_code=200)
    async def put_evidence(
        self, db: DB, ctx: Ctx, request: AnyRequest, delivery_id: FromPath[int]
    ) -> schemas.DeliveryOut:
        """The scan of the signed 送达回证 or the postal record (JPG, PNG or PDF as the
        request body, at most 5 MB); kept sealed, replaced by a later upload."""
        row = await deliveries.attach_evidence(
            session=db,
            ctx=ctx,
            actor=request.user,
            delivery_id=delivery_id,
            content=await request.body(),
            media_type=request.headers.get("content-type", ""),
        )
        return deliveries.out(row)

    @get("/{delivery_id:int}/evidence", media_type="application/octet-stream")
    async def get_evidence(
        self, db: DB, ctx: Ctx, request: AnyRequest, delivery_id: FromPath[int]
    ) -> Response[bytes]:
        """The scan as uploaded (for the clerks handling the case and admins)."""
        row, content = await deliveries.evidence_of(
            session=db, ctx=ctx, actor=request.user, delivery_id=delivery_id
        )
        ext = deliveries.EVIDENCE_TYPES[row.evidence_type]
        return Response(
            content,
            media_type=row.evidence_type,
            headers={
                "Content-Disposition": attachment(
                    f"送达凭证-{row.doc_number}.{ext}", f"delivery-{row.id}.{ext}"
                )
            },
        )


class LeaderCasesController(Controller):
    path = "/leaders/{leader_id:int}/cases"
    tags = ["cases"]

    @get("/")
    async def leader_cases(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        leader_id: FromPath[int],
        include_past: FromQuery[bool] = False,
    ) -> list[schemas.LeaderCase]:
        """The cases a leader owns (包案), with stage, resolution and next due date."""
        await org.get_leader(session=db, leader_id=leader_id, principal=request.user)
        return await lists.leader_cases(
            session=db,
            leader_id=leader_id,
            principal=request.user,
            as_of=ctx.today(),
            include_past=include_past,
        )


class CategoryController(Controller):
    path = "/case-categories"
    tags = ["cases"]

    @get("/")
    async def list_categories(self, db: DB) -> list[schemas.CategoryOut]:
        return [
            schemas.CategoryOut(c.code, c.name, c.active)
            for c in await registration.list_categories(session=db)
        ]

    @post("/", guards=[require("admin")])
    async def add_category(
        self, db: DB, request: AnyRequest, data: JSONBody[schemas.CategoryIn]
    ) -> schemas.CategoryOut:
        c = await registration.add_category(session=db, actor=request.user, data=data)
        return schemas.CategoryOut(c.code, c.name, c.active)
