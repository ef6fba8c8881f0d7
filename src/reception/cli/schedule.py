"""`reception calendar …` and `reception rules …`: the working-day calendar and reception rules."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncSession

from reception.cli.common import main, run_in_transaction
from reception.context import Context
from reception.errors import DomainError


@main.group()
def calendar() -> None:
    """The working-day calendar (holidays and 调休 make-up working days)."""


@calendar.command("show")
@click.argument("year", type=int)
def calendar_show(year: int) -> None:
    """Show a year: official or provisional, holidays and make-up working days."""
    from reception.workcal import service as workcal

    async def work(session: AsyncSession, ctx: Context) -> tuple[Any, list[Any]]:
        return await workcal.get_year(session=session, year=year)

    row, days = run_in_transaction(work)
    state = "official" if row.official else "PROVISIONAL (no official schedule imported)"
    click.echo(f"{year}: {state}; source: {row.source}")
    for day in days:
        label = "休" if day.kind == "holiday" else "班"
        click.echo(
            f"  {day.day.isoformat()} {'一二三四五六日'[day.day.weekday()]} {label} {day.name}"
        )


@calendar.command("import")
@click.argument("year", type=int)
@click.option(
    "--json", "json_file", type=click.File("rb"), help='{"holidays": [...], "workdays": [...]}'
)
@click.option("--ics", "ics_file", type=click.File("rb"), help="ICS of the State Council schedule")
@click.option("--provisional", is_flag=True, help="The data is not the official schedule yet.")
def calendar_import(year: int, json_file: Any, ics_file: Any, provisional: bool) -> None:
    """Import or correct a year from a JSON or ICS file (replaces the year)."""
    import msgspec

    from reception.cases.clocks import apply_calendar_year
    from reception.workcal import schemas as wschemas
    from reception.workcal import service as workcal

    if bool(json_file) == bool(ics_file):
        raise click.UsageError("请给出 --json 或 --ics 中的一个")
    if json_file:
        try:
            data = msgspec.json.decode(json_file.read(), type=wschemas.YearPut)
        except msgspec.ValidationError as exc:
            raise click.ClickException(f"JSON 文件有误:{exc}") from exc
        holidays, workdays = workcal.days_of(data.holidays), workcal.days_of(data.workdays)
        source = "json"
    else:
        try:
            holidays, workdays = workcal.parse_ics(ics_file.read(), year)
        except DomainError as exc:
            raise click.ClickException(exc.detail) from exc
        source = "ics"

    async def work(session: AsyncSession, ctx: Context) -> Any:
        return await apply_calendar_year(
            session=session,
            actor=None,
            year=year,
            holidays=holidays,
            workdays=workdays,
            official=not provisional,
            source=source,
        )

    run_in_transaction(work)
    click.echo(
        f"{year}: {len(holidays)} holidays, {len(workdays)} make-up working days "
        f"({'provisional' if provisional else 'official'})"
    )


@main.group()
def rules() -> None:
    """Reception rules (接访日制度)."""


@rules.command("list")
def rules_list() -> None:
    """List reception rules."""
    from sqlmodel import col, select

    from reception.scheduling.models import ReceptionRule

    async def work(session: AsyncSession, ctx: Context) -> list[Any]:
        return list(await session.scalars(select(ReceptionRule).order_by(col(ReceptionRule.id))))

    for r in run_in_transaction(work):
        state = "" if r.active else " [inactive]"
        click.echo(
            f"{r.id:>4}  leader {r.leader_id:<4} day {r.day_of_month:<2} "
            f"{r.start_time:%H:%M}-{r.end_time:%H:%M} venue {r.venue_id} {r.holiday_policy}{state}"
        )


@rules.command("generate")
@click.argument("rule_id", type=int)
@click.option("--until", required=True, type=click.DateTime(formats=["%Y-%m-%d"]))
def rules_generate(rule_id: int, until: Any) -> None:
    """Create a rule's sessions up to --until (idempotent)."""
    from reception.scheduling import generation

    async def work(session: AsyncSession, ctx: Context) -> Any:
        return await generation.generate(
            session=session, ctx=ctx, actor=None, rule_id=rule_id, until=until.date()
        )

    result = run_in_transaction(work)
    for s in result.created:
        flag = " (provisional)" if s.provisional else ""
        click.echo(f"created  {s.local_date.isoformat()} session {s.id}{flag}")
    for s in result.updated:
        click.echo(f"realigned {s.local_date.isoformat()} session {s.id}")
    for skip in result.skipped:
        click.echo(f"skipped  {skip.rule_date.isoformat()}: {skip.reason}")
