"""Registering a case in the console: the form as the API takes it, with the repeat
candidates shown while the clerk types."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Template

from reception.auth import Principal, require
from reception.cases import (
    registration,
    schemas,
)
from reception.cases.choices import choices
from reception.context import Ctx
from reception.db import DB
from reception.errors import DomainError
from reception.org.choices import units_in_reach
from reception.web.render import (
    FormErrors,
    check_form,
    page,
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
        suggested=None,
        units=await units_in_reach(db, request.user),
        **await choices(db, request.user),
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
        # Offered once, when the list first appears; the clerk's own choice is kept after.
        suggested=registration.likely_repeat(candidates) if "repeat_of" not in form else None,
        **await choices(db, request.user),
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


PAGES = [new_case, repeat_check, register]
