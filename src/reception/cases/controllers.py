"""HTTP endpoints for cases (信访事项): registration, transitions, clocks, ownership,
resolution, evaluation, timeline, campaigns, and links to sessions."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch, post, put
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter

from reception.auth import Principal, require
from reception.cases import schemas, service
from reception.config import local_tz
from reception.db import DB
from reception.responses import Limit, Offset, Page
from reception.scheduling import service as scheduling

AnyRequest = Request[Principal, Any, Any]
IfMatch = Annotated[
    str | None,
    HeaderParameter(name="If-Match", description="The ETag you read; 412 if the case changed"),
]


def _masked(principal: Principal) -> bool:
    """Lists always mask petitioners' data except for admins; a clerk who handles the case
    sees it whole in the case itself."""
    return not principal.is_admin


async def _detail_response(
    db: Any,
    case: Any,
    principal: Principal,
    *,
    status: int = 200,
    candidates: list[schemas.RepeatCandidate] | None = None,
) -> Response[schemas.CaseDetail]:
    masked = principal.role not in ("admin", "clerk")
    body = await service.detail(session=db, case=case, masked=masked, candidates=candidates)
    return Response(body, status_code=status, headers={"ETag": service.etag(case)})


class CaseController(Controller):
    path = "/cases"
    tags = ["cases"]

    @post("/", guards=[require("clerk")])
    async def register(
        self, db: DB, request: AnyRequest, data: JSONBody[schemas.CaseCreate]
    ) -> Response[schemas.CaseDetail]:
        """Register a case; repeat candidates (same petitioner, similar matter) come back for
        the clerk to confirm with PATCH {"repeat_of": id}."""
        case, candidates = await service.register(session=db, actor=request.user, data=data)
        return await _detail_response(db, case, request.user, status=201, candidates=candidates)

    @post("/repeat-check", guards=[require("clerk")], status_code=200)
    async def repeat_check(
        self, db: DB, request: AnyRequest, data: JSONBody[schemas.RepeatCheck]
    ) -> list[schemas.RepeatCandidate]:
        """Before registering: earlier cases this one may repeat."""
        return await service.repeat_candidates(
            session=db,
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
        request: AnyRequest,
        limit: Limit = 100,
        offset: Offset = 0,
        overdue: FromQuery[bool | None] = None,
        due_before: FromQuery[date | None] = None,
        owner_leader_id: FromQuery[int | None] = None,
        unit_id: Annotated[int | None, QueryParameter(description="This unit and below")] = None,
        stage: FromQuery[str | None] = None,
        channel: FromQuery[str | None] = None,
        category: FromQuery[str | None] = None,
        first_time: FromQuery[bool | None] = None,
        q: Annotated[
            str | None,
            QueryParameter(
                max_length=50,
                description="Reference (or part), or a petitioner's exact name, ID number or phone",
            ),
        ] = None,
    ) -> Page[schemas.CaseSummary]:
        rows, total = await service.list_cases(
            session=db,
            principal=request.user,
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
            q=q,
        )
        items = await service.summaries(session=db, cases=rows, masked=_masked(request.user))
        return Page(items, total, limit, offset)

    @get("/{case_id:int}")
    async def get_case(
        self, db: DB, request: AnyRequest, case_id: FromPath[int]
    ) -> Response[schemas.CaseDetail]:
        case = await service.get_case(session=db, case_id=case_id, principal=request.user)
        return await _detail_response(db, case, request.user)

    @patch("/{case_id:int}")
    async def update_case(
        self,
        db: DB,
        request: AnyRequest,
        case_id: FromPath[int],
        data: JSONBody[schemas.CaseUpdate],
        if_match: IfMatch = None,
    ) -> Response[schemas.CaseDetail]:
        case = await service.update_case(
            session=db, actor=request.user, case_id=case_id, data=data, if_match=if_match
        )
        return await _detail_response(db, case, request.user)

    @post("/{case_id:int}/transitions", status_code=200)
    async def transition(
        self,
        db: DB,
        request: AnyRequest,
        case_id: FromPath[int],
        data: JSONBody[schemas.Transition],
        if_match: IfMatch = None,
    ) -> Response[schemas.CaseDetail]:
        """accept · reject · divert · simple_procedure · start · extend · reply · deliver ·
        request_review · decide_review · request_re_review · decide_re_review · close."""
        case = await service.transition(
            session=db, actor=request.user, case_id=case_id, data=data, if_match=if_match
        )
        return await _detail_response(db, case, request.user)

    @get("/{case_id:int}/clocks")
    async def clocks(
        self, db: DB, request: AnyRequest, case_id: FromPath[int]
    ) -> list[schemas.ClockOut]:
        await service.get_case(session=db, case_id=case_id, principal=request.user)
        clocks = (await service.clocks_of(session=db, case_ids=[case_id]))[case_id]
        today = service.today_local()
        return [service.clock_out(c, ext, today) for c, ext in clocks]

    @post("/{case_id:int}/ownership")
    async def assign(
        self,
        db: DB,
        request: AnyRequest,
        case_id: FromPath[int],
        data: JSONBody[schemas.OwnershipAssign],
        if_match: IfMatch = None,
    ) -> schemas.OwnerOut:
        """Make a leader the case's accountable leader (包案领导); reassigning needs a reason."""
        ownership = await service.assign_owner(
            session=db, actor=request.user, case_id=case_id, data=data, if_match=if_match
        )
        history = await service.ownership_history(session=db, case_id=case_id)
        return next(service.owner_out(o, leader) for o, leader in history if o.id == ownership.id)

    @get("/{case_id:int}/ownership")
    async def ownership(
        self, db: DB, request: AnyRequest, case_id: FromPath[int]
    ) -> list[schemas.OwnerOut]:
        await service.get_case(session=db, case_id=case_id, principal=request.user)
        history = await service.ownership_history(session=db, case_id=case_id)
        return [service.owner_out(o, leader) for o, leader in history]

    @put("/{case_id:int}/resolution")
    async def resolution(
        self,
        db: DB,
        request: AnyRequest,
        case_id: FromPath[int],
        data: JSONBody[schemas.ResolutionPut],
        if_match: IfMatch = None,
    ) -> Response[schemas.CaseDetail]:
        """化解 / 息诉罢访 (or back to unresolved), with date, method and evidence."""
        case = await service.set_resolution(
            session=db, actor=request.user, case_id=case_id, data=data, if_match=if_match
        )
        return await _detail_response(db, case, request.user)

    @put("/{case_id:int}/evaluation")
    async def evaluation(
        self,
        db: DB,
        request: AnyRequest,
        case_id: FromPath[int],
        data: JSONBody[schemas.EvaluationPut],
        if_match: IfMatch = None,
    ) -> Response[schemas.CaseDetail]:
        """The petitioner's satisfaction: 满意 / 基本满意 / 不满意 / 未评价."""
        case = await service.set_evaluation(
            session=db, actor=request.user, case_id=case_id, data=data, if_match=if_match
        )
        return await _detail_response(db, case, request.user)

    @get("/{case_id:int}/timeline")
    async def timeline(
        self, db: DB, request: AnyRequest, case_id: FromPath[int]
    ) -> list[schemas.EventOut]:
        await service.get_case(session=db, case_id=case_id, principal=request.user)
        tz = local_tz()
        return [
            schemas.EventOut(
                id=e.id or 0,
                at=e.at.astimezone(tz),
                effective_on=e.effective_on,
                actor_name=e.actor_name,
                kind=e.kind,
                note=e.note,
                before=e.before,
                after=e.after,
            )
            for e in await service.timeline(session=db, case_id=case_id)
        ]


