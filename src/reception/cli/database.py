"""`reception db upgrade | downgrade | current`: the schema's migrations."""

from __future__ import annotations

import click

from reception.cli.common import main
from reception.config import get_settings
from reception.db import migrate


@main.group()
def db() -> None:
    """Database migrations (Alembic)."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Upgrade to REVISION (default: head)."""
    migrate(get_settings().database_url, "upgrade", revision)


@db.command("downgrade")
@click.argument("revision", default="-1")
def db_downgrade(revision: str) -> None:
    """Downgrade to REVISION (default: one step; 'base' empties the schema)."""
    migrate(get_settings().database_url, "downgrade", revision)


@db.command("current")
def db_current() -> None:
    """Show the current revision."""
    migrate(get_settings().database_url, "current")
