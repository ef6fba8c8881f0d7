"""`reception audit verify | archive`: the audit trail as evidence."""

from __future__ import annotations

import asyncio
import time
from datetime import date
from pathlib import Path

import click

from reception.cli.common import command_context, main
from reception.db import SQLITE_WRITE, create_engine, create_sessionmaker


@main.group()
def audit() -> None:
    """The audit trail: verify its hash chain, archive what is past the retention."""


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter("日期格式应为 2026-12-01") from exc


@audit.command("verify")
@click.option("--from", "since", default=None, help="Start at the checkpoint before this day.")
def audit_verify(since: str | None) -> None:
    """Walk the hash chain and the signed daily checkpoints; exit 1 at the first broken link."""
    from reception.audit import service

    ctx = command_context()
    started = time.perf_counter()

    async def runner() -> service.chain.Verdict:
        engine = create_engine(ctx.settings)
        try:
            async with create_sessionmaker(engine, ctx.clock, ctx.keys)() as session:
                return await service.verify_trail(
                    session=session, audit_key=ctx.keys.audit_seal()[1], since=_day(since)
                )
        finally:
            await engine.dispose()

    verdict = asyncio.run(runner())
    seconds = time.perf_counter() - started
    click.echo(f"{verdict.summary()}(用时 {seconds:.1f} 秒)")
    if not verdict.intact:
        raise SystemExit(1)


@audit.command("archive")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The JSONL file to write (never overwritten); its checksum is written beside it.",
)
@click.option("--before", default=None, help="Only rows before this day (and past retention).")
def audit_archive(out: Path, before: str | None) -> None:
    """Export the rows past RECEPTION_AUDIT_RETENTION_DAYS (at least 180) to JSONL with a
    checksum, then remove them from the database."""
    from reception.audit import service

    ctx = command_context()
    if out.exists():
        raise click.ClickException(f"{out} 已存在:归档文件从不覆盖")

    async def runner() -> tuple[int, Path | None]:
        engine = create_engine(ctx.settings)
        try:
            async with create_sessionmaker(engine, ctx.clock, ctx.keys)() as session:
                await session.connection(execution_options={SQLITE_WRITE: True})
                done = await service.archive(
                    session=session,
                    now=ctx.now(),
                    retention_days=ctx.settings.audit_retention_days,
                    before=_day(before),
                    suite=ctx.keys.suite,
                    out=out,
                )
                await session.commit()
                return done
        finally:
            await engine.dispose()

    count, sums = asyncio.run(runner())
    if not count:
        click.echo("没有超过留存期限的审计记录,未归档。")
        return
    click.echo(
        f"已归档 {count} 条审计记录到 {out}(校验值 {sums}),并已从数据库移除。请妥善保存这两个文件。"
    )