class LeaderCasesController(Controller):
    path = "/leaders/{leader_id:int}/cases"
    tags = ["cases"]

    @get("/")
    async def leader_cases(
        self,
        db: DB,
        request: AnyRequest,
        leader_id: FromPath[int],
        include_past: FromQuery[bool] = False,
    ) -> list[schemas.LeaderCase]:
        """The cases a leader owns (包案), with stage, resolution and next due date."""
        from reception.org import service as org

        await org.get_leader(session=db, leader_id=leader_id, principal=request.user)
        return await service.leader_cases(
            session=db, leader_id=leader_id, principal=request.user, include_past=include_past
        )


class CategoryController(Controller):
    path = "/case-categories"
    tags = ["cases"]

    @get("/")
    async def list_categories(self, db: DB) -> list[schemas.CategoryOut]:
        return [
            schemas.CategoryOut(c.code, c.name, c.active)
            for c in await service.list_categories(session=db)
        ]

    @post("/", guards=[require("admin")])
    async def add_category(
        self, db: DB, request: AnyRequest, data: JSONBody[schemas.CategoryIn]
    ) -> schemas.CategoryOut:
        c = await service.add_category(session=db, actor=request.user, data=data)
        return schemas.CategoryOut(c.code, c.name, c.active)


class CampaignController(Controller):
    path = "/campaigns"
    tags = ["cases"]

    @post("/", guards=[require("clerk")])
    async def create(
        self, db: DB, request: AnyRequest, data: JSONBody[schemas.CampaignCreate]
    ) -> schemas.CampaignProgress:
        campaign = await service.create_campaign(session=db, actor=request.user, data=data)
        assert campaign.id is not None
        return await service.campaign_progress(
            session=db, campaign_id=campaign.id, as_of=service.today_local()
        )

    @get("/", guards=[require("clerk", "reviewer")])
    async def list_campaigns(
        self, db: DB, as_of: FromQuery[date | None] = None
    ) -> list[schemas.CampaignProgress]:
        day = as_of or service.today_local()
        return [
            await service.campaign_progress(session=db, campaign_id=c.id or 0, as_of=day)
            for c in await service.list_campaigns(session=db)
        ]

    @get("/{campaign_id:int}", guards=[require("clerk", "reviewer")])
    async def progress(
        self, db: DB, campaign_id: FromPath[int], as_of: FromQuery[date | None] = None
    ) -> schemas.CampaignProgress:
        """Resolved ÷ total as of a date, against the target in force."""
        return await service.campaign_progress(
            session=db, campaign_id=campaign_id, as_of=as_of or service.today_local()
        )

    @post("/{campaign_id:int}/cases", guards=[require("clerk")], status_code=200)
    async def add_cases(
        self,
        db: DB,
        request: AnyRequest,
        campaign_id: FromPath[int],
        data: JSONBody[schemas.CampaignCases],
    ) -> schemas.CampaignProgress:
        await service.add_campaign_cases(
            session=db, actor=request.user, campaign_id=campaign_id, case_ids=data.case_ids
        )
        return await service.campaign_progress(
            session=db, campaign_id=campaign_id, as_of=service.today_local()
        )


