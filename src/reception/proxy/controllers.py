"""HTTP endpoints of 网格员代办. Thin: parse, call, shape."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody

from reception.auth import Principal, require
from reception.context import Context, Ctx
from reception.db import DB
from reception.proxy import form as documents
from reception.proxy import schemas, service
from reception.proxy.models import ProxyFiling
from reception.responses import Limit, Offset, Page

AnyRequest = Request[Principal, Any, Any]
IfMatch = Annotated[
    str | None,
    HeaderParameter(name="If-Match", description="The ETag you read; 412 if it changed"),
]
READERS = [require("grid", "clerk", "reviewer")]


async def _one(
    db: Any, ctx: Context, principal: Principal, filing: ProxyFiling, status: int = 200
) -> Response[schemas.FilingOut]:
    out = (await service.filings_out(db, ctx, principal, [filing], whole=True))[0]
    return Response(out, status_code=status, headers={"ETag": service.filing_etag(filing)})


class ProxyController(Controller):
    path = "/proxy-filings"
    tags = ["proxy"]

    @post("/", guards=[require("grid")])
    async def file(
        self, db: DB, ctx: Ctx, request: AnyRequest, data: JSONBody[schemas.FilingIn]
    ) -> Response[schemas.FilingOut]:
        """代办登记 by the grid worker: the township's group is told."""
        filing = await service.file(session=db, ctx=ctx, actor=request.user, data=data)
        return await _one(db, ctx, request.user, filing, 201)

    @get("/", guards=READERS)
    async def list_filings(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        limit: Limit = 100,
        offset: Offset = 0,
        status: FromQuery[Literal["filed", "registered", "returned"] | None] = None,
    ) -> Page[schemas.FilingOut]:
        """A grid worker's own filings; a clerk's villages'; names masked in the list."""
        rows, total = await service.list_filings(
            session=db, principal=request.user, status=status, limit=limit, offset=offset
        )
        return Page(await service.filings_out(db, ctx, request.user, rows), total, limit, offset)

    @get("/{filing_id:int}", guards=READERS)
    async def detail(
        self, db: DB, ctx: Ctx, request: AnyRequest, filing_id: FromPath[int]
    ) -> Response[schemas.FilingOut]:
        filing = await service.get_filing(session=db, principal=request.user, filing_id=filing_id)
        return await _one(db, ctx, request.user, filing)

    @post("/{filing_id:int}/register", guards=[require("clerk")])
    async def register(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        filing_id: FromPath[int],
        data: JSONBody[schemas.RegisterIn],
        if_match: IfMatch = None,
    ) -> Response[schemas.Registered]:
        """The township registers it as a petition (channel 网格员代办, clocks from the day the
        grid worker received it); the repeat check's candidates come back."""
        done = await service.register(
            session=db, ctx=ctx, actor=request.user, filing_id=filing_id, data=data,
            if_match=if_match,
        )  # fmt: skip
        out = (await service.filings_out(db, ctx, request.user, [done.filing], whole=True))[0]
        case = done.case
        return Response(
            schemas.Registered(
                filing=out,
                case_id=case.id or 0 if case else 0,
                case_reference=case.reference if case else "",
                repeat_candidates=list(done.candidates or []),
            ),
            status_code=201,
        )

    @post("/{filing_id:int}/return", guards=[require("clerk")], status_code=200)
    async def send_back(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        filing_id: FromPath[int],
        data: JSONBody[schemas.ReturnIn],
        if_match: IfMatch = None,
    ) -> Response[schemas.FilingOut]:
        done = await service.send_back(
            session=db, ctx=ctx, actor=request.user, filing_id=filing_id, data=data,
            if_match=if_match,
        )  # fmt: skip
        return await _one(db, ctx, request.user, done.filing)

    @get("/{filing_id:int}/slip", guards=[require("grid", "clerk")])
    async def slip(
        self, db: DB, ctx: Ctx, request: AnyRequest, filing_id: FromPath[int]
    ) -> schemas.Slip:
        """评价提醒单: the public page and the query code for the petitioner (after the reply)."""
        filing = await service.get_filing(session=db, principal=request.user, filing_id=filing_id)
        return await service.slip(session=db, ctx=ctx, actor=request.user, filing=filing)

    @get("/{filing_id:int}/form", guards=[require("grid", "clerk")])
    async def form(
        self, db: DB, ctx: Ctx, request: AnyRequest, filing_id: FromPath[int]
    ) -> Response[bytes]:
        """代办登记表 (DOCX) for the petitioner to sign: to those who see the filing whole."""
        filing = await service.get_filing(session=db, principal=request.user, filing_id=filing_id)
        return await documents.form_file(db, ctx, request.user, filing)


CONTROLLERS = [ProxyController]
