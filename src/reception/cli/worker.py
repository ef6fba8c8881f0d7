"""`reception worker` and `reception jobs daily`: notifications out of the outbox."""

from __future__ import annotations

import asyncio

import click

from reception.cli.common import command_context, main, run_in_transaction
from reception.db import create_engine, create_sessionmaker


@main.command()
@click.option("--once", is_flag=True, help="Deliver what is due now, then stop")
def worker(once: bool) -> None:
    """Deliver the outbox (webhooks, DingTalk / WeCom robots) and run the daily reminder job.

    `reception serve` does the same in each process (RECEPTION_OUTBOX_WORKER=0 turns that
    off); several workers are safe: deliveries are claimed under a lease.
    """
    import httpx

    from reception.documents.converter import PdfServer
    from reception.notify import worker as notify_worker

    ctx = command_context(check_keys=True)
    # The notices' PDFs are made by the service's processes; a worker on its own machine
    # keeps LibreOffice warm for them there (`serve` does the same where it runs).
    pdf = PdfServer(ctx.settings)
    if not once:
        pdf.start(wait=0)

    async def runner() -> int:
        engine = create_engine(ctx.settings)
        maker = create_sessionmaker(engine, ctx.clock, ctx.keys)
        try:
            if not once:
                await notify_worker.run_forever(maker, ctx)
            async with httpx.AsyncClient() as http:
                sent = 0
                while n := await notify_worker.run_once(maker, ctx, http):
                    sent += n
                return sent
        finally:
            await engine.dispose()

    try:
        click.echo(f"sent {asyncio.run(runner())}")
    finally:
        pdf.stop()


@main.group()
def jobs() -> None:
    """Scheduled jobs (the worker runs them by itself once a day)."""


@jobs.command("daily")
def jobs_daily() -> None:
    """Deadline reminders, overdue escalations and tomorrow's digest, now (idempotent)."""
    from reception.notify import jobs as notify_jobs

    done = run_in_transaction(lambda session, ctx: notify_jobs.daily(session, ctx))
    click.echo(
        f"reminders {done.reminders}, escalations {done.escalations}, digests {done.digests}, "
        f"missed check-ins {done.missed_check_ins}, overdue ledger entries {done.ledger_overdue}, "
        f"overdue rectifications {done.rectifications_overdue}, "
        f"overdue decisions {done.decisions_overdue}"
    )
