"""HTTP endpoints of 督查督办: the checklist, the monthly spot checks and their findings, and
流调. Thin: parse, call, shape."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, patch, post
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter

from reception.auth import Principal, require, require_only
from reception.base import MONTH_PATTERN
from reception.cases import access as case_access
from reception.context import Ctx
from reception.db import DB
from reception.responses import Limit, Offset, Page
from reception.supervision import (
    access,
    checklist,
    conferences,
    decisions,
    findings,
    inquiries,
    schemas,
    spot_checks,
)
from reception.supervision.notice import notice_file

AnyRequest = Request[Principal, Any, Any]
IfMatch = Annotated[
    str | None,
    HeaderParameter(name="If-Match", description="The ETag you read; 412 if it changed"),
]
Month = Annotated[str | None, QueryParameter(pattern=MONTH_PATTERN, description="2026-11")]
CHECKERS = [require("reviewer")]
READERS = [require("clerk", "reviewer")]


class CheckItemController(Controller):
    path = "/check-items"
    tags = ["supervision"]

    @get("/", guards=READERS)
    async def list_items(self, db: DB) -> list[schemas.ItemOut]:
        """The spot check's checklist (inactive lines too: past marks keep their meaning)."""
        return [checklist.item_out(i) for i in await checklist.list_items(db)]

    @post("/", guards=[require_only("admin")])
    async def create(
        self, db: DB, request: AnyRequest, data: JSONBody[schemas.ItemIn]
    ) -> schemas.ItemOut:
        item = await checklist.create_item(session=db, actor=request.user, data=data)
        return checklist.item_out(item)

    @patch("/{item_id:int}", guards=[require_only("admin")])
    async def update(
        self, db: DB, request: AnyRequest, item_id: FromPath[int], data: JSONBody[schemas.ItemPatch]
    ) -> schemas.ItemOut:
        item = await checklist.update_item(
            session=db, actor=request.user, item_id=item_id, data=data
        )
        return checklist.item_out(item)


class SpotCheckController(Controller):
    path = "/spot-checks"
    tags = ["supervision"]

    @post("/", guards=CHECKERS)
    async def draw(
        self, db: DB, ctx: Ctx, request: AnyRequest, data: JSONBody[schemas.DrawIn]
    ) -> schemas.DrawOut:
        """Draw a finished month's sample for each base unit (or those named): a random seed
        per unit, stored with the population; 409 for a unit drawn already that month."""
        checks = await spot_checks.draw(session=db, ctx=ctx, actor=request.user, data=data)
        return schemas.DrawOut(month=data.month, checks=await spot_checks.checks_out(db, checks))

    @get("/", guards=READERS)
    async def list_checks(
        self, db: DB, request: AnyRequest, month: Month = None
    ) -> list[schemas.CheckOut]:
        rows = await spot_checks.list_checks(session=db, principal=request.user, month=month)
        return await spot_checks.checks_out(db, rows)

    @get("/{check_id:int}", guards=READERS)
    async def detail(
        self, db: DB, request: AnyRequest, check_id: FromPath[int]
    ) -> schemas.CheckOut:
        check = await spot_checks.get_check(session=db, principal=request.user, check_id=check_id)
        return (await spot_checks.checks_out(db, [check]))[0]

    @get("/{check_id:int}/redraw", guards=READERS)
    async def redraw(self, db: DB, request: AnyRequest, check_id: FromPath[int]) -> schemas.Redraw:
        """The draw done again from the stored seed and population (the same cases)."""
        check = await spot_checks.get_check(session=db, principal=request.user, check_id=check_id)
        return await spot_checks.redraw(db, check)

    @get("/samples/{sample_id:int}", guards=READERS)
    async def sample(
        self, db: DB, ctx: Ctx, request: AnyRequest, sample_id: FromPath[int]
    ) -> schemas.SampleDetail:
        sample, check = await spot_checks.get_sample(
            session=db, principal=request.user, sample_id=sample_id
        )
        return await spot_checks.sample_detail(db, ctx, sample, check)

    @post("/samples/{sample_id:int}/marks", guards=CHECKERS)
    async def mark(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        sample_id: FromPath[int],
        data: JSONBody[schemas.MarksIn],
    ) -> schemas.SampleDetail:
        """The checklist for one sampled case; each failed line becomes a finding."""
        sample = await spot_checks.mark(
            session=db, ctx=ctx, actor=request.user, sample_id=sample_id, data=data
        )
        _, check = await spot_checks.get_sample(
            session=db, principal=request.user, sample_id=sample.id or 0
        )
        return await spot_checks.sample_detail(db, ctx, sample, check)


