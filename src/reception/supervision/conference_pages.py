"""联席会议 and 督办 in the console: the conferences (a new one entered with its matters by
reference), one conference with its decisions and the form for a new one, a decision with its
steps (the owner's report, the secretary's 催办 and 办结) and its 督办单, a unit's list of
what it was given. Faces of `conferences`: no query of their own."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from reception.auth import Principal, require
from reception.cases import access as case_access
from reception.context import Context, Ctx
from reception.db import DB
from reception.org.choices import leader_choices, units_in_reach
from reception.org.models import Unit
from reception.supervision import access, conferences, decisions, rules, schemas
from reception.supervision.notice import notice_file
from reception.web.render import FormErrors, form_step, page, query, to_body

AnyRequest = Request[Principal, Any, Any]
READERS = [require("clerk", "reviewer")]
CHECKERS = [require("reviewer")]
PER_PAGE = 30
# Who sits at a 联席会议: the district's offices, townships and departments.
PARTICIPANTS = ("district", "township", "department")
PageNo = Annotated[int | None, QueryParameter(name="page", ge=1, le=100_000)]
Bool = Annotated[bool | None, QueryParameter()]


async def _list_page(
    request: AnyRequest,
    db: AsyncSession,
    ctx: Context,
    *,
    number: int = 1,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Template:
    rows, total = await conferences.list_conferences(
        session=db, principal=request.user, limit=PER_PAGE, offset=(number - 1) * PER_PAGE
    )
    may = access.checks(request.user)
    return page(
        request,
        "supervision/conferences.html",
        status=status,
        title="信访工作联席会议",
        items=[await decisions.conference_out(db, request.user, c, ctx.today()) for c in rows],
        total=total,
        number=number,
        pages=max(1, -(-total // PER_PAGE)),
        may_create=may,
        leaders=await leader_choices(db, request.user) if may else [],
        units=await units_in_reach(db, request.user, PARTICIPANTS) if may else [],
        errors=errors or {},
        values=values or {"held_on": ctx.today().isoformat()},
    )


@get("/supervision/conferences", guards=READERS)
async def conferences_page(
    db: DB, ctx: Ctx, request: AnyRequest, page_no: PageNo = None
) -> Template:
    return await _list_page(request, db, ctx, number=page_no or 1)


@post("/supervision/conferences", guards=CHECKERS, status_code=200)
async def create_conference(db: DB, ctx: Ctx, request: AnyRequest) -> Response[Any] | Template:
    async def act(form: Any) -> tuple[str, str]:
        matters = await conferences.matters_from_references(
            db, request.user, str(form.get("matters") or "")
        )
        body = to_body(
            schemas.ConferenceIn,
            {
                **{k: form.get(k, "") for k in ("held_on", "title", "convener_leader_id", "notes")},
                "unit_ids": form.getall("unit_ids") if "unit_ids" in form else [],
                "matters": [
                    {"case_id": m.case_id, "ledger_entry_id": m.ledger_entry_id} for m in matters
                ],
            },
        )
        if not body.matters:
            raise FormErrors({"matters": "请列出会议研究的事项(信访事项或台账编号,每行一个)"})
        c = await conferences.create_conference(session=db, ctx=ctx, actor=request.user, data=body)
        return "已登记联席会议:请逐项录入议定事项", f"/supervision/conferences/{c.id}"

    async def again(problem: FormErrors, values: dict[str, Any]) -> Template:
        return await _list_page(
            request, db, ctx, status=problem.status, errors=problem.fields, values=values
        )

    return await form_step(request, db, act, again)


async def _conference_page(
    request: AnyRequest,
    db: AsyncSession,
    ctx: Context,
    conference_id: int,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Template:
    c = await conferences.get_conference(
        session=db, principal=request.user, conference_id=conference_id
    )
    out = await decisions.conference_out(db, request.user, c, ctx.today())
    may = access.checks(request.user)
    return page(
        request,
        "supervision/conference.html",
        status=status,
        title=out.title,
        c=out,
        matter_choices=[(m.id, f"{m.kind} {m.reference}") for m in out.matters],
        may_decide=may,
        units=await units_in_reach(db, request.user) if may else [],
        errors=errors or {},
        values=values or {},
    )


@get("/supervision/conferences/{conference_id:int}", guards=READERS)
async def conference_page(
    db: DB, ctx: Ctx, request: AnyRequest, conference_id: FromPath[int]
) -> Template:
    return await _conference_page(request, db, ctx, conference_id)


@post("/supervision/conferences/{conference_id:int}/decisions", guards=CHECKERS, status_code=200)
async def decide(
    db: DB, ctx: Ctx, request: AnyRequest, conference_id: FromPath[int]
) -> Response[Any] | Template:
    async def act(form: Any) -> tuple[str, str]:
        names = ("matter_id", "owner_unit_id", "content", "done_criteria", "deadline")
        body = to_body(schemas.DecisionIn, {n: form.get(n, "") for n in names})
        d = await decisions.decide(
            session=db, ctx=ctx, actor=request.user, conference_id=conference_id, data=body
        )
        return f"已议定并生成督办单 {d.number}", f"/supervision/decisions/{d.id}"

    async def again(problem: FormErrors, values: dict[str, Any]) -> Template:
        return await _conference_page(
            request, db, ctx, conference_id, status=problem.status, errors=problem.fields,
            values=values,
        )  # fmt: skip

    return await form_step(request, db, act, again)


# ---------------------------------------------------------------- decisions


@get("/supervision/decisions", guards=READERS)
async def decisions_page(
    db: DB, ctx: Ctx, request: AnyRequest, stalled: Bool = None, page_no: PageNo = None
) -> Template:
    number = page_no or 1
    rows, total = await decisions.list_decisions(
        session=db, principal=request.user, today=ctx.today(),
        stalled=True if stalled else None, limit=PER_PAGE, offset=(number - 1) * PER_PAGE,
    )  # fmt: skip
    return page(
        request,
        "supervision/decisions.html",
        title="联席会议督办事项",
        items=await decisions.decisions_out(db, rows, ctx.today()),
        total=total,
        stalled=bool(stalled),
        number=number,
        pages=max(1, -(-total // PER_PAGE)),
        link=lambda **change: query(
            "/supervision/decisions", stalled="true" if stalled else None, **change
        ),
    )


async def _decision_page(
    request: AnyRequest,
    db: AsyncSession,
    ctx: Context,
    decision_id: int,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    open_form: str = "",
    values: dict[str, Any] | None = None,
) -> Template:
    d = await decisions.get_decision(session=db, principal=request.user, decision_id=decision_id)
    out = (await decisions.decisions_out(db, [d], ctx.today(), with_steps=True))[0]
    unit = await db.get(Unit, d.owner_unit_id)
    # The owner unit's clerks report (the secretary presses and closes).
    owner = (
        request.user.role != "admin"
        and unit is not None
        and case_access.handles(request.user, unit)
    )
    return page(
        request,
        "supervision/decision.html",
        status=status,
        title=f"督办 {out.number}",
        d=out,
        etag=access.decision_etag(d),
        may_report=owner and d.status != "closed",
        may_press=access.checks(request.user) and d.status != "closed",
        may_close=access.checks(request.user) and d.status == "reported",
        steps=rules.DECISION_STEP_LABELS,
        errors=errors or {},
        open_form=open_form,
        values=values or {},
    )


@get("/supervision/decisions/{decision_id:int}", guards=READERS)
async def decision_page(
    db: DB, ctx: Ctx, request: AnyRequest, decision_id: FromPath[int]
) -> Template:
    return await _decision_page(request, db, ctx, decision_id)


@post("/supervision/decisions/{decision_id:int}/steps", guards=READERS, status_code=200)
async def decision_step(
    db: DB, ctx: Ctx, request: AnyRequest, decision_id: FromPath[int]
) -> Response[Any] | Template:
    kind = ""

    async def act(form: Any) -> tuple[str, str]:
        nonlocal kind
        kind = str(form.get("kind") or "")
        body = to_body(
            schemas.DecisionStepIn,
            {"kind": kind, "note": form.get("note", ""), "on": form.get("on") or None},
        )
        await decisions.step(
            session=db, ctx=ctx, actor=request.user, decision_id=decision_id, data=body,
            if_match=str(form.get("etag") or "") or None,
        )  # fmt: skip
        return f"已{rules.DECISION_STEP_LABELS[body.kind]}", f"/supervision/decisions/{decision_id}"

    async def again(problem: FormErrors, values: dict[str, Any]) -> Template:
        return await _decision_page(
            request, db, ctx, decision_id, status=problem.status, errors=problem.fields,
            open_form=kind, values=values,
        )  # fmt: skip

    return await form_step(request, db, act, again)


@get("/supervision/decisions/{decision_id:int}/notice", guards=READERS)
async def decision_notice(
    db: DB,
    ctx: Ctx,
    request: AnyRequest,
    decision_id: FromPath[int],
    format: Annotated[str | None, QueryParameter(max_length=5)] = None,
) -> Response[bytes]:
    """The 督办单 (DOCX as issued, or PDF)."""
    d = await decisions.get_decision(session=db, principal=request.user, decision_id=decision_id)
    return await notice_file(ctx, d, "pdf" if format == "pdf" else "docx")


PAGES = [
    conferences_page,
    create_conference,
    conference_page,
    decide,
    decisions_page,
    decision_page,
    decision_step,
    decision_notice,
]
