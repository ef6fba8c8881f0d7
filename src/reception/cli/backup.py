"""`reception backup` and `reception restore`: the embedded database, online."""

from __future__ import annotations

import asyncio

import click

from reception.cli.common import main
from reception.config import get_settings
from reception.context import Context
from reception.db import create_engine, create_sessionmaker


@main.command()
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True)
def backup(out: str) -> None:
    """Copy the embedded SQLite database to OUT while the service runs (SQLite's online
    backup API). It holds sealed values and blind indexes only: back the keys up apart.
    PostgreSQL: use pg_dump (README)."""
    import sqlite3
    from pathlib import Path

    from sqlalchemy.engine import make_url

    settings = get_settings()
    if not settings.is_sqlite:
        raise click.ClickException(
            "PostgreSQL 请用 pg_dump 备份(见 README“备份与恢复”)/ use pg_dump on PostgreSQL"
        )
    source = make_url(settings.database_url).database or ""
    if not Path(source).is_file():
        raise click.ClickException(f"数据库文件 {source} 不存在")
    target = Path(out)
    if target.exists():
        raise click.ClickException(f"{out} 已存在:请换一个文件名(不覆盖旧备份)")
    with sqlite3.connect(source) as live, sqlite3.connect(target) as copy:
        live.backup(copy)
    target.chmod(0o600)
    click.echo(
        f"已备份到 {out}({target.stat().st_size} 字节)。备份中只有密文和盲索引:"
        "数据密钥(keys.json 或 RECEPTION_DATA_KEYS)须另行备份,没有它备份无法读取。"
    )


@main.command()
@click.option("--from", "source", type=click.Path(exists=True, dir_okay=False), required=True)
@click.option("--yes", is_flag=True, help="Replace the current database without asking.")
def restore(source: str, yes: bool) -> None:
    """Replace the embedded SQLite database with a backup (stop the service first). The keys
    it was sealed with must be the ones configured: they are checked before it is put in."""
    import sqlite3
    from pathlib import Path

    from sqlalchemy.engine import make_url

    from reception import datakeys
    from reception.crypto import KeyError_

    settings = get_settings()
    if not settings.is_sqlite:
        raise click.ClickException("PostgreSQL 请用 pg_restore / psql 恢复(见 README)")
    try:
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as probe:
            probe.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise click.ClickException(f"{source} 不是本服务的数据库备份:{exc}") from exc
    target = Path(make_url(settings.database_url).database or "")
    if target.exists() and not yes:
        click.confirm(f"用 {source} 替换 {target}?(请先停止服务)", abort=True)
    staged = target.with_name(target.name + ".restoring")
    staged.unlink(missing_ok=True)
    with sqlite3.connect(source) as backup_db, sqlite3.connect(staged) as copy:
        backup_db.backup(copy)
    # The keys must open the backup before it replaces anything.
    import dataclasses

    staged_settings = dataclasses.replace(settings, database_url=f"sqlite+aiosqlite:///{staged}")

    async def probe_keys() -> None:
        engine = create_engine(staged_settings)
        staged_ctx = Context.of(staged_settings)
        try:
            async with create_sessionmaker(engine, staged_ctx.clock)() as session:
                await datakeys.check(session, staged_ctx.keys)
        finally:
            await engine.dispose()

    try:
        asyncio.run(probe_keys())
    except KeyError_ as exc:
        staged.unlink(missing_ok=True)
        raise click.ClickException(f"备份未恢复:{exc}") from exc
    for suffix in ("-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    staged.replace(target)
    click.echo(f"已从 {source} 恢复 {target}")
