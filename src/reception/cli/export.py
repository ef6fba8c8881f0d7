"""`reception export review`: the monthly review as JSON, CSV or XLSX."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncSession

from reception.cli.common import main, run_in_transaction
from reception.context import Context


@main.group()
def export() -> None:
    """Exports for the office's meetings."""


@export.command("review")
@click.option("--month", required=True, help="YYYY-MM")
@click.option(
    "--unit", "unit_id", type=int, default=None, help="Unit subtree (default: the district)"
)
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
@click.option(
    "--format", "fmt", type=click.Choice(["json", "csv", "xlsx"]), default="xlsx", show_default=True
)
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), required=True)
@click.option("--unmasked", is_flag=True, help="Petitioners' names in full (audited).")
def export_review(
    month: str, unit_id: int | None, as_of: Any, fmt: str, out: str, unmasked: bool
) -> None:
    """The 书记点评会 monthly review as XLSX, CSV or JSON."""
    import re

    from reception.reports import service as reports
    from reception.reports import writers

    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise click.BadParameter("须为 YYYY-MM 格式", param_hint="--month")

    async def work(session: AsyncSession, ctx: Context) -> dict[str, Any]:
        return await reports.review(
            session=session,
            ctx=ctx,
            actor=None,
            month=month,
            unit_id=unit_id,
            as_of=as_of.date() if as_of else None,
            unmasked=unmasked,
        )

    report = run_in_transaction(work)
    with open(out, "wb") as handle:
        handle.write(writers.WRITERS[fmt](report))
    total = report["total"]
    click.echo(
        f"{out}: {report['unit']['name']} {month} (as of {report['as_of']}): "
        f"{total['new_cases']} new cases, {len(report['units'])} units, "
        f"{len(report['overdue_cases'])} overdue"
    )
