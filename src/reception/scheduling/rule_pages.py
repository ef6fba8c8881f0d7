"""Reception rules in the console (admin): the 每月20日 rule of each leader, and generating its
sessions with the dates shown first. The preview is the generation itself run in a savepoint
and rolled back, so it shows exactly what confirming will create, re-align or skip."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from reception.auth import Principal, require
from reception.context import Context, Ctx
from reception.db import DB
from reception.errors import DomainError
from reception.org import service as org
from reception.scheduling import generation, schemas, service, views
from reception.scheduling.pages import KIND_LABELS
from reception.web.render import FormErrors, page, read_form, refused, see_other, to_body, values_of

AnyRequest = Request[Principal, Any, Any]
ADMIN = [require("admin")]
POLICIES = [
    ("next_workday", "顺延到下一个工作日"),
    ("previous_workday", "提前到上一个工作日"),
    ("keep", "照常(节假日也接访)"),
]
RULE_FIELDS = (
    "leader_id",
    "venue_id",
    "day_of_month",
    "start_time",
    "end_time",
    "slot_minutes",
    "people_per_slot",
    "holiday_policy",
    "valid_from",
    "valid_to",
)


async def _choices(db: DB, principal: Principal) -> dict[str, Any]:
    leaders, _ = await org.list_leaders(
        session=db, principal=principal, limit=1000, offset=0, active=True
    )
    venues, _ = await org.list_venues(session=db, limit=1000, offset=0, active=True)
    return {
        "leaders": leaders,
        "venues": venues,
        "leader_names": {x.id: f"{x.name}({x.title})" for x in leaders},
        "venue_names": {v.id: v.name for v in venues},
        "leader_options": [("", "—")] + [(x.id, f"{x.name} · {x.title}") for x in leaders],
        "venue_options": [("", "—")] + [(v.id, v.name) for v in venues],
        "policies": POLICIES,
        "policy_labels": dict(POLICIES),
    }


async def _list_page(
    request: AnyRequest,
    db: DB,
    ctx: Context,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Template:
    rows, _ = await service.list_rules(session=db, principal=request.user, limit=500, offset=0)
    return page(
        request,
        "scheduling/rules.html",
        status=status,
        title="接访规则",
        rules=[views.rule_read(r, ctx.tz) for r in rows],
        errors=errors or {},
        values=values or {},
        **await _choices(db, request.user),
    )


@get("/admin/rules", guards=ADMIN)
async def rules_page(db: DB, ctx: Ctx, request: AnyRequest) -> Template:
    return await _list_page(request, db, ctx)


@post("/admin/rules", guards=ADMIN, status_code=200)
async def create_rule(db: DB, ctx: Ctx, request: AnyRequest) -> Response[Any]:
    form = await read_form(request)
    values = values_of(form)
    try:
        data = to_body(schemas.RuleCreate, {k: form.get(k, "") for k in RULE_FIELDS})
        rule = await service.create_rule(session=db, actor=request.user, data=data)
        await db.flush()
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        return await _list_page(
            request, db, ctx, status=problem.status, errors=problem.fields, values=values
        )
    return await see_other(
        request, db, f"/admin/rules/{rule.id}", notice="接访规则已建立:请生成场次"
    )


async def _rule_page(
    request: AnyRequest,
    db: DB,
    ctx: Context,
    rule_id: int,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    preview: dict[str, Any] | None = None,
    until: str = "",
) -> Template:
    rule = await service.get_rule(session=db, rule_id=rule_id, principal=request.user)
    rows, _ = await service.list_sessions(
        session=db,
        principal=request.user,
        limit=24,
        offset=0,
        leader_id=rule.leader_id,
        kind="reception",
        date_from=ctx.today(),
    )
    upcoming = await views.session_rows(session=db, subjects=rows, tz=ctx.tz)
    return page(
        request,
        "scheduling/rule.html",
        status=status,
        title="接访规则",
        rule=views.rule_read(rule, ctx.tz),
        upcoming=[s for s in upcoming if s.rule_id == rule_id],
        errors=errors or {},
        preview=preview,
        until=until
        or (ctx.today().replace(day=1) + timedelta(days=400)).replace(day=1).isoformat(),
        kinds=KIND_LABELS,
        **await _choices(db, request.user),
    )


@get("/admin/rules/{rule_id:int}", guards=ADMIN)
async def rule_page(db: DB, ctx: Ctx, request: AnyRequest, rule_id: FromPath[int]) -> Template:
    return await _rule_page(request, db, ctx, rule_id)


@post("/admin/rules/{rule_id:int}", guards=ADMIN, status_code=200)
async def update_rule(
    db: DB, ctx: Ctx, request: AnyRequest, rule_id: FromPath[int]
) -> Response[Any]:
    form = await read_form(request)
    body = {k: form.get(k, "") for k in RULE_FIELDS if k not in ("leader_id", "valid_to")}
    body["active"] = form.get("active") == "on"
    try:
        data = to_body(schemas.RuleUpdate, body)
        # An emptied 停止日期 means "no end" (null), which to_body would read as "not given".
        until = to_body(schemas.RuleUpdate, {"valid_to": form.get("valid_to") or ""}).valid_to
        data = msgspec.structs.replace(data, valid_to=until or None)
        await service.update_rule(session=db, actor=request.user, rule_id=rule_id, data=data)
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        return await _rule_page(
            request, db, ctx, rule_id, status=problem.status, errors=problem.fields
        )
    return await see_other(
        request,
        db,
        f"/admin/rules/{rule_id}",
        notice="已保存;已生成的未预约场次会在下次生成时按新规则调整",
    )


@post("/admin/rules/{rule_id:int}/generate", guards=ADMIN, status_code=200)
async def generate(db: DB, ctx: Ctx, request: AnyRequest, rule_id: FromPath[int]) -> Response[Any]:
    form = await read_form(request)
    until_text = str(form.get("until") or "")
    confirm = form.get("confirm") == "yes"
    try:
        data = to_body(schemas.GenerateRequest, {"until": until_text})
        if confirm:
            result = await generation.generate(
                session=db, ctx=ctx, actor=request.user, rule_id=rule_id, until=data.until
            )
            return await see_other(
                request,
                db,
                f"/admin/rules/{rule_id}",
                notice=f"已生成 {len(result.created)} 个场次,调整 {len(result.updated)} 个,"
                f"跳过 {len(result.skipped)} 个",
            )
        trial = await db.begin_nested()
        try:
            result = await generation.generate(
                session=db, ctx=ctx, actor=request.user, rule_id=rule_id, until=data.until
            )
            preview = {
                "created": await views.session_rows(session=db, subjects=result.created, tz=ctx.tz),
                "updated": await views.session_rows(session=db, subjects=result.updated, tz=ctx.tz),
                "skipped": result.skipped,
                "until": data.until,
            }
        finally:
            await trial.rollback()
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        return await _rule_page(
            request,
            db,
            ctx,
            rule_id,
            status=problem.status,
            errors=problem.fields,
            until=until_text,
        )
    return await _rule_page(request, db, ctx, rule_id, preview=preview, until=until_text)


PAGES = [rules_page, create_rule, rule_page, update_rule, generate]
