"""`reception documents issue | list | get`: written notices from the command line."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncSession

from reception.cli.common import main, run_in_transaction
from reception.config import get_settings
from reception.context import Context


async def _case_id(session: AsyncSession, ref: str) -> int:
    """A case by its id or its reference number (蓟信〔2026〕00012)."""
    from sqlmodel import select

    from reception.cases.models import PetitionCase

    if ref.isdigit():
        return int(ref)
    found = await session.scalar(select(PetitionCase.id).where(PetitionCase.reference == ref))
    if found is None:
        raise click.ClickException(f"没有编号为 {ref} 的信访事项")
    return int(found)


@main.group()
def documents() -> None:
    """Written notices (告知书, 意见书, 送达回证) of a case."""


@documents.command("issue")
@click.argument("case")
@click.argument("kind")
@click.option("--on", "on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="NAME=VALUE",
    help="What the clerk writes: facts, basis, decision, redirect_to, transferred_to, note…",
)
@click.option("--for-document", "for_document_id", type=int, default=None)
@click.option("--supersedes", type=int, default=None, help="The document this one corrects.")
def documents_issue(
    case: str,
    kind: str,
    on: Any,
    fields: tuple[str, ...],
    for_document_id: int | None,
    supersedes: int | None,
) -> None:
    """Issue a notice of CASE (id or reference); KIND as in GET /api/document-kinds."""
    import msgspec

    from reception.documents import schemas
    from reception.documents import service as docs

    body: dict[str, Any] = {"kind": kind}
    for item in fields:
        name, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"须为 名称=内容:{item}", param_hint="--field")
        body[name.strip()] = value
    if on is not None:
        body["on"] = on.date().isoformat()
    if for_document_id is not None:
        body["for_document_id"] = for_document_id
    if supersedes is not None:
        body["supersedes"] = supersedes
    try:
        data = msgspec.convert(body, schemas.DocumentIssue)
    except msgspec.ValidationError as exc:
        import re

        from reception.messages import body_allowed, translate

        message = str(exc)
        named = re.search(r"`\$\.(\w+)`|unknown field `(\w+)`", message)
        where = next((g for g in named.groups() if g), "") if named else ""
        text = translate(message, body_allowed(schemas.DocumentIssue, where))
        raise click.ClickException(f"{where}:{text}" if where else text) from exc

    async def work(session: AsyncSession, ctx: Context) -> Any:
        case_id = await _case_id(session, case)
        return await docs.issue(session=session, ctx=ctx, actor=None, case_id=case_id, data=data)

    doc = run_in_transaction(work)
    click.echo(f"{doc.id}  {doc.number}  {doc.title}  {doc.issued_on.isoformat()}")


@documents.command("list")
@click.argument("case")
def documents_list(case: str) -> None:
    """The documents of CASE (id or reference), with their delivery."""
    from reception.cases.delivery import METHOD_LABELS
    from reception.documents import service as docs

    async def work(session: AsyncSession, ctx: Context) -> list[Any]:
        case_id = await _case_id(session, case)
        return await docs.documents_of(session=session, principal=None, case_id=case_id)

    for doc, delivery, corrected_by in run_in_transaction(work):
        served = (
            f"{METHOD_LABELS[delivery.method]} {delivery.delivered_on.isoformat()}"
            if delivery
            else "未送达"
        )
        note = f"  (已被 {corrected_by} 更正)" if corrected_by else ""
        click.echo(f"{doc.id:>5}  {doc.number}  {doc.title}  {served}{note}")


@documents.command("get")
@click.argument("document_id", type=int)
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), required=True)
@click.option("--pdf", is_flag=True, help="As PDF (needs LibreOffice), instead of DOCX.")
def documents_get(document_id: int, out: str, pdf: bool) -> None:
    """Write the document as issued (DOCX, or PDF from it) to OUT."""
    from reception.documents import converter
    from reception.documents import service as docs

    async def work(session: AsyncSession, ctx: Context) -> Any:
        return await docs.readable_content(
            session=session, ctx=ctx, principal=None, document_id=document_id
        )

    doc, content = run_in_transaction(work)
    if pdf:
        try:
            content = converter.convert(get_settings(), content)
        except converter.NoConverter as exc:
            raise click.ClickException(str(exc)) from exc
    with open(out, "wb") as handle:
        handle.write(content)
    click.echo(f"{out}: {doc.number} {doc.title} ({len(content)} bytes)")
