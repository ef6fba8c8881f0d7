"""HTTP endpoints for notices (告知书, 意见书, 送达回证), their delivery and the templates.

The files hang under the document as fixed segments (`/file.docx`, `/file.pdf`): Litestar
cannot put a suffix on a path parameter (see feeds' event.ics)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from reception.auth import Principal, require
from reception.cases import deliveries
from reception.cases.models import CaseDelivery
from reception.cases.schemas import DeliveryIn, DeliveryOut
from reception.context import Context, Ctx
from reception.db import DB
from reception.documents import pdfs, schemas, service
from reception.documents.files import DOCX, docx_response, pdf_response
from reception.documents.kinds import KINDS
from reception.documents.models import CaseDocument
from reception.errors import Broken, InvalidInput
from reception.responses import attachment

AnyRequest = Request[Principal, Any, Any]


def document_read(
    doc: CaseDocument, ctx: Context, delivery: CaseDelivery | None, superseded_by: int | None
) -> schemas.DocumentRead:
    if doc.id is None:
        raise Broken("expected: doc.id is not None")
    return schemas.DocumentRead(
        id=doc.id,
        case_id=doc.case_id,
        kind=doc.kind,
        title=doc.title,
        number=doc.number,
        issued_on=doc.issued_on,
        template_version=doc.template_version,
        checksum=doc.checksum,
        fields=doc.fields,
        supersedes_id=doc.supersedes_id,
        superseded_by_id=superseded_by,
        for_document_id=doc.for_document_id,
        issued_by_name=doc.issued_by_name,
        created_at=ctx.local(doc.created_at),
        delivery=deliveries.out(delivery) if delivery else None,
        docx_url=f"/api/documents/{doc.id}/file.docx",
        pdf_url=f"/api/documents/{doc.id}/file.pdf",
    )


class CaseDocumentController(Controller):
    path = "/cases/{case_id:int}/documents"
    tags = ["documents"]

    @post("/", guards=[require("clerk")])
    async def issue(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        case_id: FromPath[int],
        data: JSONBody[schemas.DocumentIssue],
    ) -> Response[schemas.DocumentRead]:
        """Issue a notice: numbered, rendered from the template in force, kept as issued.
        The 意见书 are the reply and the decisions: issuing one performs that step."""
        doc = await service.issue(
            session=db, ctx=ctx, actor=request.user, case_id=case_id, data=data
        )
        served = await deliveries.served(db, doc.case_id)
        return Response(
            document_read(doc, ctx, served.get(doc.number), None),
            status_code=201,
            background=pdfs.ahead(request.app.state, ctx, doc.id or 0),
        )

    @get("/")
    async def list_documents(
        self, db: DB, ctx: Ctx, request: AnyRequest, case_id: FromPath[int]
    ) -> list[schemas.DocumentRead]:
        rows = await service.documents_of(session=db, principal=request.user, case_id=case_id)
        return [document_read(d, ctx, delivery, by) for d, delivery, by in rows]


class DocumentController(Controller):
    path = "/documents"
    tags = ["documents"]

    @get("/{document_id:int}")
    async def get_document(
        self, db: DB, ctx: Ctx, request: AnyRequest, document_id: FromPath[int]
    ) -> schemas.DocumentRead:
        doc = await service.get_document(
            session=db, principal=request.user, document_id=document_id
        )
        rows = await service.documents_of(session=db, principal=request.user, case_id=doc.case_id)
        _, delivery, by = next(r for r in rows if r[0].id == doc.id)
        return document_read(doc, ctx, delivery, by)

    @get("/{document_id:int}/file.docx", media_type=DOCX)
    async def docx(
        self, db: DB, ctx: Ctx, request: AnyRequest, document_id: FromPath[int]
    ) -> Response[bytes]:
        return await docx_response(db, ctx, request.user, document_id)

    @get("/{document_id:int}/file.pdf", media_type="application/pdf")
    async def pdf(
        self, db: DB, ctx: Ctx, request: AnyRequest, document_id: FromPath[int]
    ) -> Response[bytes]:
        """The same document as PDF: made once by LibreOffice on this server (at issue, or at
        the first download) and kept (503 if LibreOffice is not installed: the DOCX prints the
        same)."""
        return await pdf_response(
            db, request.app.state.sessionmaker, ctx, request.user, document_id
        )

    @post("/{document_id:int}/delivery", guards=[require("clerk")])
    async def deliver(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        document_id: FromPath[int],
        data: JSONBody[DeliveryIn],
    ) -> DeliveryOut:
        """One attempt to serve the notice (送达 or 未能送达), kept in the case's one delivery
        record; the 意见书's delivery starts the petitioner's 30 days to ask for 复查 (复核)."""
        row = await service.deliver(
            session=db, ctx=ctx, actor=request.user, document_id=document_id, data=data
        )
        return deliveries.out(row)


class DocumentKindController(Controller):
    path = "/document-kinds"
    tags = ["documents"]

    @get("/")
    async def kinds(self, db: DB, ctx: Ctx) -> list[schemas.KindRead]:
        out = []
        for kind in KINDS.values():
            template = await service.template_in_force(db, kind.code, ctx.settings.office_name)
            out.append(
                schemas.KindRead(
                    kind=kind.code,
                    title=kind.title,
                    stages=sorted(kind.stages),
                    required=list(kind.required),
                    template_version=template.version,
                )
            )
        return out


class DocumentTemplateController(Controller):
    path = "/document-templates"
    tags = ["documents"]
    guards = [require("admin")]

    @get("/{kind:str}/file.docx", media_type=DOCX)
    async def template_file(self, db: DB, ctx: Ctx, kind: FromPath[str]) -> Response[bytes]:
        """The template in force (the office's, or the built-in one) to edit in Word."""
        if kind not in KINDS:
            raise InvalidInput(f"没有文书种类 {kind}", field="kind")
        template = await service.template_in_force(db, kind, ctx.settings.office_name)
        return Response(
            template.content,
            media_type=DOCX,
            headers={
                "Content-Disposition": attachment(f"{KINDS[kind].title}模板.docx", f"{kind}.docx")
            },
        )

    @put("/{kind:str}", media_type="application/json")
    async def upload(
        self,
        db: DB,
        ctx: Ctx,
        request: AnyRequest,
        kind: FromPath[str],
        filename: Annotated[str, QueryParameter(max_length=200)] = "",
    ) -> schemas.TemplateRead:
        """Replace a kind's template with a .docx (request body). It must render with the
        sample case first; if it does not, the error is shown and the old one stays."""
        row = await service.upload_template(
            session=db,
            actor=request.user,
            kind=kind,
            filename=filename,
            content=await request.body(),
            suite=ctx.keys.suite,
        )
        return schemas.TemplateRead(
            kind=row.kind,
            title=KINDS[row.kind].title,
            version=row.version,
            filename=row.filename,
            checksum=row.checksum,
            uploaded_by_name=row.uploaded_by_name,
            created_at=ctx.local(row.created_at),
        )
