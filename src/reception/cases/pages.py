"""Cases in the console: the clerk's worklist (the page a cadre opens every morning), the
registration form with repeat candidates while he types, and the case page with only the
actions the stage machine allows. Over the same services and scope as the API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal

from litestar import Request, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from reception.auth import Principal, require
from reception.cases import delivery, query_code, registration, schemas, service, views, workflow
from reception.cases.access import case_etag, get_case, resolves, writes
from reception.cases.ownership import assign_owner
from reception.cases.timeline import timeline
from reception.context import Context, Ctx
from reception.db import DB
from reception.errors import DomainError
from reception.org import service as org
from reception.org.access import unit_in_reach
from reception.spreadsheet import csv_bytes
from reception.web.render import (
    FormErrors,
    check_form,
    page,
    query,
    read_form,
    refused,
    see_other,
    to_body,
    unchecked_form,
    values_of,
)

AnyRequest = Request[Principal, Any, Any]
CLERKS = [require("clerk")]
PER_PAGE = 50
# Past this many a page says "10000+ 件" rather than count them all (a city's open cases).
COUNT_UP_TO = 10_000
EXPORT_MAX = 20_000


@dataclass(frozen=True)
class Input:
    name: str
    label: str
    type: str = "text"
    required: bool = False
    hint: str = ""
    options: tuple[tuple[str, str], ...] = ()


ON = Input("on", "日期", "date", hint="默认今天;补录时填实际日期")
# What each action asks for (the fields of the API's Transition body).
ACTION_INPUTS: dict[str, tuple[Input, ...]] = {
    "accept": (ON,),
    "reject": (Input("reason", "不予受理的理由", required=True), ON),
    "divert": (
        Input(
            "procedure",
            "导入的法定程序",
            "select",
            required=True,
            options=tuple(workflow.PROCEDURE_LABELS.items()),
        ),
        Input("reason", "说明"),
        ON,
    ),
    "simple_procedure": (ON,),
    "start": (ON,),
    "extend": (
        Input("days", "延长天数", "number", required=True, hint="最多30日"),
        Input("reason", "延期理由", required=True),
        Input("approver", "批准人", required=True, hint="本机关负责人"),
        Input("petitioner_told_on", "告知信访人日期", "date", required=True),
        ON,
    ),
    "reply": (
        Input(
            "doc_number", "处理意见书文号", required=True, hint="或在下方“出具文书”中出具处理意见书"
        ),
        ON,
        Input("note", "备注"),
    ),
    "deliver": (
        Input(
            "delivery_method",
            "送达方式",
            "select",
            required=True,
            options=tuple(delivery.METHOD_LABELS.items()),
        ),
        Input("delivered_on", "送达日期", "date", required=True),
    ),
    "request_review": (ON,),
    "decide_review": (Input("doc_number", "复查意见书文号", required=True), ON),
    "request_re_review": (ON,),
    "hearing": (
        Input("hearing_from", "听证开始", "date", required=True),
        Input("hearing_to", "听证结束", "date", required=True),
    ),
    "decide_re_review": (Input("doc_number", "复核意见书文号", required=True), ON),
    "close": (ON, Input("note", "办结说明")),
}
EVENT_LABELS = {
    **{f"transition.{k}": v for k, v in workflow.ACTION_LABELS.items()},
    "registered": "登记",
    "updated": "修改登记信息",
    "resolution": "记录化解情况",
    "evaluation": "记录满意度评价",
    "ownership.assigned": "确定包案领导",
    "ownership.reassigned": "更换包案领导",
    "document.issued": "出具文书",
    "document.delivered": "文书送达",
    "document.superseded": "文书更正",
    "session.linked": "关联接访",
    "session.unlinked": "取消关联接访",
    "session.outcome": "接访/下访情况",
    "evaluation.petitioner": "信访人评价",
}
TRANSITION_FIELDS = {i.name for inputs in ACTION_INPUTS.values() for i in inputs}


# ---------------------------------------------------------------- the worklist


@dataclass
class Filters:
    overdue: bool = False
    due_within: int | None = None
    stage: str = ""
    channel: str = ""
    category: str = ""
    owner: int | None = None
    first_time: str = ""
    q: str = ""
    sort: str = "due"
    closed: bool = False
    page: int = 1

    def params(self, **change: Any) -> dict[str, Any]:
        values = {**self.__dict__, **change}
        return {k: v for k, v in values.items() if v not in (None, "", False, 1) or k == "sort"}


def _filters(
    overdue: bool | None,
    due_within: int | None,
    stage: str | None,
    channel: str | None,
    category: str | None,
    owner: int | None,
    first_time: str | None,
    q: str | None,
    sort: str | None,
    page_no: int | None,
    closed: bool | None = None,
) -> Filters:
    return Filters(
        overdue=bool(overdue),
        due_within=due_within,
        stage=stage or "",
        channel=channel or "",
        category=category or "",
        owner=owner,
        first_time=first_time or "",
        q=(q or "").strip(),
        sort=sort or "due",
        closed=bool(closed),
        page=page_no or 1,
    )


async def _list(
    db: DB, ctx: Context, principal: Principal, f: Filters, *, limit: int, offset: int
) -> tuple[list[schemas.CaseSummary], int]:
    as_of = ctx.today()
    rows, total = await views.list_cases(
        session=db,
        keys=ctx.keys,
        principal=principal,
        as_of=as_of,
        limit=limit,
        offset=offset,
        overdue=True if f.overdue else None,
        due_before=as_of + timedelta(days=f.due_within + 1) if f.due_within is not None else None,
        owner_leader_id=f.owner,
        stage=f.stage or None,
        channel=f.channel or None,
        category=f.category or None,
        first_time={"first": True, "repeat": False}.get(f.first_time),
        q=f.q or None,
        sort="due" if f.sort == "due" else "registered",
        open_only=not f.closed,
        count_up_to=COUNT_UP_TO if limit == PER_PAGE else None,
    )
    items = await views.summaries(session=db, principal=principal, cases=rows, as_of=as_of)
    return items, total


async def _choices(db: DB, principal: Principal) -> dict[str, Any]:
    categories = await registration.list_categories(session=db)
    leaders = await org.assignable_leaders(session=db, principal=principal)
    return {
        "categories": [(c.code, c.name) for c in categories if c.active],
        "category_names": {c.code: c.name for c in categories},
        "leaders": [(x.id, f"{x.name}({x.title})") for x in leaders],
        "stages": workflow.STAGE_LABELS,
        "channels": workflow.CHANNEL_LABELS,
        "sources": workflow.SOURCE_LABELS,
        "resolutions": workflow.RESOLUTION_LABELS,
        "satisfactions": workflow.SATISFACTION_LABELS,
        "clock_labels": workflow.CLOCK_LABELS,
    }


Bool = Annotated[bool | None, QueryParameter()]
DueWithin = Annotated[int | None, QueryParameter(ge=0, le=365)]
Text = Annotated[str | None, QueryParameter(max_length=50)]
Sort = Annotated[Literal["due", "registered"] | None, QueryParameter()]
PageNo = Annotated[int | None, QueryParameter(name="page", ge=1, le=100_000)]
OwnerId = Annotated[int | None, QueryParameter(ge=1)]


@get("/cases")
async def worklist(
    db: DB,
    ctx: Ctx,
    request: AnyRequest,
    overdue: Bool = None,
    due_within: DueWithin = None,
    stage: Text = None,
    channel: Text = None,
    category: Text = None,
    owner: OwnerId = None,
    first_time: Text = None,
    q: Text = None,
    sort: Sort = None,
    page_no: PageNo = None,
) -> Template:
    f = _filters(overdue, due_within, stage, channel, category, owner, first_time, q, sort, page_no)
    items, total = await _list(
        db, ctx, request.user, f, limit=PER_PAGE, offset=(f.page - 1) * PER_PAGE
    )
    pages = max(1, -(-min(total, COUNT_UP_TO) // PER_PAGE))
    return page(
        request,
        "cases/worklist.html",
        title="信访事项",
        items=items,
        total=total,
        more=total > COUNT_UP_TO,
        f=f,
        pages=pages,
        link=lambda **change: query("/cases", **f.params(**change)),
        export=query("/cases/export.csv", **f.params(page=1)),
        **await _choices(db, request.user),
    )


@get("/cases/export.csv")
async def export_csv(
    db: DB,
    ctx: Ctx,
    request: AnyRequest,
    overdue: Bool = None,
    due_within: DueWithin = None,
    stage: Text = None,
    channel: Text = None,
    category: Text = None,
    owner: OwnerId = None,
    first_time: Text = None,
    q: Text = None,
    sort: Sort = None,
    closed: Bool = None,
) -> Response[bytes]:
    """The filtered list as CSV (UTF-8 with BOM, so Excel reads the Chinese); names masked as
    in every list."""
    f = _filters(
        overdue, due_within, stage, channel, category, owner, first_time, q, sort, 1, closed
    )
    items, _ = await _list(db, ctx, request.user, f, limit=EXPORT_MAX, offset=0)
    names = (await _choices(db, request.user))["category_names"]
    rows: list[list[Any]] = [
        ["编号", "登记日期", "渠道", "类别", "责任单位", "信访人", "人数", "初信初访",
         "阶段", "下一期限", "期限", "剩余", "超期", "包案领导", "反映事项"]
    ]  # fmt: skip
    rows += [
        [
            c.reference,
            c.registered_on.isoformat(),
            workflow.CHANNEL_LABELS.get(c.channel, c.channel),
            names.get(c.category, c.category),
            c.unit_name,
            "、".join(c.petitioner_names),
            c.people_count,
            "是" if c.first_time else "否",
            c.stage_label,
            workflow.CLOCK_LABELS.get(c.next_due_kind or "", ""),
            c.next_due.isoformat() if c.next_due else "",
            c.time_left or "",
            "是" if c.overdue else "否",
            c.owner_leader_name or "",
            c.summary,
        ]
        for c in items
    ]
    body = csv_bytes(rows)
    name = f"cases-{ctx.today().isoformat()}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# ---------------------------------------------------------------- registration


def _petitioners(form: Any) -> list[dict[str, str]]:
    names = form.getall("p_name") if "p_name" in form else []
    ids = form.getall("p_id_number") if "p_id_number" in form else []
    phones = form.getall("p_phone") if "p_phone" in form else []
    addresses = form.getall("p_address") if "p_address" in form else []
    out = []
    for i, name in enumerate(names):
        row = {
            "name": str(name).strip(),
            "id_number": str(ids[i] if i < len(ids) else "").strip(),
            "phone": str(phones[i] if i < len(phones) else "").strip(),
            "address": str(addresses[i] if i < len(addresses) else "").strip(),
        }
        if any(row.values()):
            out.append(row)
    return out


async def _units(db: DB, principal: Principal) -> list[tuple[int, str]]:
    rows, _ = await org.list_units(session=db, limit=5000, offset=0, active=True)
    reach = [u for u in rows if unit_in_reach(principal, u)]
    low = min((u.path.count("/") for u in reach), default=0)
    # The org tree as the select shows it: each level indented under its parent.
    return [
        (int(u.id or 0), "\u3000" * (u.path.count("/") - low) + u.name)
        for u in sorted(reach, key=lambda u: u.path)
    ]


async def _new_page(
    request: AnyRequest,
    db: DB,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    petitioners: list[dict[str, str]] | None = None,
    candidates: list[schemas.RepeatCandidate] | None = None,
) -> Template:
    rows = petitioners or []
    return page(
        request,
        "cases/new.html",
        status=status,
        title="登记信访事项",
        errors=errors or {},
        values=values or {},
        # Room for a joint petition: the rows typed, and blank ones up to at least three.
        petitioners=rows + [{}] * (max(3, len(rows) + 1) - len(rows)),
        candidates=candidates or [],
        units=await _units(db, request.user),
        **await _choices(db, request.user),
    )


@get("/cases/new", guards=CLERKS)
async def new_case(db: DB, request: AnyRequest) -> Template:
    return await _new_page(request, db)


@post("/cases/new/check", guards=CLERKS, status_code=200)
async def repeat_check(db: DB, ctx: Ctx, request: AnyRequest) -> Template:
    """Repeat candidates beside the form while the clerk types (htmx)."""
    form = await read_form(request)
    people = [p for p in _petitioners(form) if p["name"]]
    candidates: list[schemas.RepeatCandidate] = []
    if people:
        try:
            data = to_body(
                schemas.RepeatCheck,
                {
                    "petitioners": people,
                    "category": form.get("category", ""),
                    "unit_id": form.get("unit_id") or None,
                    "summary": form.get("summary", ""),
                },
            )
            candidates = await registration.repeat_candidates(
                session=db,
                keys=ctx.keys,
                principal=request.user,
                petitioners=data.petitioners,
                category=data.category,
                unit_id=data.unit_id,
                summary=data.summary,
            )
        except (DomainError, FormErrors):
            candidates = []
    return page(
        request,
        "cases/_candidates.html",
        title="",
        candidates=candidates,
        chosen=str(form.get("repeat_of") or ""),
        **await _choices(db, request.user),
    )


CASE_FIELDS = (
    "channel",
    "category",
    "summary",
    "unit_id",
    "received_on",
    "people_count",
    "source",
    "source_batch",
    "repeat_of",
    "on",
)


@post("/cases/new", guards=CLERKS, status_code=200)
async def register(db: DB, ctx: Ctx, request: AnyRequest) -> Response[Any]:
    form = await unchecked_form(request)
    values = values_of(form)
    people = _petitioners(form)
    body: dict[str, Any] = {k: form.get(k, "") for k in CASE_FIELDS}
    body["petitioners"] = people
    try:
        check_form(form)
        if not people:
            raise FormErrors({"p_name": "请至少登记一名信访人"})
        data = to_body(schemas.CaseCreate, body)
        done = await registration.register(session=db, ctx=ctx, actor=request.user, data=data)
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        fields = {
            ("p_name" if k.startswith(("petitioners", "p_")) else k): v
            for k, v in problem.fields.items()
        }
        return await _new_page(
            request, db, status=problem.status, errors=fields, values=values, petitioners=people
        )
    case = done.case
    # The query code is shown on the case page (to those who see the petitioners whole),
    # never carried in a URL or a message.
    notice = f"已登记 {case.reference};查询码见“基本情况”"
    if done.candidates and not case.repeat_of_id:
        notice += f";有 {len(done.candidates)} 件可能重复的事项,请在下方核对"
    return await see_other(request, db, f"/cases/{case.id}", notice=notice)


# ---------------------------------------------------------------- the case page


async def _case_page(
    request: AnyRequest,
    db: DB,
    ctx: Context,
    case_id: int,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    open_form: str = "",
) -> Template:
    case = await get_case(session=db, case_id=case_id, principal=request.user)
    detail = await views.detail(
        session=db, keys=ctx.keys, principal=request.user, case=case, as_of=ctx.today(), tz=ctx.tz
    )
    if detail.first_time and not detail.repeat_of and detail.stage == "registered":
        candidates = (
            await registration.repeat_candidates(
                session=db,
                keys=ctx.keys,
                principal=request.user,
                petitioners=[
                    schemas.PetitionerIn(name=p.name, id_number=p.id_number, phone=p.phone)
                    for p in detail.petitioners
                    if not detail.masked
                ],
                category=detail.category,
                unit_id=detail.unit_id,
                summary=detail.summary,
            )
            if not detail.masked and detail.petitioners
            else []
        )
        candidates = [c for c in candidates if c.case_id != case_id]
    else:
        candidates = []
    events = [views.event_out(e, ctx.tz) for e in await timeline(session=db, case_id=case_id)]
    owners = await views.owners(session=db, case_id=case_id)
    user = request.user
    writer = writes(user)
    return page(
        request,
        "cases/case.html",
        status=status,
        title=detail.reference,
        c=detail,
        etag=case_etag(case),
        events=events,
        owners=owners,
        candidates=candidates,
        may_act=writer,
        may_resolve=resolves(user, detail.owner.leader_id if detail.owner else None),
        actions=[
            (a, workflow.ACTION_LABELS[a], ACTION_INPUTS.get(a, (ON,)))
            for a in detail.allowed_actions
        ]
        if writer
        else [],
        event_labels=EVENT_LABELS,
        methods=delivery.METHOD_LABELS,
        errors=errors or {},
        open_form=open_form,
        code=_code_for(ctx, case, detail.masked),
        public_page=f"{ctx.settings.public_url.rstrip('/')}/public",
        **await _choices(db, user),
    )


def _code_for(ctx: Context, case: Any, masked: bool) -> str:
    """The case's query code, for those the privacy policy shows the petitioners whole."""
    code = None if masked else query_code.read(ctx, case)
    return query_code.shown(code) if code else ""


