"""The clerk's worklist in the console (the page a cadre opens every morning): open cases with
the next deadline first, filters, search, 50 a page, and the filtered list as CSV."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal

from litestar import Request, Response, get
from litestar.params import QueryParameter
from litestar.response import Template

from reception.auth import Principal, require
from reception.cases import (
    lists,
    schemas,
    workflow,
)
from reception.cases.choices import choices
from reception.context import Context, Ctx
from reception.db import DB
from reception.reads import Reads
from reception.spreadsheet import csv_bytes
from reception.web.render import (
    page,
    query,
)

AnyRequest = Request[Principal, Any, Any]
CLERKS = [require("clerk")]
PER_PAGE = 50
# Past this many a page says "10000+ 件" rather than count them all (a city's open cases).
COUNT_UP_TO = 10_000
EXPORT_MAX = 20_000


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
    inquiry: bool = False
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
    inquiry: bool | None = None,
) -> Filters:
    return Filters(
        overdue=bool(overdue),
        due_within=due_within,
        stage=stage or "",
        channel=channel or "",
        category=category or "",
        owner=owner,
        first_time=first_time or "",
        inquiry=bool(inquiry),
        q=(q or "").strip(),
        sort=sort or "due",
        closed=bool(closed),
        page=page_no or 1,
    )


async def _list(
    db: DB, ctx: Context, principal: Principal, f: Filters, *, limit: int, offset: int
) -> tuple[list[schemas.CaseSummary], int]:
    as_of = ctx.today()
    rows, total = await lists.list_cases(
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
        inquiry="open" if f.inquiry else None,
        q=f.q or None,
        sort="due" if f.sort == "due" else "registered",
        open_only=not f.closed,
        count_up_to=COUNT_UP_TO if limit == PER_PAGE else None,
    )
    items = await lists.summaries(session=db, principal=principal, cases=rows, as_of=as_of)
    return items, total


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
    closed: Bool = None,
    inquiry: Bool = None,
) -> Template:
    # 含已办结: the page takes it as the CSV export does (it was dropped here before).
    f = _filters(
        overdue,
        due_within,
        stage,
        channel,
        category,
        owner,
        first_time,
        q,
        sort,
        page_no,
        closed,
        inquiry,
    )
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
        **await choices(db, request.user),
    )


@get("/cases/export.csv")
async def export_csv(
    reads: Reads,
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
    inquiry: Bool = None,
) -> Response[bytes]:
    """The filtered list as CSV (UTF-8 with BOM, so Excel reads the Chinese); names masked as
    in every list."""
    f = _filters(
        overdue,
        due_within,
        stage,
        channel,
        category,
        owner,
        first_time,
        q,
        sort,
        1,
        closed,
        inquiry,
    )
    items, _ = await _list(reads, ctx, request.user, f, limit=EXPORT_MAX, offset=0)
    names = (await choices(reads, request.user))["category_names"]
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


PAGES = [worklist, export_csv]
