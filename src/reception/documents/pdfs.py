"""A notice's PDF: made once from the DOCX as issued and kept (document_pdf), sealed and
checksummed like the DOCX. It is made right after the notice is issued (a task after the
response) or, failing that, at its first download; every later download reads the stored
bytes. Two first downloads at once make it twice and keep one (UNIQUE document_id)."""

from __future__ import annotations

import logging

from litestar.background_tasks import BackgroundTask
from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from reception.context import Context
from reception.crypto import Undecryptable, checksum_matches
from reception.db import SQLITE_WRITE, flush_refused
from reception.documents import converter
from reception.documents.models import CaseDocument, DocumentPdf
from reception.documents.service import opened_content
from reception.errors import Broken

log = logging.getLogger("reception.pdf")
TABLE = "document_pdf"


def _opened(ctx: Context, row: DocumentPdf) -> bytes:
    if row.id is None:
        raise Broken("expected: a stored PDF")
    content = ctx.keys.open_bytes(row.content, table=TABLE, column="content", row_id=row.id)
    if not checksum_matches(row.checksum, content):
        raise Undecryptable(f"{TABLE}.content of row {row.id} is not the PDF stored")
    return content


async def stored(session: AsyncSession, ctx: Context, document_id: int) -> bytes | None:
    row = await session.scalar(
        select(DocumentPdf).where(col(DocumentPdf.document_id) == document_id)
    )
    return _opened(ctx, row) if row is not None else None


async def _keep(
    maker: async_sessionmaker[AsyncSession], ctx: Context, document_id: int, pdf: bytes
) -> None:
    """Store the PDF in a transaction of its own (a download is a read): the first one made
    is kept, a second is dropped."""
    async with maker() as session:
        await session.connection(execution_options={SQLITE_WRITE: True})
        row = DocumentPdf(document_id=document_id, content=b"", checksum=ctx.keys.checksum(pdf))
        if await flush_refused(session, row) is not None:
            return  # stored by another download a moment ago
        if row.id is None:
            raise Broken("expected: row.id is not None")
        row.content = ctx.keys.seal_bytes(pdf, table=TABLE, column="content", row_id=row.id)
        await session.commit()


async def pdf_of(
    session: AsyncSession,
    maker: async_sessionmaker[AsyncSession],
    ctx: Context,
    doc: CaseDocument,
) -> bytes:
    """The document's PDF: the stored one, or made now from the DOCX and stored."""
    if doc.id is None:
        raise Broken("expected: doc.id is not None")
    kept = await stored(session, ctx, doc.id)
    if kept is not None:
        return kept
    pdf = await converter.to_pdf(ctx.settings, opened_content(ctx, doc))
    await _keep(maker, ctx, doc.id, pdf)
    return pdf


def ahead(state: State, ctx: Context, document_id: int) -> BackgroundTask | None:
    """The task that makes a just-issued notice's PDF after the response (settings.pdf_ahead)."""
    if not ctx.settings.pdf_ahead:
        return None
    return BackgroundTask(prerender, state.sessionmaker, ctx, document_id)


async def prerender(
    maker: async_sessionmaker[AsyncSession], ctx: Context, document_id: int
) -> None:
    """Make and keep a just-issued notice's PDF (after the issuing response was sent), so the
    first download is as fast as the others. A failure is only logged: that download makes it."""
    try:
        async with maker() as session:
            doc = await session.get(CaseDocument, document_id)
            if doc is None or await stored(session, ctx, document_id) is not None:
                return
            docx = opened_content(ctx, doc)
        pdf = await converter.to_pdf(ctx.settings, docx)
        await _keep(maker, ctx, document_id, pdf)
    except Exception:
        log.exception("PDF of document %s not made ahead; its first download makes it", document_id)
