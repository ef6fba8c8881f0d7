"""The audit administrator's pages (审计管理员): the trail, filtered; its verification; an
export of a period (CSV, every cell neutralised). Reading only — nothing here changes data."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, Response, get
from litestar.params import QueryParameter
from litestar.response import Template

from reception.audit import service
from reception.auth import Principal, require_only
from reception.base import MAX_DAY, MIN_DAY
from reception.context import Context, Ctx
from reception.db import DB
from reception.errors import InvalidInput
from reception.spreadsheet import csv_bytes
from reception.web.render import page

AnyRequest = Request[Principal, Any, Any]
AUDITOR = [require_only("auditor")]
PAGE_SIZE = 50
# What each kind of row is, for the person reading the list (others show their code).
ACTIONS = {
    "auth.sign_in": "登录",
    "auth.sign_in_failed": "登录失败",
    "auth.sign_in_locked": "锁定期间登录",
    "auth.sign_out": "退出",
    "auth.second_factor": "动态口令验证",
    "auth.second_factor_failed": "动态口令错误",
    "auth.second_factor_enrolled": "绑定动态口令",
    "auth.second_factor_reset": "重置动态口令",
    "auth.recovery_code_used": "使用恢复码",
    "user.create": "新建用户",
    "user.update": "修改用户",
    "token.create": "签发令牌",
    "token.revoke": "吊销令牌",
    "pii.read": "查看完整身份信息",
}


# The kinds of record a row is about, and what was done, in the reader's words.
OBJECTS = {
    "appointment": "预约",
    "session": "接访场次",
    "reception_session": "接访场次",
    "case": "信访事项",
    "petition_case": "信访事项",
    "case_delivery": "送达记录",
    "delivery": "送达凭证",
    "case_document": "文书",
    "document_template": "文书模板",
    "user": "用户",
    "app_user": "用户",
    "token": "接口令牌",
    "api_token": "接口令牌",
    "console_session": "登录",
    "unit": "单位",
    "leader": "领导",
    "venue": "接访地点",
    "rule": "接访规则",
    "reception_rule": "接访规则",
    "calendar": "工作日历",
    "calendar_year": "工作日历",
    "campaign": "专项行动",
    "category": "问题类别",
    "case_category": "问题类别",
    "incident": "突发事件",
    "feed": "日历订阅",
    "feed_token": "日历订阅",
    "notify": "消息推送",
    "notify_endpoint": "消息推送地址",
    "notify_delivery": "消息推送",
    "portal": "查询页",
    "review": "月度点评",
    "auth": "登录",
    "username": "用户名",
}
VERBS = {
    "create": "新建",
    "update": "修改",
    "cancel": "取消",
    "move": "改约",
    "revoke": "吊销",
    "put": "导入",
    "upload": "上传",
    "generate": "生成",
    "hold": "举行",
    "realign": "调整",
    "notified": "已通知",
    "case": "关联事项",
    "evidence": "上传凭证",
    "lookup": "查询",
    "lookup_failed": "查询失败",
    "unmasked": "查看完整信息",
    "password_set": "设置初始密码",
    "password_changed": "修改密码",
}


def describe(action: str) -> str:
    """An action code in Chinese: its own label, or its object and verb."""
    if action in ACTIONS:
        return ACTIONS[action]
    thing, _, verb = action.partition(".")
    return VERBS.get(verb.split(".")[0], "变更") + OBJECTS.get(thing, "记录")


def target(kind: str, target_id: str) -> str:
    """The record a row is about, with its number (what an auditor looks it up by)."""
    label = OBJECTS.get(kind, "记录")
    return f"{label}(第 {target_id} 号)" if target_id.isdigit() else f"{label} {target_id}"


def _day(value: str, field: str) -> date | None:
    if not value.strip():
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidInput("日期格式应为 2026-12-01", field=field) from exc
    # The calendar's range, as every date a request carries (0001-01-01 in Beijing time is
    # before the first instant a datetime holds in UTC).
    if not MIN_DAY <= day <= MAX_DAY:
        raise InvalidInput(f"日期须在 {MIN_DAY.year} 年至 {MAX_DAY.year} 年之间", field=field)
    return day


def _span(ctx: Context, start: date | None, end: date | None) -> tuple[datetime, datetime]:
    today = ctx.today()
    start = start or today.replace(day=1)  # this month so far, by default
    end = end or today
    first = datetime.combine(start, time.min, ctx.tz).astimezone(UTC)
    last = datetime.combine(end + timedelta(days=1), time.min, ctx.tz).astimezone(UTC)
    return first, last


@get("/admin/audit", guards=AUDITOR)
async def audit_page(
    db: DB,
    ctx: Ctx,
    request: AnyRequest,
    action: Annotated[str, QueryParameter(max_length=50)] = "",
    offset: Annotated[int, QueryParameter(ge=0, le=10_000_000)] = 0,
    verify: Annotated[bool, QueryParameter()] = False,
) -> Template:
    rows, total = await service.list_events(
        session=db, limit=PAGE_SIZE, offset=offset, action=action.strip() or None
    )
    verdict = (
        await service.verify_trail(session=db, audit_key=ctx.keys.audit_seal()[1])
        if verify
        else None
    )
    return page(
        request,
        "audit/audit.html",
        title="审计记录",
        rows=[(ctx.local(r.at), r) for r in rows],
        total=total,
        offset=offset,
        size=PAGE_SIZE,
        action=action,
        actions=ACTIONS,
        describe=describe,
        target=target,
        verdict=verdict,
        today=ctx.today(),
    )


@get("/admin/audit/export", guards=AUDITOR)
async def audit_export(
    db: DB,
    ctx: Ctx,
    start: Annotated[str, QueryParameter(name="from", max_length=10)] = "",
    end: Annotated[str, QueryParameter(name="to", max_length=10)] = "",
) -> Response[bytes]:
    first, last = _span(ctx, _day(start, "from"), _day(end, "to"))
    rows = await service.events_between(session=db, start=first, end=last)
    body = csv_bytes(
        [
            [
                "编号",
                "时间",
                "操作人",
                "操作",
                "对象类型",
                "对象编号",
                "变更前",
                "变更后",
                "哈希链",
            ],
            *(
                [
                    r.id,
                    f"{ctx.local(r.at):%Y-%m-%d %H:%M:%S}",
                    r.actor_name,
                    describe(r.action),
                    OBJECTS.get(r.target_type, r.target_type),
                    r.target_id,
                    service.json_text(r.before),
                    service.json_text(r.after),
                    r.chain,
                ]
                for r in rows
            ),
        ]
    )
    name = f"审计记录_{first.astimezone(ctx.tz):%Y%m%d}-{(last - timedelta(days=1)).astimezone(ctx.tz):%Y%m%d}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


PAGES = [audit_page, audit_export]
