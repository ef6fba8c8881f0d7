"""A document's file as a download: the DOCX as issued, or its PDF (made once and kept,
documents.pdfs). The API, the console and the petitioner's page serve them the same way."""

from __future__ import annotations

from typing import Any

from litestar import Response

from reception.auth import Principal
from reception.context import Context
from reception.documents import converter, pdfs, service
from reception.errors import DomainError
from reception.responses import attachment

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class PdfUnavailable(DomainError):
    status, slug, title = 503, "pdf-unavailable", "无法生成 PDF"


async def docx_response(
    db: Any, ctx: Context, principal: Principal | None, document_id: int
) -> Response[bytes]:
    """A document's file as issued (the API and the console serve it the same way)."""
    doc, content = await service.readable_content(
        session=db, ctx=ctx, principal=principal, document_id=document_id
    )
    return Response(
        content,
        media_type=DOCX,
        headers={
            "Content-Disposition": attachment(
                f"{doc.title}_{doc.number}.docx", f"document-{doc.id}.docx"
            ),
            "Cache-Control": "private, no-store",
        },
    )


async def pdf_response(
    db: Any, maker: Any, ctx: Context, principal: Principal | None, document_id: int
) -> Response[bytes]:
    """The PDF, for the same readers as the DOCX; `maker`: where a PDF made now is stored."""
    doc, _ = await service.readable_content(
        session=db, ctx=ctx, principal=principal, document_id=document_id
    )
    try:
        body = await pdfs.pdf_of(db, maker, ctx, doc)
    except converter.NoConverter as exc:
        raise PdfUnavailable(str(exc)) from exc
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "Content-Disposition": attachment(
                f"{doc.title}_{doc.number}.pdf", f"document-{doc.id}.pdf"
            ),
            "Cache-Control": "private, no-store",
        },
    )