@get("/cases/{case_id:int}")
async def case_page(db: DB, ctx: Ctx, request: AnyRequest, case_id: FromPath[int]) -> Template:
    return await _case_page(request, db, ctx, case_id)


async def _failed(
    request: AnyRequest,
    db: DB,
    ctx: Context,
    case_id: int,
    exc: DomainError | FormErrors,
    form: str,
) -> Template:
    problem = await refused(db, exc)
    fields = {f"{form}.{k}" if k else form: v for k, v in problem.fields.items()}
    if problem.general:
        fields[form] = problem.general
    return await _case_page(
        request, db, ctx, case_id, status=problem.status, errors=fields, open_form=form
    )


async def _change(
    request: AnyRequest,
    db: DB,
    ctx: Context,
    case_id: int,
    *,
    schema: type[Any],
    names: tuple[str, ...],
    change: Callable[..., Awaitable[Any]],
    form: str,
    notice: str,
    extra: dict[str, Any] | None = None,
) -> Response[Any]:
    """One of the case page's small forms: its fields, the service's change with the page's
    ETag as If-Match, and the page again with the message beside the form if refused."""
    try:
        fields = await read_form(request)
        body = {k: fields.get(k, "") for k in names if k in fields} | (extra or {})
        data = to_body(schema, body)
        await change(
            session=db,
            ctx=ctx,
            actor=request.user,
            case_id=case_id,
            data=data,
            if_match=str(fields.get("etag") or "") or None,
        )
    except (DomainError, FormErrors) as exc:
        return await _failed(request, db, ctx, case_id, exc, form)
    return await see_other(request, db, f"/cases/{case_id}", notice=notice)


