"""The case page in the console: facts, petitioners (the visibility policy), clocks, 包案,
the timeline, and only the actions the stage machine allows, each a small form. Its 文书
section comes from documents/pages.py and its visits from scheduling (loaded into it)."""

from __future__ import annotations

import re
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
    timeline,
    views,
    workflow,
)
from reception.cases.access import case_etag, get_case, resolves, writes
from reception.cases.choices import choices
from reception.cases.ownership import assign_owner
from reception.cases.timeline import EVENT_LABELS
from reception.context import Context, Ctx
from reception.db import DB
from reception.errors import DomainError, PreconditionFailed
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
    # 送达: the fields of templates/cases/_delivery.html (DELIVERY_FIELDS).
    "deliver": (),
    "request_review": (ON,),
    "request_re_review": (ON,),
    "hearing": (
        Input("hearing_from", "听证开始", "date", required=True),
        Input("hearing_to", "听证结束", "date", required=True),
    ),
    "close": (ON, Input("note", "办结说明")),
}
# The replies and decisions are the 意见书 themselves: issued (numbered, printed) in the 文书
# section below, which performs the step; the page points there (#issue-ACTION).
ISSUED = {
    "reply": "信访事项处理意见书",
    "decide_review": "信访事项复查意见书",
    "decide_re_review": "信访事项复核意见书",
}
# The 送达 form's fields (cases.schemas.DeliveryIn), plain on the page.
DELIVERY_FIELDS = (
    "method", "on", "outcome", "place", "recipient", "no_recipient_reason", "witnesses",
    "entrusted_to", "mail_number", "consent", "carrier", "posted_on", "failure_reason", "note",
)  # fmt: skip


def delivery_body(form: Any) -> dict[str, str]:
    """A DeliveryIn from the 送达 fields of a form (empty ones left out)."""
    return {k: str(form.get(k)) for k in DELIVERY_FIELDS if form.get(k) not in (None, "")}


TRANSITION_FIELDS = {i.name for inputs in ACTION_INPUTS.values() for i in inputs}
# The ISSUED actions as their forms were (a number typed by hand): still accepted when posted.
TRANSITION_FIELDS |= {"doc_number", "note"}


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
    values: dict[str, str] | None = None,
) -> Template:
    """`values`: what was typed into the open form, shown again beside its errors."""
    case = await get_case(session=db, case_id=case_id, principal=request.user)
    view = await views.case_page(session=db, ctx=ctx, principal=request.user, case=case)
    detail = view.detail
    user = request.user
    writer = writes(user)
    errors = dict(errors or {})
    if open_form in workflow.ACTION_LABELS and open_form not in detail.allowed_actions:
        # The step was refused and is no longer open (someone else took it, or the stage
        # moved on): its form is gone from the page, so its message goes above the page.
        errors[""] = errors.pop(open_form, "") or "这一步现在不能办理"
        open_form = ""
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
        issued=ISSUED,
        event_labels=EVENT_LABELS,
        methods=delivery.METHOD_LABELS,
        delivery_methods=list(delivery.METHOD_LABELS.items()),
        errors=errors or {},
        open_form=open_form,
        form_errors={
            k.removeprefix(f"{open_form}."): v
            for k, v in (errors or {}).items()
            if k.startswith(f"{open_form}.")
        },
        form_values=values or {},
        code=view.query_code,
        public_page=f"{ctx.settings.public_url.rstrip('/')}/public",
        **await choices(db, user),
    )


async def _changed_since(db: DB, ctx: Context, case_id: int, sent_etag: str) -> str:
    """What was recorded on the case after the version a form was filled in on (each
    timeline event is one version)."""
    seen = re.search(r"-v(\d+)", sent_etag)
    events = await timeline.timeline_since(
        session=db, case_id=case_id, version=int(seen.group(1)) if seen else 0
    )
    done = "、".join(
        f"{e.actor_name}于{ctx.local(e.at):%-m月%-d日 %H:%M}{EVENT_LABELS.get(e.kind, '修改')}"
        for e in events[-3:]
    )
    return (
        f"未予处理:这件信访事项在您打开页面后已被他人修改({done or '内容有变化'})。"
        "下面是最新的内容,请核对后再操作。"
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
    values: dict[str, str] | None = None,
) -> Template:
    problem = await refused(db, exc)
    fields = {f"{form}.{k}" if k else form: v for k, v in problem.fields.items()}
    if problem.general:
        fields[form] = problem.general
    if isinstance(exc, PreconditionFailed):
        # Someone else changed the case since this page was opened: say who did what, above
        # the page (the form may be gone: the step is no longer open), not a version string.
        sent = str((await request.form()).get("etag") or "")
        fields = {"": await _changed_since(db, ctx, case_id, sent)}
        form = ""
    return await _case_page(
        request,
        db,
        ctx,
        case_id,
        status=problem.status,
        errors=fields,
        open_form=form,
        values=values,
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
    typed: dict[str, str] = {}
    try:
        fields = await read_form(request)
        typed = {k: str(v) for k, v in fields.items() if k not in ("etag", "_csrf_token")}
        body = {k: fields.get(k, "") for k in names if k in fields} | (extra or {})
        if body.get("action") == "deliver":
            body["delivery"] = delivery_body(fields)
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
        return await _failed(request, db, ctx, case_id, exc, form, typed)
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
