"""`reception serve`: migrate, then serve the API, the console and the feeds."""

from __future__ import annotations

import logging
from typing import Any

import click

from reception.cli.common import command_context, main


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes (use several on PostgreSQL).",
)
@click.option("--no-migrate", is_flag=True, help="Do not apply pending migrations first.")
def serve(host: str, port: int, workers: int, no_migrate: bool) -> None:
    """Apply pending migrations, then serve the API."""
    import dataclasses
    import os

    import uvicorn

    from reception.documents.converter import PdfServer

    # Refuse to start (a clear message naming RECEPTION_DATA_KEYS) when the data keys are
    # missing or do not open this database's data.
    settings = command_context(check_keys=True, migrate_first=not no_migrate).settings
    if "RECEPTION_PUBLIC_URL" not in os.environ:
        # Feed links must point at this server.
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        settings = dataclasses.replace(settings, public_url=f"http://{shown}:{port}")
        click.echo(
            f"RECEPTION_PUBLIC_URL not set: feed links will use {settings.public_url}", err=True
        )
    click.echo(
        f"reception on http://{host}:{port} (API docs: /schema) database: "
        f"{'SQLite' if settings.is_sqlite else 'PostgreSQL'}",
        err=True,
    )
    # Access logs hold URLs, and feed URLs hold secret tokens: keep them out of logs.
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": settings.log_level.lower(),
        "access_log": False,
    }
    # LibreOffice kept warm for the notices' PDFs, for every worker (started in the
    # background: until it answers, a PDF is made the cold way).
    pdf = PdfServer(settings)
    pdf.start(wait=0)
    try:
        if workers == 1:
            # One process: hand it the app built from these very settings.
            from reception.app import create_app

            logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
            uvicorn.run(create_app(settings), **common)
            return
        # Worker processes build their app from the environment: pass what was decided here.
        os.environ["RECEPTION_PUBLIC_URL"] = settings.public_url
        uvicorn.run("reception.app:factory", factory=True, workers=workers, **common)
    finally:
        pdf.stop()
