"""台账导入 in the console: upload a file, check the proposed mapping (fix a column or two),
try it (the dry run: totals, the rows with a problem or a note, the whole report as XLSX),
import, and take an import back. Two faces of `reception.imports.service` and `.runs`: the
pages never query the database themselves."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from reception.auth import Principal, require
from reception.context import Context, Ctx
from reception.db import DB
from reception.errors import DomainError
from reception.imports import mapping as maps
from reception.imports import runs, service, units
from reception.imports.cases import VERDICTS
from reception.org.choices import units_in_reach
from reception.web.render import FormErrors, page, read_form, refused, see_other

AnyRequest = Request[Principal, Any, Any]
CLERKS = [require("clerk")]
KINDS = {"cases": "信访事项台账", "sessions": "领导接访/下访台账"}
STATUS_LABELS = {"draft": "待导入", "imported": "已导入", "rolled_back": "已撤销"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _list_page(
    request: AnyRequest,
    db: AsyncSession,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
) -> Template:
    return page(
        request,
        "imports/list.html",
        status=status,
        title="台账导入",
        batches=await service.list_batches(session=db, actor=request.user),
        units=await units_in_reach(db, request.user),
        kinds=KINDS,
        status_labels=STATUS_LABELS,
        verdicts=VERDICTS,
        errors=errors or {},
        tz=request.app.state.ctx.tz,
    )


@get("/imports", guards=CLERKS)
async def imports_page(db: DB, request: AnyRequest) -> Template:
    return await _list_page(request, db)


def _int_or_none(value: Any, field: str) -> int | None:
    text = str(value or "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 9:
        raise FormErrors({field: "请选择单位"})
    return int(text)


@post("/imports", guards=CLERKS, status_code=200, request_max_body_size=64 * 1024 * 1024)
async def upload(db: DB, ctx: Ctx, request: AnyRequest) -> Response[Any] | Template:
    form = await read_form(request)
    try:
        file = form.get("file")
        if not isinstance(file, UploadFile) or not file.filename:
            raise FormErrors({"file": "请选择要导入的文件(.xlsx、.xls 或 .csv)"})
        limit = ctx.settings.import_max_megabytes * 1024 * 1024
        data = await file.read(limit + 1)
        batch = await service.upload(
            session=db,
            ctx=ctx,
            actor=request.user,
            kind=str(form.get("kind") or "cases"),
            file_name=file.filename,
            data=data,
            sheet=str(form.get("sheet") or "").strip() or None,
            default_unit_id=_int_or_none(form.get("default_unit_id"), "default_unit_id"),
        )
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        fields = {
            ("file" if k in ("", "kind", "sheet") else k): v for k, v in problem.fields.items()
        }
        return await _list_page(request, db, status=problem.status, errors=fields)
    return await see_other(
        request, db, f"/imports/{batch.id}", notice="文件已上传,请核对各列的对应"
    )


async def _batch_page(
    request: AnyRequest,
    db: AsyncSession,
    ctx: Context,
    batch_id: int,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    tried: list[Any] | None = None,
) -> Template:
    batch = await service.get_batch(session=db, actor=request.user, batch_id=batch_id)
    columns = (
        await service.columns(session=db, ctx=ctx, batch=batch) if batch.status == "draft" else []
    )
    fields = maps.FIELDS[batch.kind]
    return page(
        request,
        "imports/batch.html",
        status=status,
        title=f"导入批次 {batch.id}",
        batch=batch,
        kind_label=KINDS[batch.kind],
        columns=columns,
        fields=[(name, t.label) for name, t in fields.items()],
        required=[t.label for t in fields.values() if t.required],
        status_labels=STATUS_LABELS,
        verdicts=VERDICTS,
        units=await units_in_reach(db, request.user),
        errors=errors or {},
        tried=tried,
        tz=ctx.tz,
    )


@get("/imports/{batch_id:int}", guards=CLERKS)
async def batch_page(db: DB, ctx: Ctx, request: AnyRequest, batch_id: FromPath[int]) -> Template:
    return await _batch_page(request, db, ctx, batch_id)


@post("/imports/{batch_id:int}/mapping", guards=CLERKS, status_code=200)
async def try_mapping(db: DB, ctx: Ctx, request: AnyRequest, batch_id: FromPath[int]) -> Template:
    """Save the mapping and try it: the page shows the dry run's totals and problem rows."""
    form = await read_form(request)
    try:
        batch = await service.get_batch(session=db, actor=request.user, batch_id=batch_id)
        names = list(batch.mapping or {})
        chosen = {
            name: str(form.get(f"col-{i}") or "")
            for i, name in enumerate(names)
            if form.get(f"col-{i}") is not None
        }
        await service.set_mapping(
            session=db,
            actor=request.user,
            batch_id=batch_id,
            mapping=chosen,
            default_unit_id=_int_or_none(form.get("default_unit_id"), "default_unit_id"),
        )
        _, _, shown = await runs.dry_run(session=db, ctx=ctx, actor=request.user, batch_id=batch_id)
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        fields = {("mapping" if not k else k): v for k, v in problem.fields.items()}
        return await _batch_page(request, db, ctx, batch_id, status=problem.status, errors=fields)
    return await _batch_page(request, db, ctx, batch_id, tried=shown)


