"""What every `reception` command shares: the command group, this command's context (settings,
clock, data keys; the database brought to the current schema first) and one committed
transaction to work in."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncSession

from reception.config import get_settings
from reception.context import Context
from reception.db import create_engine, create_sessionmaker, migrate
from reception.errors import DomainError

T = TypeVar("T")


def command_context(*, check_keys: bool = False, migrate_first: bool = True) -> Context:
    """This command's settings, clock and data keys — or a clear refusal when the keys are
    missing or (`check_keys`, after migrating) do not open the data. Commands work on a new
    database too: it is brought to the current schema first (idempotent)."""
    from reception import datakeys
    from reception.crypto import KeyError_
    from reception.notify import outbox

    # Audited writes of a command become outbox events too, as in the service.
    outbox.listen()
    try:
        ctx = Context.of(get_settings())
        if migrate_first:
            migrate(ctx.settings.database_url, "upgrade", "head")
        if check_keys:

            async def probe() -> None:
                engine = create_engine(ctx.settings)
                try:
                    async with create_sessionmaker(engine, ctx.clock, ctx.keys)() as session:
                        await datakeys.check(session, ctx.keys)
                finally:
                    await engine.dispose()

            asyncio.run(probe())
    except KeyError_ as exc:
        raise click.ClickException(str(exc)) from exc
    return ctx


def run_in_transaction(work: Callable[[AsyncSession, Context], Awaitable[T]]) -> T:
    """Run `work` in one committed transaction against the configured database, with the
    settings and the clock of this command (read from the environment once)."""
    ctx = command_context()

    async def runner() -> T:
        engine = create_engine(ctx.settings)
        try:
            async with create_sessionmaker(engine, ctx.clock, ctx.keys)() as session:
                result = await work(session, ctx)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    try:
        return asyncio.run(runner())
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc


@click.group()
@click.version_option(package_name="reception")
def main() -> None:
    """reception: 接访日、下访与领导包案 service of a petition office."""