async def _finding(db: Any, ctx: Any, finding: Any) -> Response[schemas.FindingOut]:
    out = (await findings.findings_out(db, [finding], ctx.today()))[0]
    return Response(out, headers={"ETag": access.finding_etag(finding)})


class FindingController(Controller):
    path = "/findings"
    tags = ["supervision"]

    @get("/", guards=READERS)
    async def list_findings(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        limit: Limit = 100,
        offset: Offset = 0,
        status: FromQuery[Literal["open", "answered", "closed"] | None] = None,
        unit_id: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
        case_id: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
        month: Month = None,
        overdue: FromQuery[bool | None] = None,
    ) -> Page[schemas.FindingOut]:
        rows, total = await findings.list_findings(
            session=db,
            principal=request.user,
            today=ctx.today(),
            filters=findings.FindingFilters(status, unit_id, month, overdue, case_id),
            limit=limit,
            offset=offset,
        )
        return Page(await findings.findings_out(db, rows, ctx.today()), total, limit, offset)

    @get("/{finding_id:int}", guards=READERS)
    async def detail(
        self, db: DB, ctx: Ctx, request: AnyRequest, finding_id: FromPath[int]
    ) -> Response[schemas.FindingOut]:
        finding = await findings.get_finding(
            session=db, principal=request.user, finding_id=finding_id
        )
        return await _finding(db, ctx, finding)

    @post("/{finding_id:int}/answer", guards=[require("clerk")], status_code=200)
    async def answer(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        finding_id: FromPath[int],
        data: JSONBody[schemas.AnswerIn],
        if_match: IfMatch = None,
    ) -> Response[schemas.FindingOut]:
        """The unit's 整改情况."""
        finding = await findings.answer(
            session=db, ctx=ctx, actor=request.user, finding_id=finding_id, data=data,
            if_match=if_match,
        )  # fmt: skip
        return await _finding(db, ctx, finding)

    @post("/{finding_id:int}/close", guards=CHECKERS, status_code=200)
    async def close(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        finding_id: FromPath[int],
        data: JSONBody[schemas.CloseIn],
        if_match: IfMatch = None,
    ) -> Response[schemas.FindingOut]:
        """The checker accepts the rectification."""
        finding = await findings.close(
            session=db, ctx=ctx, actor=request.user, finding_id=finding_id, data=data,
            if_match=if_match,
        )  # fmt: skip
        return await _finding(db, ctx, finding)

    @post("/{finding_id:int}/return", guards=CHECKERS, status_code=200)
    async def send_back(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        finding_id: FromPath[int],
        data: JSONBody[schemas.ReturnIn],
        if_match: IfMatch = None,
    ) -> Response[schemas.FindingOut]:
        """Back to the unit: the answer is not a rectification."""
        finding = await findings.send_back(
            session=db, ctx=ctx, actor=request.user, finding_id=finding_id, data=data,
            if_match=if_match,
        )  # fmt: skip
        return await _finding(db, ctx, finding)


async def _inquiry(
    db: Any, ctx: Any, principal: Principal, inquiry: Any, status: int = 200
) -> Response[schemas.InquiryOut]:
    out = await inquiries.inquiry_out(session=db, ctx=ctx, principal=principal, inquiry=inquiry)
    return Response(out, status_code=status, headers={"ETag": access.inquiry_etag(inquiry)})


INQUIRY_READERS = [require("clerk", "leader", "reviewer")]