@post("/cases/{case_id:int}/act", status_code=200)
async def act(db: DB, ctx: Ctx, request: AnyRequest, case_id: FromPath[int]) -> Response[Any]:
    try:
        action = str((await read_form(request)).get("action") or "")
    except FormErrors as exc:
        return await _failed(request, db, ctx, case_id, exc, "act")
    label = workflow.ACTION_LABELS.get(action, action)
    return await _change(
        request, db, ctx, case_id, schema=schemas.Transition, names=tuple(TRANSITION_FIELDS),
        extra={"action": action}, change=service.transition, form=action or "act",
        notice=f"已{label}",
    )  # fmt: skip


@post("/cases/{case_id:int}/owner", status_code=200)
async def owner(db: DB, ctx: Ctx, request: AnyRequest, case_id: FromPath[int]) -> Response[Any]:
    return await _change(
        request, db, ctx, case_id, schema=schemas.OwnershipAssign,
        names=("leader_id", "plan", "target_date", "stability_contact", "reason"),
        change=assign_owner, form="owner", notice="包案领导已确定",
    )  # fmt: skip


@post("/cases/{case_id:int}/resolution", status_code=200)
async def resolution(
    db: DB, ctx: Ctx, request: AnyRequest, case_id: FromPath[int]
) -> Response[Any]:
    return await _change(
        request, db, ctx, case_id, schema=schemas.ResolutionPut,
        names=("resolution", "on", "method", "evidence"),
        change=service.set_resolution, form="resolution", notice="化解情况已记录",
    )  # fmt: skip


@post("/cases/{case_id:int}/evaluation", status_code=200)
async def evaluation(
    db: DB, ctx: Ctx, request: AnyRequest, case_id: FromPath[int]
) -> Response[Any]:
    return await _change(
        request, db, ctx, case_id, schema=schemas.EvaluationPut, names=("satisfaction", "on"),
        change=service.set_evaluation, form="evaluation", notice="评价已记录",
    )  # fmt: skip


@post("/cases/{case_id:int}/repeat", guards=CLERKS, status_code=200)
async def confirm_repeat(
    db: DB, ctx: Ctx, request: AnyRequest, case_id: FromPath[int]
) -> Response[Any]:
    """One click: this case is a 重复信访 of an earlier one."""
    return await _change(
        request, db, ctx, case_id, schema=schemas.CaseUpdate, names=("repeat_of",),
        change=registration.update_case, form="repeat", notice="已确认为重复信访",
    )  # fmt: skip


PAGES = [
    worklist,
    export_csv,
    new_case,
    repeat_check,
    register,
    case_page,
    act,
    owner,
    resolution,
    evaluation,
    confirm_repeat,
]
