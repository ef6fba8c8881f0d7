"""`reception user …` and `reception token …`: logins and API tokens."""

from __future__ import annotations

import sys
from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncSession

from reception.base import ROLES
from reception.cli.common import main, run_in_transaction
from reception.context import Context
from reception.errors import Broken


@main.group()
def user() -> None:
    """Users and their roles."""


@user.command("add")
@click.argument("name")
@click.option(
    "--role",
    required=True,
    type=click.Choice(ROLES),
)
@click.option(
    "--leader",
    "leaders",
    multiple=True,
    type=int,
    help="Leader id: the leaders a secretary acts for, or a leader's own record.",
)
@click.option("--unit", "unit_id", type=int, help="Unit id: a clerk's unit.")
@click.option("--label", default="cli", help="Label of the first token.")
@click.option(
    "--username",
    default=None,
    help="Also a console login: a first password is made and printed once (to be changed at "
    "the first sign-in) — how the first security and audit administrators get in.",
)
def user_add(
    name: str,
    role: str,
    leaders: tuple[int, ...],
    unit_id: int | None,
    label: str,
    username: str | None,
) -> None:
    """Create a user; the new API token is printed alone on the last line."""
    import secrets

    from reception.org import signin

    first = f"Rc-{secrets.token_urlsafe(12)}" if username else ""
    from reception.org import schemas
    from reception.org import service as org

    if role == "leader" and len(leaders) > 1:
        raise click.UsageError("领导账号只能关联一位领导(一个 --leader)")

    async def work(session: AsyncSession, ctx: Context) -> tuple[Any, str]:
        data = schemas.UserCreate(
            name=name,
            role=role,  # type: ignore[arg-type]
            unit_id=unit_id,
            leader_id=leaders[0] if role == "leader" and leaders else None,
            leader_ids=list(leaders) if role != "leader" else [],
        )
        created = await org.create_user(session=session, actor=None, data=data)
        if created.id is None:
            raise Broken("expected: created.id is not None")
        _, token = await org.issue_token(
            session=session, actor=None, user_id=created.id, label=label
        )
        if username:
            await signin.set_password(
                session=session,
                ctx=ctx,
                actor=None,
                user_id=created.id,
                username=username,
                password=first,
            )
        return created, token

    created, token = run_in_transaction(work)
    click.echo(f"created user {created.id} {created.name} ({created.role})")
    if username:
        click.echo(f"用户名 {username},初始密码 {first}(只显示这一次,首次登录须修改)")
    click.echo(token)


@user.command("list")
@click.option("--role", default=None)
def user_list(role: str | None) -> None:
    """List users with their roles and links."""
    from reception.org import service as org

    async def work(session: AsyncSession, ctx: Context) -> list[tuple[Any, list[int]]]:
        rows, _ = await org.list_users(session=session, limit=10_000, offset=0, role=role)
        ids = [u.id for u in rows if u.id is not None]
        links = await org.linked_leader_ids(session=session, user_ids=ids)
        return [(u, links[u.id]) for u in rows if u.id is not None]

    for u, links in run_in_transaction(work):
        extra = []
        if u.unit_id:
            extra.append(f"unit={u.unit_id}")
        if u.leader_id:
            extra.append(f"leader={u.leader_id}")
        if links:
            extra.append("leaders=" + ",".join(map(str, links)))
        state = "" if u.active else " [inactive]"
        click.echo(f"{u.id:>4}  {u.role:<10} {u.name}{state}  {' '.join(extra)}")


@main.group()
def token() -> None:
    """API tokens."""


@token.command("revoke")
@click.argument("token_id_or_token")
def token_revoke(token_id_or_token: str) -> None:
    """Revoke a token, given its id or the token itself."""
    from sqlmodel import select

    from reception.auth import hash_token
    from reception.org import service as org
    from reception.org.models import ApiToken

    async def work(session: AsyncSession, ctx: Context) -> Any:
        if token_id_or_token.isdigit():
            token_id = int(token_id_or_token)
        else:
            found = await session.scalar(
                select(ApiToken.id).where(ApiToken.token_hash == hash_token(token_id_or_token))
            )
            if found is None:
                raise click.ClickException("没有这个令牌")
            token_id = found
        return await org.revoke_token(session=session, actor=None, token_id=token_id)

    row = run_in_transaction(work)
    click.echo(f"revoked token {row.id} ({row.prefix}…) of user {row.user_id}")


@token.command("add")
@click.argument("user_id", type=int)
@click.option("--label", default="cli")
def token_add(user_id: int, label: str) -> None:
    """Issue a new token for a user; printed alone on the last line."""
    from reception.org import service as org

    async def work(session: AsyncSession, ctx: Context) -> str:
        _, tok = await org.issue_token(session=session, actor=None, user_id=user_id, label=label)
        return tok

    click.echo(run_in_transaction(work))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