class InquiryController(Controller):
    path = "/inquiries"
    tags = ["supervision"]

    @get("/", guards=INQUIRY_READERS)
    async def list_inquiries(
        self,
        db: DB,
        request: AnyRequest,
        limit: Limit = 100,
        offset: Offset = 0,
        status: FromQuery[Literal["open", "signed"] | None] = None,
    ) -> Page[schemas.InquirySummary]:
        """流调 the caller reads (a leader: those he signs, and those of his 包案 cases)."""
        rows, total = await inquiries.list_inquiries(
            session=db, principal=request.user, status=status, limit=limit, offset=offset
        )
        return Page(rows, total, limit, offset)

    @get("/{inquiry_id:int}", guards=INQUIRY_READERS)
    async def detail(
        self, db: DB, ctx: Ctx, request: AnyRequest, inquiry_id: FromPath[int]
    ) -> Response[schemas.InquiryOut]:
        """The 流调 with its 办理过程 (the case's timeline up to the signature)."""
        inquiry = await inquiries.get_inquiry(
            session=db, principal=request.user, inquiry_id=inquiry_id
        )
        return await _inquiry(db, ctx, request.user, inquiry)

    @patch("/{inquiry_id:int}", guards=[require("clerk")])
    async def update(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        inquiry_id: FromPath[int],
        data: JSONBody[schemas.InquiryPatch],
        if_match: IfMatch = None,
    ) -> Response[schemas.InquiryOut]:
        inquiry = await inquiries.update(
            session=db, ctx=ctx, actor=request.user, inquiry_id=inquiry_id, data=data,
            if_match=if_match,
        )  # fmt: skip
        return await _inquiry(db, ctx, request.user, inquiry)

    @post("/{inquiry_id:int}/sign", guards=[require("leader")], status_code=200)
    async def sign(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        inquiry_id: FromPath[int],
        data: JSONBody[schemas.SignIn],
        if_match: IfMatch = None,
    ) -> Response[schemas.InquiryOut]:
        """The named leader signs the conclusion (then it does not change)."""
        inquiry = await inquiries.sign(
            session=db, ctx=ctx, actor=request.user, inquiry_id=inquiry_id, data=data,
            if_match=if_match,
        )  # fmt: skip
        return await _inquiry(db, ctx, request.user, inquiry)


class InquiryOfCaseController(Controller):
    path = "/cases"
    tags = ["supervision"]

    @post("/{case_id:int}/inquiry", guards=[require("clerk")])
    async def open_inquiry(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        case_id: FromPath[int],
        data: JSONBody[schemas.InquiryIn],
    ) -> Response[schemas.InquiryOut]:
        """Open the 流调 of a repeat or escalated matter (one per case)."""
        inquiry = await inquiries.open_inquiry(
            session=db, ctx=ctx, actor=request.user, case_id=case_id, data=data
        )
        return await _inquiry(db, ctx, request.user, inquiry, 201)

    @get("/{case_id:int}/inquiry", guards=INQUIRY_READERS)
    async def of_case(
        self, db: DB, ctx: Ctx, request: AnyRequest, case_id: FromPath[int]
    ) -> Response[schemas.InquiryOut | None]:
        inquiry = await inquiries.of_case(session=db, principal=request.user, case_id=case_id)
        if inquiry is None:
            # A case the caller does not read is 404, as everywhere; one he reads: no 流调 yet.
            await case_access.get_case(session=db, case_id=case_id, principal=request.user)
            return Response(None)
        out = await inquiries.inquiry_out(
            session=db, ctx=ctx, principal=request.user, inquiry=inquiry
        )
        return Response(out, headers={"ETag": access.inquiry_etag(inquiry)})


