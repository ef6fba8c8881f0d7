"""/api/imports: the ledger import for programs — upload the file as the request body, read
and fix the proposed mapping, dry run, import, roll back, the per-row report. The same
service calls as the console's pages."""

from __future__ import annotations

from datetime import tzinfo
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, Response, get, post, put
from litestar.params import JSONBody, PathParameter, QueryParameter

from reception.auth import Principal, require
from reception.context import Context, Ctx
from reception.db import DB
from reception.imports import mapping as maps
from reception.imports import runs, schemas, service
from reception.imports.models import ImportBatch

AnyRequest = Request[Principal, Any, Any]
# Room for the largest file the settings allow (checked again, and named, by the service).
MAX_BODY = 64 * 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def batch_read(
    batch: ImportBatch, tz: tzinfo, columns: list[service.Column] | None = None
) -> schemas.BatchRead:
    return schemas.BatchRead(
        id=batch.id or 0,
        kind=batch.kind,
        status=batch.status,
        file_name=batch.file_name,
        file_checksum=batch.file_checksum,
        sheet=batch.sheet,
        default_unit_id=batch.default_unit_id,
        mapping={str(k): str(v) for k, v in (batch.mapping or {}).items()},
        dry_counts=schemas.counts_of(batch.dry_counts),
        counts=schemas.counts_of(batch.counts),
        created_by_name=batch.created_by_name,
        created_at=batch.created_at.astimezone(tz),
        imported_at=batch.imported_at.astimezone(tz) if batch.imported_at else None,
        rolled_back_at=batch.rolled_back_at.astimezone(tz) if batch.rolled_back_at else None,
        columns=[schemas.ColumnRead(c.name, c.field, c.samples) for c in columns]
        if columns is not None
        else None,
        fields={name: t.label for name, t in maps.FIELDS[batch.kind].items()},
    )


async def _with_columns(db: DB, ctx: Context, batch: ImportBatch) -> schemas.BatchRead:
    columns = (
        await service.columns(session=db, ctx=ctx, batch=batch) if batch.status == "draft" else None
    )
    return batch_read(batch, ctx.tz, columns)


Id = Annotated[int, PathParameter(ge=1, le=2_147_483_647)]


class ImportController(Controller):
    path = "/imports"
    tags = ["imports"]
    guards = [require("clerk")]

    @post("/", request_max_body_size=MAX_BODY)
    async def upload(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        kind: Annotated[str, QueryParameter(max_length=20)] = "cases",
        file_name: Annotated[str, QueryParameter(max_length=200)] = "",
        sheet: Annotated[str | None, QueryParameter(max_length=100)] = None,
        default_unit_id: Annotated[int | None, QueryParameter(ge=1, le=2_147_483_647)] = None,
    ) -> schemas.BatchRead:
        """The ledger file itself is the request body (XLSX, XLS or CSV, any content type)."""
        batch = await service.upload(
            session=db,
            ctx=ctx,
            actor=request.user,
            kind=kind,
            file_name=file_name,
            data=await request.body(),
            sheet=sheet or None,
            default_unit_id=default_unit_id,
        )
        return await _with_columns(db, ctx, batch)

    @get("/")
    async def list_batches(self, db: DB, ctx: Ctx, request: AnyRequest) -> list[schemas.BatchRead]:
        return [
            batch_read(b, ctx.tz)
            for b in await service.list_batches(session=db, actor=request.user)
        ]

    @get("/{batch_id:int}")
    async def get_batch(
        self, db: DB, ctx: Ctx, request: AnyRequest, batch_id: Id
    ) -> schemas.BatchRead:
        batch = await service.get_batch(session=db, actor=request.user, batch_id=batch_id)
        return await _with_columns(db, ctx, batch)

    @put("/{batch_id:int}/mapping")
    async def set_mapping(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        batch_id: Id,
        data: JSONBody[schemas.MappingPut],
    ) -> schemas.BatchRead:
        batch = await service.set_mapping(
            session=db,
            actor=request.user,
            batch_id=batch_id,
            mapping=dict(data.mapping),
            default_unit_id=data.default_unit_id,
        )
        return await _with_columns(db, ctx, batch)

    @post("/{batch_id:int}/dry-run", status_code=200)
    async def dry_run(self, db: DB, ctx: Ctx, request: AnyRequest, batch_id: Id) -> schemas.RunRead:
        batch, outcome, shown = await runs.dry_run(
            session=db, ctx=ctx, actor=request.user, batch_id=batch_id
        )
        return schemas.RunRead(
            batch=batch_read(batch, ctx.tz),
            counts=runs.shown_counts(outcome),
            rows=[schemas.RowVerdict(v.line, v.verdict, v.reasons) for v in shown],
        )

    @post("/{batch_id:int}/import", status_code=200)
    async def run_import(
        self, db: DB, ctx: Ctx, request: AnyRequest, batch_id: Id
    ) -> schemas.RunRead:
        batch, outcome = await runs.run_import(
            session=db, ctx=ctx, actor=request.user, batch_id=batch_id
        )
        return schemas.RunRead(batch=batch_read(batch, ctx.tz), counts=runs.shown_counts(outcome))

    @post("/{batch_id:int}/rollback", status_code=200)
    async def rollback(
        self, db: DB, ctx: Ctx, request: AnyRequest, batch_id: Id
    ) -> schemas.BatchRead:
        batch = await runs.rollback(session=db, ctx=ctx, actor=request.user, batch_id=batch_id)
        return batch_read(batch, ctx.tz)

    @get("/{batch_id:int}/report.xlsx", media_type=XLSX)
    async def report(self, db: DB, ctx: Ctx, request: AnyRequest, batch_id: Id) -> Response[bytes]:
        batch, data = await runs.report(session=db, ctx=ctx, actor=request.user, batch_id=batch_id)
        name = quote(f"导入核对报告-批次{batch.id}.xlsx")
        return Response(
            data,
            media_type=XLSX,
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"},
        )
