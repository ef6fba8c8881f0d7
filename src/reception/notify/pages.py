"""The admin's 消息推送 page: endpoints (webhooks, DingTalk / WeCom robots), their secrets
(a webhook's shown once), each one's delivery log, send test, retry now."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template
from sqlmodel import col, select

from reception.auth import Principal, require
from reception.base import form_id
from reception.context import Context, Ctx
from reception.db import DB
from reception.errors import DomainError, NotFound
from reception.notify import schemas, service
from reception.notify.models import Endpoint
from reception.org import service as org
from reception.web.render import FormErrors, page, read_form, refused, see_other, to_body, values_of

AnyRequest = Request[Principal, Any, Any]
ADMIN = [require("admin")]
KINDS = (
    ("webhook", "Webhook(对接系统)"),
    ("dingtalk", "钉钉群机器人"),
    ("wecom", "企业微信群机器人"),
)
SCOPES = (
    ("all", "全部事件"),
    ("unit", "某单位(期限提醒等)"),
    ("leader", "某领导(明日接访安排、场次变动)"),
    ("supervisor", "督查室(超期督办)"),
)


# What an endpoint may be limited to (the event types' prefixes), as the admin reads them.
EVENT_CHOICES = (
    ("session.", "场次安排与变动(新安排、调整、取消、举行)"),
    ("digest.", "明日接访安排"),
    ("reminder.due_soon", "期限临近提醒"),
    ("reminder.overdue", "超期督办"),
    ("ledger.", "矛盾纠纷台账(重大建账、稳控有异动、升级、转为信访事项)"),
    ("reminder.overdue_check_in", "敏感时期稳控未报"),
    ("reminder.overdue_ledger", "台账逾期未复核"),
    ("supervision.", "督查督办(抽查发现问题、流调签批、联席会议督办与催办)"),
    ("reminder.overdue_rectification", "抽查问题逾期未整改"),
    ("reminder.overdue_decision", "联席会议议定事项逾期(空转)"),
    ("proxy.", "网格员代办事项待登记"),
)
EVENT_LABELS = {
    "session.created": "新安排",
    "session.moved": "场次调整",
    "session.cancelled": "场次取消",
    "session.held": "场次已举行",
    "digest.tomorrow": "明日接访安排",
    "reminder.due_soon": "期限临近提醒",
    "reminder.overdue": "超期督办",
    "reminder.overdue_check_in": "稳控未报",
    "reminder.overdue_ledger": "台账逾期未复核",
    "ledger.major_opened": "重大矛盾纠纷建账",
    "ledger.unrest": "稳控有异动",
    "ledger.escalated": "台账升级",
    "ledger.converted": "台账转为信访事项",
    "supervision.finding": "抽查发现问题",
    "supervision.inquiry_signed": "流调签批",
    "reminder.overdue_rectification": "抽查问题逾期未整改",
    "supervision.decision": "联席会议督办",
    "supervision.pressed": "联席会议催办",
    "reminder.overdue_decision": "议定事项逾期(空转)",
    "proxy.filed": "网格员代办",
    "test": "测试消息",
}


async def _page(
    request: AnyRequest,
    db: DB,
    ctx: Context,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    secret: str | None = None,
    shown: int | None = None,
) -> Template:
    rows = list(await db.scalars(select(Endpoint).order_by(col(Endpoint.id))))
    units, _ = await org.list_units(session=db, limit=1000, offset=0, active=True)
    leaders, _ = await org.list_leaders(
        session=db, principal=request.user, limit=1000, offset=0, active=True
    )
    logs = {
        e.id: await service.deliveries(session=db, endpoint_id=e.id or 0, limit=10, offset=0)
        for e in rows
    }
    return page(
        request,
        "notify/endpoints.html",
        status=status,
        title="消息推送",
        endpoints=[service.endpoint_out(ctx, e) for e in rows],
        logs=logs,
        kinds=KINDS,
        scopes=SCOPES,
        event_choices=EVENT_CHOICES,
        event_labels={**dict(EVENT_CHOICES), **EVENT_LABELS},
        units=[("", "—")] + [(u.id, u.name) for u in units],
        leaders=[("", "—")] + [(x.id, f"{x.name}({x.title})") for x in leaders],
        errors=errors or {},
        values=values or {},
        secret=secret,
        shown=shown,
    )


@get("/admin/notify", guards=ADMIN)
async def endpoints(db: DB, ctx: Ctx, request: AnyRequest) -> Template:
    return await _page(request, db, ctx)


@post("/admin/notify", guards=ADMIN, status_code=200)
async def create(db: DB, ctx: Ctx, request: AnyRequest) -> Response[Any]:
    form = await read_form(request)
    values = values_of(form, "events")
    body = {
        k: form.get(k, "")
        for k in ("name", "kind", "url", "secret", "scope", "unit_id", "leader_id")
    }
    chosen = form.getall("events") if "events" in form else []
    body["events"] = [str(e).strip() for e in chosen if str(e).strip()]
    try:
        data = to_body(schemas.EndpointIn, body)
        e, secret = await service.create_endpoint(
            session=db, ctx=ctx, actor=request.user, data=data
        )
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        return await _page(
            request, db, ctx, status=problem.status, errors=problem.fields, values=values
        )
    if secret:
        # Shown now and never again (it is kept sealed).
        return await _page(request, db, ctx, secret=secret, shown=e.id)
    return await see_other(request, db, "/admin/notify", notice=f"已登记 {e.name}")


@post("/admin/notify/{endpoint_id:int}/{action:str}", guards=ADMIN, status_code=200)
async def act(
    db: DB, ctx: Ctx, request: AnyRequest, endpoint_id: FromPath[int], action: FromPath[str]
) -> Response[Any]:
    user = request.user
    if action == "test":
        await service.send_test(session=db, ctx=ctx, actor=user, endpoint_id=endpoint_id)
        return await see_other(
            request, db, "/admin/notify", notice="测试消息已排队,几秒内发出;结果见下方记录"
        )
    if action == "rotate":
        e, secret = await service.rotate_secret(
            session=db, ctx=ctx, actor=user, endpoint_id=endpoint_id
        )
        return await _page(request, db, ctx, secret=secret, shown=e.id)
    if action == "finish-rotation":
        await service.finish_rotation(session=db, actor=user, endpoint_id=endpoint_id)
        return await see_other(request, db, "/admin/notify", notice="旧密钥已停用")
    if action in ("enable", "disable"):
        await service.set_active(
            session=db, actor=user, endpoint_id=endpoint_id, active=action == "enable"
        )
        return await see_other(
            request, db, "/admin/notify", notice="已启用" if action == "enable" else "已停用"
        )
    delivery_id = form_id(action.removeprefix("retry-")) if action.startswith("retry-") else None
    if delivery_id is not None:
        await service.retry_now(session=db, ctx=ctx, actor=user, delivery_id=delivery_id)
        return await see_other(request, db, "/admin/notify", notice="已安排立即重试")
    raise NotFound("没有这个操作")


PAGES = [endpoints, create, act]