class ConferenceController(Controller):
    path = "/conferences"
    tags = ["supervision"]

    @post("/", guards=CHECKERS)
    async def create(
        self, db: DB, ctx: Ctx, request: AnyRequest, data: JSONBody[schemas.ConferenceIn]
    ) -> schemas.ConferenceOut:
        """A 联席会议 as held: its day, convening leader, units present, the matters taken up."""
        c = await conferences.create_conference(session=db, ctx=ctx, actor=request.user, data=data)
        return await decisions.conference_out(db, request.user, c, ctx.today())

    @get("/", guards=READERS)
    async def list_conferences(
        self, db: DB, ctx: Ctx, request: AnyRequest, limit: Limit = 50, offset: Offset = 0
    ) -> Page[schemas.ConferenceOut]:
        rows, total = await conferences.list_conferences(
            session=db, principal=request.user, limit=limit, offset=offset
        )
        items = [await decisions.conference_out(db, request.user, c, ctx.today()) for c in rows]
        return Page(items, total, limit, offset)

    @get("/{conference_id:int}", guards=READERS)
    async def detail(
        self, db: DB, ctx: Ctx, request: AnyRequest, conference_id: FromPath[int]
    ) -> schemas.ConferenceOut:
        c = await conferences.get_conference(
            session=db, principal=request.user, conference_id=conference_id
        )
        return await decisions.conference_out(db, request.user, c, ctx.today())

    @post("/{conference_id:int}/decisions", guards=CHECKERS)
    async def decide(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        conference_id: FromPath[int],
        data: JSONBody[schemas.DecisionIn],
    ) -> Response[schemas.DecisionOut]:
        """议定事项 on one of its matters, with its 督办单; the owner unit's group is told."""
        d = await decisions.decide(
            session=db, ctx=ctx, actor=request.user, conference_id=conference_id, data=data
        )
        return await _decision(db, ctx, d, 201)


async def _decision(db: Any, ctx: Any, d: Any, status: int = 200) -> Response[schemas.DecisionOut]:
    out = (await decisions.decisions_out(db, [d], ctx.today(), with_steps=True))[0]
    return Response(out, status_code=status, headers={"ETag": access.decision_etag(d)})


class DecisionController(Controller):
    path = "/decisions"
    tags = ["supervision"]

    @get("/", guards=READERS)
    async def list_decisions(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        limit: Limit = 100,
        offset: Offset = 0,
        status: FromQuery[Literal["open", "reported", "closed"] | None] = None,
        stalled: FromQuery[bool | None] = None,
        case_id: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
    ) -> Page[schemas.DecisionOut]:
        """Decisions the caller reads (a clerk: his subtree's); stalled=true: 空转 today."""
        rows, total = await decisions.list_decisions(
            session=db, principal=request.user, today=ctx.today(), status=status,
            stalled=stalled, case_id=case_id, limit=limit, offset=offset,
        )  # fmt: skip
        return Page(await decisions.decisions_out(db, rows, ctx.today()), total, limit, offset)

    @get("/{decision_id:int}", guards=READERS)
    async def detail(
        self, db: DB, ctx: Ctx, request: AnyRequest, decision_id: FromPath[int]
    ) -> Response[schemas.DecisionOut]:
        d = await decisions.get_decision(
            session=db, principal=request.user, decision_id=decision_id
        )
        return await _decision(db, ctx, d)

    @post("/{decision_id:int}/steps", guards=[require("clerk", "reviewer")], status_code=200)
    async def step(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        decision_id: FromPath[int],
        data: JSONBody[schemas.DecisionStepIn],
        if_match: IfMatch = None,
    ) -> Response[schemas.DecisionOut]:
        """report (the owner unit's clerk), press (催办) or close (the conference's secretary)."""
        done = await decisions.step(
            session=db, ctx=ctx, actor=request.user, decision_id=decision_id, data=data,
            if_match=if_match,
        )  # fmt: skip
        return await _decision(db, ctx, done.decision)

    @get(
        "/{decision_id:int}/notice",
        guards=READERS,
        media_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
    async def notice(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        decision_id: FromPath[int],
        format: FromQuery[Literal["docx", "pdf"]] = "docx",
    ) -> Response[bytes]:
        """The 督办单 as issued (DOCX), or as PDF."""
        d = await decisions.get_decision(
            session=db, principal=request.user, decision_id=decision_id
        )
        return await notice_file(ctx, d, format)


CONTROLLERS = [
    CheckItemController,
    SpotCheckController,
    FindingController,
    InquiryController,
    InquiryOfCaseController,
    ConferenceController,
    DecisionController,
]
