"""The notices' templates in the console (admins): which template each kind is printed from,
the fields a template may use (what each holds, with an example), a sample PDF of the
template in force, its DOCX to edit in Word, and uploading the office's own. An upload is
accepted only if it renders with the sample case; until then the old one stays."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath
from litestar.response import Template
from sqlmodel import col, select

from reception.auth import Principal, require
from reception.context import Context, Ctx
from reception.db import DB
from reception.documents import converter, rendering, service
from reception.documents.files import DOCX, PdfUnavailable
from reception.documents.kinds import KINDS
from reception.documents.models import DocumentTemplate
from reception.errors import DomainError, InvalidInput, NotFound
from reception.responses import attachment
from reception.web.render import FormErrors, page, read_form, refused, see_other

AnyRequest = Request[Principal, Any, Any]
ADMIN = [require("admin")]
UPLOAD_MAX = 5 * 1024 * 1024


async def _page(
    request: AnyRequest,
    db: DB,
    ctx: Context,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    open_kind: str = "",
) -> Template:
    uploads = list(
        await db.scalars(select(DocumentTemplate).order_by(col(DocumentTemplate.version).desc()))
    )
    kinds = []
    for kind in KINDS.values():
        mine = [u for u in uploads if u.kind == kind.code]
        current = mine[0] if mine else None
        kinds.append(
            {
                "kind": kind,
                "current": current,
                "when": ctx.local(current.created_at) if current else None,
                "count": len(mine),
            }
        )
    return page(
        request,
        "documents/templates.html",
        status=status,
        title="文书模板",
        kinds=kinds,
        fields=[(name, meaning, example) for name, (meaning, example) in rendering.FIELDS.items()],
        errors=errors or {},
        open_kind=open_kind,
        prefix=ctx.settings.case_ref_prefix,
        year=ctx.today().year,
    )


@get("/admin/templates", guards=ADMIN)
async def templates(db: DB, ctx: Ctx, request: AnyRequest) -> Template:
    return await _page(request, db, ctx)


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise NotFound(f"没有文书种类 {kind}")
    return kind


@get("/admin/templates/{kind:str}/file.docx", guards=ADMIN)
async def template_docx(db: DB, ctx: Ctx, kind: FromPath[str]) -> Response[bytes]:
    """The template in force, to edit in Word and upload again."""
    template = await service.template_in_force(db, _kind(kind), ctx.settings.office_name)
    name = f"{KINDS[kind].title}模板-v{template.version}.docx"
    return Response(
        template.content,
        media_type=DOCX,
        headers={"Content-Disposition": attachment(name, f"{kind}-v{template.version}.docx")},
    )


@get("/admin/templates/{kind:str}/sample.pdf", guards=ADMIN)
async def template_sample(db: DB, ctx: Ctx, kind: FromPath[str]) -> Response[bytes]:
    """The template in force filled with the sample case (no one's data), as it prints."""
    template = await service.template_in_force(db, _kind(kind), ctx.settings.office_name)
    docx = rendering.render(template.content, {**rendering.SAMPLE, "title": KINDS[kind].title})
    try:
        pdf = await converter.to_pdf(ctx.settings, docx)
    except converter.NoConverter as exc:
        raise PdfUnavailable(str(exc)) from exc
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{kind}-sample.pdf"'},
    )


@post("/admin/templates/{kind:str}", guards=ADMIN, status_code=200)
async def upload(db: DB, ctx: Ctx, request: AnyRequest, kind: FromPath[str]) -> Response[Any]:
    """The office's own template of a kind (a .docx), checked against the sample case."""
    _kind(kind)
    try:
        form = await read_form(request)
        file = form.get("file")
        if not isinstance(file, UploadFile) or not file.filename:
            raise InvalidInput("请选择要上传的 Word 模板文件(.docx)", field="file")
        content = await file.read(UPLOAD_MAX + 1)
        if len(content) > UPLOAD_MAX:
            raise InvalidInput("模板文件超过 5 MB", field="file")
        row = await service.upload_template(
            session=db,
            actor=request.user,
            kind=kind,
            filename=file.filename,
            content=content,
            suite=ctx.keys.suite,
        )
    except (DomainError, FormErrors) as exc:
        problem = await refused(db, exc)
        errors = {f"{kind}.{k}" if k else kind: v for k, v in problem.fields.items()}
        return await _page(request, db, ctx, status=problem.status, errors=errors, open_kind=kind)
    return await see_other(
        request,
        db,
        "/admin/templates",
        notice=f"{KINDS[kind].title}已改用新模板(第 {row.version} 版)",
    )


PAGES = [templates, template_docx, template_sample, upload]