class SessionCasesController(Controller):
    path = "/sessions/{session_id:int}/cases"
    tags = ["cases"]

    @get("/")
    async def list_links(
        self, db: DB, request: AnyRequest, session_id: FromPath[int]
    ) -> list[schemas.SessionCaseOut]:
        await scheduling.get_session(session=db, session_id=session_id, principal=request.user)
        return [
            schemas.SessionCaseOut(
                session_id, case.id or 0, case.reference, link.outcome, link.outcome_on
            )
            for link, case in await service.session_cases(
                session=db, session_id=session_id, principal=request.user
            )
        ]

    @post("/")
    async def link(
        self,
        db: DB,
        request: AnyRequest,
        session_id: FromPath[int],
        data: JSONBody[schemas.SessionCaseLink],
    ) -> schemas.SessionCaseOut:
        """The session (usually a 带案下访 field visit) is about this case."""
        link = await service.link_session_case(
            session=db, actor=request.user, session_id=session_id, case_id=data.case_id
        )
        case = await service.get_case(session=db, case_id=data.case_id, principal=None)
        return schemas.SessionCaseOut(session_id, link.case_id, case.reference, "", None)

    @post("/{case_id:int}/outcome", status_code=200)
    async def outcome(
        self,
        db: DB,
        request: AnyRequest,
        session_id: FromPath[int],
        case_id: FromPath[int],
        data: JSONBody[schemas.SessionCaseOutcome],
    ) -> schemas.SessionCaseOut:
        """What the visit achieved for this case; it goes on the case's timeline."""
        link = await service.record_session_outcome(
            session=db,
            actor=request.user,
            session_id=session_id,
            case_id=case_id,
            outcome=data.outcome,
            on=data.on,
        )
        case = await service.get_case(session=db, case_id=case_id, principal=None)
        return schemas.SessionCaseOut(
            session_id, case_id, case.reference, link.outcome, link.outcome_on
        )
