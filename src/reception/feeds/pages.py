"""Calendar subscriptions in the console: create one (its URL and a QR code shown once, to
paste into Outlook, a phone's calendar or DingTalk), list and revoke them.

The pages live at /subscriptions: /feeds/… is the feed itself, outside the console."""

from __future__ import annotations

from typing import Any

import segno
from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template
from markupsafe import Markup

from reception.auth import Principal
from reception.context import Context, Ctx
from reception.db import DB
from reception.errors import DomainError
from reception.feeds import schemas, tokens
from reception.org import service as org
from reception.web.render import FormErrors, page, read_form, refused, see_other, to_body

AnyRequest = Request[Principal, Any, Any]
SCOPE_LABELS = {
    "leader": "一位领导的日程",
    "unit": "一个单位(含下级)领导的日程",
    "secretary": "我服务的全部领导",
}


def qr_svg(text: str) -> Markup:
    """The URL as a QR code, drawn on the server as inline SVG (no script, no network)."""
    svg = segno.make(text, error="m").svg_inline(scale=4, border=2, title="订阅地址二维码")
    return Markup(svg)


async def _page(
    request: AnyRequest,
    db: DB,
    ctx: Context,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    created: dict[str, Any] | None = None,
) -> Template:
    rows, _ = await tokens.list_feeds(session=db, actor=request.user, limit=500, offset=0)
    leaders, _ = await org.list_leaders(
        session=db, principal=request.user, limit=1000, offset=0, active=True
    )
    units, _ = await org.list_units(session=db, limit=1000, offset=0, active=True)
    return page(
        request,
        "feeds/subscriptions.html",
        status=status,
        title="日历订阅",
        feeds=sorted(rows, key=lambda r: (r.revoked_at is not None, -(r.id or 0))),
        leaders=leaders,
        units=[u for u in units if u.kind in ("district", "township", "department")],
        scopes=SCOPE_LABELS,
        errors=errors or {},
        values=values or {},
        created=created,
        tz=ctx.tz,
    )


@get("/subscriptions")
async def subscriptions(db: DB, ctx: Ctx, request: AnyRequest) -> Template:
    return await _page(request, db, ctx)


@post("/subscriptions", status_code=200)
async def create(db: DB, ctx: Ctx, request: AnyRequest) -> Response[Any]:
    form = await read_form(request)
    values = {k: form.get(k, "") for k in ("scope", "leader_id", "unit_id", "name")}
    body = {"scope": values["scope"], "name": values["name"]}
    if values["scope"] == "leader":
        body["leader_id"] = values["leader_id"]
    elif values["scope"] == "unit":
        body["unit_id"] = values["unit_id"]
    try:
        data = to_body(schemas.FeedCreate, body)
        row, token = await tokens.create_feed(session=db, actor=request.user, data=data)
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        return await _page(
            request, db, ctx, status=problem.status, errors=problem.fields, values=values
        )
    url, webcal = tokens.feed_urls(ctx.settings.public_url, token)
    # Shown now and never again (only its hash is kept): the answer is this page itself.
    return await _page(
        request, db, ctx, created={"row": row, "url": url, "webcal": webcal, "qr": qr_svg(url)}
    )


@post("/subscriptions/{feed_id:int}/revoke", status_code=200)
async def revoke(db: DB, request: AnyRequest, feed_id: FromPath[int]) -> Response[Any]:
    await tokens.revoke_feed(session=db, actor=request.user, feed_id=feed_id)
    return await see_other(
        request, db, "/subscriptions", notice=f"订阅 {feed_id} 已停用,原地址不再更新"
    )


PAGES = [subscriptions, create, revoke]
