"""`reception keys new | add | rotate | check`: the data keys."""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
from pathlib import Path

import click

from reception.cli.common import command_context, main
from reception.context import Context
from reception.crypto import KEY_BYTES, Keyring
from reception.db import create_engine, create_sessionmaker


@main.group()
def keys() -> None:
    """The data keys that seal petitioners' data (RECEPTION_DATA_KEYS)."""


SUITE = click.Choice(["aes", "sm"])


@keys.command("new")
@click.option("--suite", type=SUITE, default="aes", show_default=True)
@click.option(
    "--kek-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Wrap the keys with the key-encryption key in this file (base64 of 16 bytes: SM4, "
    "32: AES); it is created if missing. The document then names the file, not the keys.",
)
def keys_new(suite: str, kek_file: Path | None) -> None:
    """Print a new key document (JSON) for RECEPTION_DATA_KEYS or keys.json; keep it secret
    and back it up apart from the database."""
    import json

    from reception.crypto import FileKek, new_keys_document

    if kek_file is None:
        click.echo(json.dumps(new_keys_document(suite)))
        return
    if not kek_file.exists():
        fd = os.open(kek_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.b64encode(secrets.token_bytes(KEY_BYTES[suite])).decode())
        click.echo(f"已生成密钥加密密钥 {kek_file}(权限0600),请与密钥文档分开保管。", err=True)
    config = {"provider": "file", "path": str(kek_file.resolve())}
    doc = new_keys_document(suite, FileKek.from_config(config))
    click.echo(json.dumps({**doc, "kek": config}))


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
@click.option(
    "--suite", type=SUITE, default=None, help="The key's cipher suite (default: the one in use)."
)
def keys_add(print_only: bool, suite: str | None) -> None:
    """Add a new data key and make it the active one (older keys stay, to read old values).

    Then restart every server with the new document, and run `reception keys rotate`."""
    ctx = command_context()
    _write_document(ctx, ctx.keys.with_new_active_key(suite), print_only=print_only)


def _write_document(ctx: Context, keys: Keyring, *, print_only: bool) -> None:
    """The key document written to keys.json (or printed, for RECEPTION_DATA_KEYS)."""
    import json

    from reception.crypto import KEY_FILE

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
@click.option(
    "--to-suite",
    type=SUITE,
    default=None,
    help="Move the data to this cipher suite (sm: SM4-GCM, HMAC-SM3): its active key seals, "
    "and blind indexes are recomputed. A key of the suite is added first if there is none.",
)
def keys_rotate(batch: int, to_suite: str | None) -> None:
    """Re-seal every value still under an older key with the active one: in short batches,
    while the service keeps serving; stopped half-way, it resumes where it was."""
    import dataclasses

    from reception import datakeys

    ctx = command_context(check_keys=True)
    if to_suite is not None and to_suite != ctx.keys.suite:
        if to_suite not in ctx.keys.actives:
            if ctx.settings.data_keys.strip():
                _write_document(ctx, ctx.keys.with_new_active_key(to_suite), print_only=True)
                raise SystemExit(1)
            _write_document(ctx, ctx.keys.with_new_active_key(to_suite), print_only=False)
            ctx = command_context(check_keys=True)
        ctx = dataclasses.replace(ctx, keys=dataclasses.replace(ctx.keys, suite=to_suite))
        click.echo(
            f"改用 {to_suite} 套件重新加密:请同时以 RECEPTION_CIPHER_SUITE={to_suite} 重启所有服务;"
            "之后再运行一次本命令,把重启前写入的值也改过来。/ restart every server with "
            f"RECEPTION_CIPHER_SUITE={to_suite}, then run this again.",
            err=True,
        )

    def report(p: datakeys.Progress) -> None:
        if p.total:
            click.echo(f"{p.column}: {p.done}/{p.total}", err=True)

    async def runner() -> dict[str, int]:
        engine = create_engine(ctx.settings)
        try:
            return await datakeys.rotate(
                create_sessionmaker(engine, ctx.clock, ctx.keys),
                ctx.keys,
                batch=batch,
                report=report,
            )
        finally:
            await engine.dispose()

    done = asyncio.run(runner())
    old = sorted(k for k in ctx.keys.data if k != ctx.keys.active)
    remove = "旧密钥 {} 可在所有服务重启后从密钥文档中删除" + (
        "(连同 active 中其他套件的一项)。"
        if any(k in old for s, k in ctx.keys.actives.items() if s != ctx.keys.suite)
        else "。"
    )
    click.echo(
        f"已用密钥 {ctx.keys.active} 重新加密 {sum(done.values())} 个值。"
        + (remove.format(", ".join(old)) if old else "")
        + f" / re-sealed {sum(done.values())} values under {ctx.keys.active}"
    )
