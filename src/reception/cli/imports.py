"""`reception import cases | sessions | villages | rollback | list`: an office's spreadsheet ledgers in,
from the command line (the same dry run and import as the console's)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncSession

from reception.cli.common import main, run_in_transaction
from reception.context import Context


@main.group("import")
def import_group() -> None:
    """Ledgers from Excel/CSV: 信访台账 (cases) and past reception days (sessions)."""


def _bring_in(
    kind: str,
    file: Path,
    sheet: str | None,
    mapping_file: Path | None,
    unit: int | None,
    dry_run: bool,
    report_file: Path | None,
) -> None:
    from reception.imports import runs, service
    from reception.imports.cases import VERDICTS

    mapping: dict[str, str] | None = None
    if mapping_file is not None:
        try:
            mapping = json.loads(mapping_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise click.ClickException(
                f'无法读取映射文件 {mapping_file}:应为 UTF-8 编码的 JSON,如 {{"来源": "信访形式"}}'
            ) from exc
        if not isinstance(mapping, dict):
            raise click.ClickException('映射文件应为 JSON 对象:{"表头": "字段", …}')

    content = file.read_bytes()

    async def upload(session: AsyncSession, ctx: Context) -> Any:
        batch = await service.upload(
            session=session,
            ctx=ctx,
            actor=None,
            kind=kind,
            file_name=file.name,
            data=content,
            sheet=sheet,
            default_unit_id=unit,
        )
        if mapping:
            await service.set_mapping(
                session=session, actor=None, batch_id=batch.id or 0, mapping=mapping
            )
        return batch.id, dict(batch.mapping or {})

    from reception.imports.mapping import FIELDS

    batch_id, chosen = run_in_transaction(upload)
    click.echo(f"导入批次 {batch_id};各列对应的内容:")
    for header, field in chosen.items():
        label = FIELDS[kind][field].label if field in FIELDS[kind] else "(不导入)"
        click.echo(f"  {header} → {label}")

    async def tried(session: AsyncSession, ctx: Context) -> Any:
        data = b""
        if report_file is not None:
            _, data = await runs.report(session=session, ctx=ctx, actor=None, batch_id=batch_id)
        _, outcome, _ = await runs.dry_run(session=session, ctx=ctx, actor=None, batch_id=batch_id)
        return runs.shown_counts(outcome), data

    counts, data = run_in_transaction(tried)
    if report_file is not None:
        report_file.write_bytes(data)
    click.echo("试运行:" + ",".join(f"{VERDICTS[k]} {n}" for k, n in counts.items()))
    if report_file is not None:
        click.echo(f"逐行核对报告:{report_file}")
    if dry_run:
        return

    async def done(session: AsyncSession, ctx: Context) -> Any:
        _, outcome = await runs.run_import(session=session, ctx=ctx, actor=None, batch_id=batch_id)
        return runs.shown_counts(outcome)

    counts = run_in_transaction(done)
    click.echo("已导入:" + ",".join(f"{VERDICTS[k]} {n}" for k, n in counts.items()))


def _options(f: Any) -> Any:
    f = click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))(f)
    f = click.option("--sheet", default=None, help="工作表名(默认第一个)")(f)
    f = click.option(
        "--mapping",
        "mapping_file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help='JSON:{"表头": "字段"},字段为空串表示不导入该列',
    )(f)
    f = click.option("--unit", type=int, default=None, help="未写责任单位的行归入此单位")(f)
    f = click.option("--dry-run", is_flag=True, help="只核对,不导入")(f)
    f = click.option(
        "--report",
        "report_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="逐行核对报告(XLSX)写到此文件",
    )(f)
    return f


@import_group.command("cases")
@_options
def import_cases(
    file: Path,
    sheet: str | None,
    mapping_file: Path | None,
    unit: int | None,
    dry_run: bool,
    report_file: Path | None,
) -> None:
    """信访台账 FILE (.xlsx, .xls, .csv): dry run, then import (unless --dry-run)."""
    _bring_in("cases", file, sheet, mapping_file, unit, dry_run, report_file)


@import_group.command("sessions")
@_options
def import_sessions(
    file: Path,
    sheet: str | None,
    mapping_file: Path | None,
    unit: int | None,
    dry_run: bool,
    report_file: Path | None,
) -> None:
    """领导接访/下访台账 FILE (date, leader, petitioner, matter): held sessions."""
    _bring_in("sessions", file, sheet, mapping_file, unit, dry_run, report_file)


@import_group.command("rollback")
@click.argument("batch_id", type=int)
def import_rollback(batch_id: int) -> None:
    """Take an import back as a whole (while nothing was done on its records since)."""
    from reception.imports import runs

    async def work(session: AsyncSession, ctx: Context) -> Any:
        return await runs.rollback(session=session, ctx=ctx, actor=None, batch_id=batch_id)

    batch = run_in_transaction(work)
    click.echo(f"导入批次 {batch.id} 已撤销")


@import_group.command("list")
def import_list() -> None:
    """The latest imports: id, kind, status, file, counts."""
    from reception.imports import service

    async def work(session: AsyncSession, ctx: Context) -> Any:
        return await service.list_batches(session=session, actor=None)

    from reception.imports.cases import VERDICTS
    from reception.imports.pages import KINDS, STATUS_LABELS

    for b in run_in_transaction(work):
        counts = b.counts or b.dry_counts or {}
        said = ",".join(f"{VERDICTS[k]} {n}" for k, n in counts.items() if k in VERDICTS)
        kind, status = KINDS.get(b.kind, b.kind), STATUS_LABELS.get(b.status, b.status)
        click.echo(f"{b.id}\t{kind}\t{status}\t{b.file_name}\t{said}")


@import_group.command("villages")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--sheet", default=None, help="工作表名(默认第一个)")
@click.option("--dry-run", is_flag=True, help="只核对,不新建")
def import_villages(file: Path, sheet: str | None, dry_run: bool) -> None:
    """村(社区)名单 FILE (名称, 所属乡镇(街道), 村/社区): the villages under their townships."""
    from reception.imports import units

    content = file.read_bytes()

    async def work(session: AsyncSession, ctx: Context) -> Any:
        rows = await units.read_villages(session=session, actor=None, data=content, sheet=sheet)
        made = 0
        if not dry_run:
            todo = [(v.name, v.township_id) for v in rows if v.verdict == "create"]
            made = await units.add_villages(
                session=session, actor=None, villages=[(n, t) for n, t in todo if t is not None]
            )
        return rows, made

    rows, made = run_in_transaction(work)
    for v in rows:
        if v.verdict == "error":
            click.echo(f"第 {v.line} 行:{v.reason}")
    counts = {k: sum(1 for v in rows if v.verdict == k) for k in ("create", "same", "error")}
    click.echo(f"新建 {counts['create']},已有 {counts['same']},有错误 {counts['error']}")
    if not dry_run:
        click.echo(f"已新建 {made} 个村(社区)")
