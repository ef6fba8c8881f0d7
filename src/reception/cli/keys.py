"""`reception keys new | add | rotate | check`: the data keys."""

from __future__ import annotations

import asyncio

import click

from reception.cli.common import command_context, main
from reception.db import create_engine, create_sessionmaker


@main.group()
def keys() -> None:
    """The data keys that seal petitioners' data (RECEPTION_DATA_KEYS)."""


@keys.command("new")
def keys_new() -> None:
    """Print a new key document (JSON) for RECEPTION_DATA_KEYS or keys.json; keep it secret
    and back it up apart from the database."""
    import json

    from reception.crypto import new_keys_document

    click.echo(json.dumps(new_keys_document()))


@keys.command("check")
def keys_check() -> None:
    """Check that the data keys open this database's sealed data (as start-up does)."""
    command_context(check_keys=True)
    click.echo("数据密钥正确:能打开数据库中的加密数据 / the data keys open the data")


@keys.command("add")
@click.option(
    "--print",
    "print_only",
    is_flag=True,
    help="Print the new key document instead of writing keys.json (for RECEPTION_DATA_KEYS).",
)
def keys_add(print_only: bool) -> None:
    """Add a new data key and make it the active one (older keys stay, to read old values).

    Then restart every server with the new document, and run `reception keys rotate`."""
    import json
    import os

    from reception.crypto import KEY_FILE

    ctx = command_context()
    keys = ctx.keys.with_new_active_key()
    key_id = keys.active
    text = json.dumps(keys.document(), indent=1)
    if print_only or ctx.settings.data_keys.strip():
        click.echo(text)
        click.echo(
            f"新的启用密钥 {key_id}:请把以上 JSON 设为 RECEPTION_DATA_KEYS 并重启所有服务,"
            "然后运行 reception keys rotate。/ set it as RECEPTION_DATA_KEYS, restart, rotate.",
            err=True,
        )
        return
    path = ctx.settings.data_dir / KEY_FILE
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)
    click.echo(
        f"{path}: 新的启用密钥 {key_id}(旧密钥保留)。请重启服务,再运行 reception keys rotate;"
        "并重新备份此文件。/ new active key added: restart, then rotate; back the file up."
    )


@keys.command("rotate")
@click.option("--batch", default=500, show_default=True, type=click.IntRange(1, 10_000))
def keys_rotate(batch: int) -> None:
    """Re-seal every value still under an older key with the active one: in short batches,
    while the service keeps serving; stopped half-way, it resumes where it was."""
    from reception import datakeys

    ctx = command_context(check_keys=True)

    def report(p: datakeys.Progress) -> None:
        if p.total:
            click.echo(f"{p.column}: {p.done}/{p.total}", err=True)

    async def runner() -> dict[str, int]:
        engine = create_engine(ctx.settings)
        try:
            return await datakeys.rotate(
                create_sessionmaker(engine, ctx.clock), ctx.keys, batch=batch, report=report
            )
        finally:
            await engine.dispose()

    done = asyncio.run(runner())
    old = sorted(k for k in ctx.keys.data if k != ctx.keys.active)
    click.echo(
        f"已用密钥 {ctx.keys.active} 重新加密 {sum(done.values())} 个值。"
        + (f"旧密钥 {', '.join(old)} 可在所有服务重启后从密钥文档中删除。" if old else "")
        + f" / re-sealed {sum(done.values())} values under {ctx.keys.active}"
    )
