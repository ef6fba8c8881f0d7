"""矛盾纠纷排查台账 in the console: the ledger (filters, export), 建账, one entry with its history
and the moves the caller may make, the phone page for the daily 稳控 check-in, the printable
排查情况表 (A4, stamp box), the admin's sensitive periods, and the case page's 台账 section.
Two faces of `reception.ledger.service` / `.periods` / `.figures`: no query of their own."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from reception.auth import Principal, require
from reception.base import MONTH_PATTERN
from reception.cases import registration
from reception.cases.workflow import CHANNEL_LABELS
from reception.context import Context, Ctx
from reception.db import DB
from reception.errors import DomainError
from reception.ledger import (
    access,
    figures,
    moves,
    periods,
    rules,
    schemas,
    service,
    views,
    writers,
)
from reception.org.choices import leader_choices, units_in_reach
from reception.reads import Reads
from reception.web.render import (
    FormErrors,
    page,
    query,
    read_form,
    refused,
    see_other,
    to_body,
    values_of,
)

AnyRequest = Request[Principal, Any, Any]
READERS = [require("clerk", "leader", "reviewer")]
CLERKS = [require("clerk")]
PER_PAGE = 50
PARTY_ROWS = 5

Text = Annotated[str | None, QueryParameter(max_length=50)]
Month = Annotated[str | None, QueryParameter(pattern=MONTH_PATTERN)]
Year = Annotated[int | None, QueryParameter(ge=2000, le=2100)]
SomeId = Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)]
PageNo = Annotated[int | None, QueryParameter(name="page", ge=1, le=100_000)]
Bool = Annotated[bool | None, QueryParameter()]


async def _domains(db: AsyncSession) -> list[tuple[str, str]]:
    return [(c.code, c.name) for c in await registration.list_categories(session=db) if c.active]


def _labels() -> dict[str, Any]:
    return {
        "risks": rules.RISK_LABELS,
        "how_found": rules.HOW_FOUND_LABELS,
        "statuses": rules.STATUS_LABELS,
        "methods": rules.RESOLVE_METHOD_LABELS,
        "moves": rules.MOVE_LABELS,
        "check_states": rules.CHECK_STATE_LABELS,
    }


# ---------------------------------------------------------------- the ledger


def _typed(
    status: str | None, domain: str | None, risk: str | None, overdue: bool | None, q: str | None
) -> tuple[dict[str, Any], service.Filters]:
    """The list's filters as the form shows them, and as the service takes them (anything
    unknown reads as its default: the open ledger)."""
    f: dict[str, Any] = {
        "status": status if status in (*rules.STATUSES, "all") else "open",
        "domain": domain or "",
        "risk": risk if risk in rules.RISKS else "",
        "overdue": bool(overdue),
        "q": (q or "").strip(),
    }
    return f, service.Filters(
        status=None if f["status"] == "all" else f["status"],
        domain=f["domain"] or None,
        risk=f["risk"] or None,
        overdue=True if f["overdue"] else None,
        q=f["q"] or None,
    )


@get("/ledger", guards=READERS)
async def ledger_page(
    db: DB,
    ctx: Ctx,
    request: AnyRequest,
    status: Text = None,
    domain: Text = None,
    risk: Text = None,
    overdue: Bool = None,
    q: Text = None,
    page_no: PageNo = None,
) -> Template:
    f, filters = _typed(status, domain, risk, overdue, q)
    number = page_no or 1
    rows, total = await service.list_entries(
        session=db,
        principal=request.user,
        today=ctx.today(),
        filters=filters,
        limit=PER_PAGE,
        offset=(number - 1) * PER_PAGE,
    )
    params = {k: v for k, v in f.items() if v not in ("", False)}
    return page(
        request,
        "ledger/list.html",
        title="矛盾纠纷排查台账",
        items=await views.summaries(db, rows, ctx.today()),
        total=total,
        f=f,
        number=number,
        pages=max(1, -(-total // PER_PAGE)),
        link=lambda **change: query("/ledger", **{**params, **change}),
        export_xlsx=query("/ledger/export", format="xlsx", **params),
        export_csv=query("/ledger/export", format="csv", **params),
        domains=await _domains(db),
        may_open=request.user.role in access.WRITERS,
        **_labels(),
    )


@get("/ledger/export", guards=READERS)
async def ledger_export(
    reads: Reads,
    ctx: Ctx,
    request: AnyRequest,
    format: Text = None,
    status: Text = None,
    domain: Text = None,
    risk: Text = None,
    overdue: Bool = None,
    q: Text = None,
) -> Response[bytes]:
    _, filters = _typed(status, domain, risk, overdue, q)
    rows, _ = await service.list_entries(
        session=reads,
        principal=request.user,
        today=ctx.today(),
        filters=filters,
        limit=service.EXPORT_MAX,
        offset=0,
    )
    items = await views.summaries(reads, rows, ctx.today())
    return writers.entries_file(items, "csv" if format == "csv" else "xlsx", ctx.today())


# ---------------------------------------------------------------- 建账


async def _new_page(
    request: AnyRequest,
    db: AsyncSession,
    ctx: Context,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Template:
    return page(
        request,
        "ledger/new.html",
        status=status,
        title="矛盾纠纷建账",
        units=await units_in_reach(db, request.user),
        leaders=await leader_choices(db, request.user),
        domains=await _domains(db),
        rules_text=[r.describe() for r in service.risk_rules(ctx)],
        review_days=ctx.settings.ledger_review_days,
        party_rows=range(PARTY_ROWS),
        errors=errors or {},
        values=values or {"found_on": ctx.today().isoformat(), "people_count": "1"},
        **_labels(),
    )


@get("/ledger/new", guards=CLERKS)
async def new_entry_page(db: DB, ctx: Ctx, request: AnyRequest) -> Template:
    return await _new_page(request, db, ctx)


def _entry_body(form: Any) -> schemas.EntryCreate:
    parties = []
    for i in range(PARTY_ROWS):
        name = str(form.get(f"party_name_{i}") or "").strip()
        id_number = str(form.get(f"party_id_{i}") or "").strip()
        phone = str(form.get(f"party_phone_{i}") or "").strip()
        if name or id_number or phone:
            parties.append({"name": name, "id_number": id_number, "phone": phone})
    if not parties:
        raise FormErrors({"parties": "请至少填写一名当事人"})
    names = (
        "found_on", "found_by_unit_id", "how_found", "domain", "summary", "unit_id",
        "stability_leader_id", "resolution_leader_id", "target_on", "risk", "people_count",
        "amount_disputed", "plan", "review_on",
    )  # fmt: skip
    values = {n: form.get(n, "") for n in names}
    return to_body(schemas.EntryCreate, {**values, "parties": parties})


@post("/ledger", guards=CLERKS, status_code=200)
async def create_entry(db: DB, ctx: Ctx, request: AnyRequest) -> Response[Any] | Template:
    values: dict[str, Any] = {}
    try:
        form = await read_form(request)
        values = values_of(form)
        entry = await service.create_entry(
            session=db, ctx=ctx, actor=request.user, data=_entry_body(form)
        )
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        fields = {("parties" if k.startswith("party") else k): v for k, v in problem.fields.items()}
        return await _new_page(
            request, db, ctx, status=problem.status, errors=fields, values=values
        )
    return await see_other(request, db, f"/ledger/{entry.id}", notice=f"已建账:{entry.reference}")


# ---------------------------------------------------------------- one entry


async def entry_view(
    request: AnyRequest,
    db: AsyncSession,
    ctx: Context,
    entry_id: int,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    open_form: str = "",
    values: dict[str, Any] | None = None,
) -> Template:
    entry = await access.get_entry(session=db, principal=request.user, entry_id=entry_id)
    detail = await views.detail_of(session=db, ctx=ctx, principal=request.user, entry=entry)
    return page(
        request,
        "ledger/entry.html",
        status=status,
        title=f"台账 {detail.reference}",
        e=detail,
        etag=access.entry_etag(entry),
        leaders=await leader_choices(db, request.user) if detail.allowed_moves else [],
        domains=await _domains(db) if detail.allowed_moves else [],
        channels=CHANNEL_LABELS,
        in_period=bool(await periods.periods_on(db, ctx.today())),
        errors=errors or {},
        open_form=open_form,
        form_values=values or {},
        **_labels(),
    )


@get("/ledger/{entry_id:int}", guards=READERS)
async def entry_page(db: DB, ctx: Ctx, request: AnyRequest, entry_id: FromPath[int]) -> Template:
    return await entry_view(request, db, ctx, entry_id)


@post("/ledger/{entry_id:int}/moves", guards=CLERKS, status_code=200)
async def move_entry(
    db: DB, ctx: Ctx, request: AnyRequest, entry_id: FromPath[int]
) -> Response[Any] | Template:
    values: dict[str, Any] = {}
    move = ""
    try:
        form = await read_form(request)
        values = values_of(form)
        move = str(form.get("move") or "")
        names = (
            "move", "on", "note", "review_on", "risk", "stability_leader_id",
            "resolution_leader_id", "method", "amount_recovered", "channel", "repeat_of",
            "summary", "domain", "people_count", "amount_disputed", "plan", "target_on",
        )  # fmt: skip
        data = to_body(schemas.MoveIn, {n: form.get(n, "") for n in names})
        done = await moves.move(
            session=db,
            ctx=ctx,
            actor=request.user,
            entry_id=entry_id,
            data=data,
            if_match=str(form.get("etag") or "") or None,
        )
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        return await entry_view(
            request, db, ctx, entry_id, status=problem.status, errors=problem.fields,
            open_form=move, values=values,
        )  # fmt: skip
    if done.case is not None:
        found = len(done.candidates or [])
        note = f"已转为信访事项 {done.case.reference}" + (
            f";发现 {found} 件可能重复的信访事项,请在事项页核对" if found else ""
        )
        return await see_other(request, db, f"/cases/{done.case.id}", notice=note)
    return await see_other(
        request, db, f"/ledger/{entry_id}", notice=f"已{rules.MOVE_LABELS[move]}"
    )


# ---------------------------------------------------------------- 排查情况表


@get("/ledger/table", guards=[require("clerk", "reviewer")])
async def table_page(
    reads: Reads,
    ctx: Ctx,
    request: AnyRequest,
    month: Month = None,
    year: Year = None,
    unit_id: SomeId = None,
    domain: Text = None,
    format: Text = None,
) -> Template | Response[bytes]:
    """The monthly (or yearly) 排查情况表, laid out to print on A4 with the stamp box."""
    first, last = figures.period_bounds(month, year, ctx.today())
    unit = await access.table_unit(session=reads, principal=request.user, unit_id=unit_id)
    data = await figures.table(reads, unit_id=unit, first=first, last=last, domain=domain or None)
    if format == "xlsx":
        return writers.table_file(data)
    params = {"month": month, "year": year, "unit_id": unit_id, "domain": domain}
    return page(
        request,
        "ledger/table.html",
        title=writers.table_title(data),
        t=data,
        heading=writers.table_title(data),
        month=month or ("" if year else first.strftime("%Y-%m")),
        year=year or "",
        unit_id=unit or "",
        units=await units_in_reach(reads, request.user),
        domains=await _domains(reads),
        domain=domain or "",
        xlsx=query("/ledger/table", format="xlsx", **{k: v for k, v in params.items() if v}),
        columns=figures.COUNTS,
        labels=figures.LABELS,
    )


# ---------------------------------------------------------------- the case page's section


@get("/cases/{case_id:int}/ledger", guards=READERS)
async def case_section(db: DB, ctx: Ctx, request: AnyRequest, case_id: FromPath[int]) -> Template:
    """The case page's 台账 section (loaded into it): the entry the case came from."""
    entry = await views.entry_of_case(session=db, principal=request.user, case_id=case_id)
    detail = (
        await views.detail_of(session=db, ctx=ctx, principal=request.user, entry=entry)
        if entry is not None
        else None
    )
    return page(request, "ledger/case_section.html", title="来源台账", e=detail, **_labels())


PAGES = [
    ledger_page,
    ledger_export,
    new_entry_page,
    create_entry,
    entry_page,
    move_entry,
    table_page,
    case_section,
]
