"""The case page in the console: facts, petitioners (the visibility policy), clocks, 包案,
the timeline, and only the actions the stage machine allows, each a small form. Its 文书
section comes from documents/pages.py and its visits from scheduling (loaded into it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from reception.auth import Principal, require
from reception.cases import (
    delivery,
    registration,
    schemas,
    service,
    views,
    workflow,
)
from reception.cases.access import case_etag, get_case, resolves, writes
from reception.cases.choices import choices
from reception.cases.ownership import assign_owner
from reception.context import Context, Ctx
from reception.db import DB
from reception.errors import DomainError
from reception.web.render import (
    FormErrors,
    page,
    read_form,
    refused,
    see_other,
    to_body,
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
    view = await views.case_page(session=db, ctx=ctx, principal=request.user, case=case)
    detail = view.detail
    user = request.user
    writer = writes(user)
    return page(
        request,
        "cases/case.html",
        status=status,
        title=detail.reference,
        c=detail,
        etag=case_etag(case),
        events=view.events,
        owners=view.owners,
        candidates=view.candidates,
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
        code=view.query_code,
        public_page=f"{ctx.settings.public_url.rstrip('/')}/public",
        **await choices(db, user),
    )


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


PAGES = [case_page, act, owner, resolution, evaluation, confirm_repeat]