@post("/imports/{batch_id:int}/import", guards=CLERKS, status_code=200)
async def run_import(
    db: DB, ctx: Ctx, request: AnyRequest, batch_id: FromPath[int]
) -> Response[Any] | Template:
    await read_form(request)
    try:
        batch, _ = await runs.run_import(session=db, ctx=ctx, actor=request.user, batch_id=batch_id)
    except DomainError as exc:
        problem = await refused(db, exc)
        return await _batch_page(
            request, db, ctx, batch_id, status=problem.status, errors={"import": problem.general}
        )
    counts = batch.counts or {}
    made = int(counts.get("create", 0)) + int(counts.get("repeat", 0))
    return await see_other(request, db, f"/imports/{batch_id}", notice=f"已导入 {made} 条")


@post("/imports/{batch_id:int}/rollback", guards=CLERKS, status_code=200)
async def rollback(
    db: DB, ctx: Ctx, request: AnyRequest, batch_id: FromPath[int]
) -> Response[Any] | Template:
    await read_form(request)
    try:
        await runs.rollback(session=db, ctx=ctx, actor=request.user, batch_id=batch_id)
    except DomainError as exc:
        problem = await refused(db, exc)
        return await _batch_page(
            request, db, ctx, batch_id, status=problem.status, errors={"rollback": problem.general}
        )
    return await see_other(request, db, f"/imports/{batch_id}", notice="本次导入已整批撤销")


@get("/imports/{batch_id:int}/report.xlsx", guards=CLERKS)
async def report(db: DB, ctx: Ctx, request: AnyRequest, batch_id: FromPath[int]) -> Response[bytes]:
    batch, data = await runs.report(session=db, ctx=ctx, actor=request.user, batch_id=batch_id)
    name = f"导入核对报告-批次{batch.id}.xlsx"
    from urllib.parse import quote

    return Response(
        data,
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


# ---------------------------------------------------------------- villages (admin)


ADMIN = [require("admin")]


async def _villages_page(
    request: AnyRequest,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    rows: list[units.Village] | None = None,
) -> Template:
    todo = [(v.name, v.township_id) for v in rows or [] if v.verdict == "create"]
    return page(
        request,
        "imports/villages.html",
        status=status,
        title="导入村(社区)名单",
        rows=rows,
        counts={
            k: sum(1 for v in rows or [] if v.verdict == k) for k in ("create", "same", "error")
        },
        carried=msgspec.json.encode(todo).decode() if todo else "",
        errors=errors or {},
    )


@get("/admin/units/import", guards=ADMIN)
async def villages_page(request: AnyRequest) -> Template:
    return await _villages_page(request)


@post("/admin/units/import", guards=ADMIN, status_code=200, request_max_body_size=16 * 1024 * 1024)
async def villages_import(db: DB, request: AnyRequest) -> Response[Any] | Template:
    """A list uploaded: each row's verdict shown; confirmed (the rows carried): the units made."""
    form = await read_form(request)
    try:
        carried = form.get("villages")
        if carried is not None:
            try:
                todo = msgspec.json.decode(str(carried), type=list[tuple[str, int]])
            except (msgspec.DecodeError, msgspec.ValidationError):
                raise FormErrors({"file": "导入预览已失效,请重新选择文件"}) from None
            made = await units.add_villages(session=db, actor=request.user, villages=todo)
            return await see_other(request, db, "/admin/units", notice=f"已新建 {made} 个村(社区)")
        file = form.get("file")
        if not isinstance(file, UploadFile) or not file.filename:
            raise FormErrors({"file": "请选择村(社区)名单文件(.xlsx、.xls 或 .csv)"})
        rows = await units.read_villages(
            session=db, actor=request.user, data=await file.read(16 * 1024 * 1024 + 1)
        )
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        fields = {("file" if k in ("", "villages") else k): v for k, v in problem.fields.items()}
        return await _villages_page(request, status=problem.status, errors=fields)
    return await _villages_page(request, rows=rows)


PAGES = [
    imports_page,
    upload,
    batch_page,
    try_mapping,
    run_import,
    rollback,
    report,
    villages_page,
    villages_import,
]
