"""The admin's 单位 page (console): every unit in the order the office's lists show them, and
the office's own place of each among its kind (排序号; empty: by pinyin)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from reception.auth import Principal, require
from reception.base import UNIT_KIND_LABELS
from reception.context import Ctx
from reception.db import DB
from reception.errors import DomainError
from reception.org import mediation, schemas, service
from reception.org.models import PRESENCE_LABELS
from reception.web.render import FormErrors, page, read_form, refused, see_other, to_body

AnyRequest = Request[Principal, Any, Any]
ADMIN = [require("admin")]


async def _units_page(
    request: AnyRequest,
    db: DB,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    villages: bool = False,
) -> Template:
    units, _ = await service.list_units(session=db, limit=20_000, offset=0)
    names = {u.id: u.name for u in units}
    places = await mediation.current(session=db)
    # The villages (about a thousand) on their own view: the page stays readable.
    shown = [u for u in units if (u.kind == "village") == villages]
    return page(
        request,
        "org/units.html",
        status=status,
        title="单位",
        units=shown,
        village_count=sum(u.kind == "village" for u in units),
        villages=villages,
        parents=names,
        kinds=UNIT_KIND_LABELS,
        places={k: v.presence for k, v in places.items()},
        centre=mediation.summary(places),
        presences=PRESENCE_LABELS,
        errors=errors or {},
    )


@get("/admin/units", guards=ADMIN)
async def units(
    db: DB, request: AnyRequest, kind: Annotated[str | None, QueryParameter(max_length=20)] = None
) -> Template:
    return await _units_page(request, db, villages=kind == "village")


@post("/admin/units/{unit_id:int}/presence", guards=ADMIN, status_code=200)
async def set_presence(
    db: DB, ctx: Ctx, request: AnyRequest, unit_id: FromPath[int]
) -> Response[Any]:
    try:
        form = await read_form(request)
        chosen = str(form.get("presence") or "").strip() or None
        await mediation.set_presence(
            session=db, ctx=ctx, actor=request.user, unit_id=unit_id, presence=chosen
        )
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        message = problem.general or next(iter(problem.fields.values()), "")
        return await _units_page(
            request, db, status=problem.status, errors={f"p{unit_id}": message}
        )
    said = PRESENCE_LABELS.get(chosen or "", "不入驻")
    return await see_other(request, db, "/admin/units", notice=f"区矛调中心:已设为{said}")


@post("/admin/units/{unit_id:int}/order", guards=ADMIN, status_code=200)
async def set_order(db: DB, request: AnyRequest, unit_id: FromPath[int]) -> Response[Any]:
    try:
        form = await read_form(request)
        raw = str(form.get("sort_order") or "").strip()
        data = to_body(schemas.UnitUpdate, {"sort_order": raw}) if raw else None
        unit = await service.update_unit(
            session=db,
            actor=request.user,
            unit_id=unit_id,
            data=data or schemas.UnitUpdate(sort_order=None),
        )
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        message = problem.general or next(iter(problem.fields.values()), "")
        return await _units_page(
            request, db, status=problem.status, errors={f"u{unit_id}": message}
        )
    said = f"排在第 {unit.sort_order} 位" if unit.sort_order else "按拼音排序"
    return await see_other(request, db, "/admin/units", notice=f"{unit.name}:{said}")


PAGES = [units, set_order, set_presence]
