"""The `reception` command: serve, migrate, demo data, users and tokens."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncSession

from reception.base import ROLES
from reception.config import get_settings
from reception.context import Context
from reception.db import create_engine, create_sessionmaker, migrate
from reception.errors import Broken, DomainError

T = TypeVar("T")


def _context(*, check_keys: bool = False, migrate_first: bool = True) -> Context:
    """This command's settings, clock and data keys — or a clear refusal when the keys are
    missing or (`check_keys`, after migrating) do not open the data. Commands work on a new
    database too: it is brought to the current schema first (idempotent)."""
    from reception import datakeys
    from reception.crypto import KeyError_

    try:
        ctx = Context.of(get_settings())
        if migrate_first:
            migrate(ctx.settings.database_url, "upgrade", "head")
        if check_keys:

            async def probe() -> None:
                engine = create_engine(ctx.settings)
                try:
                    async with create_sessionmaker(engine)() as session:
                        await datakeys.check(session, ctx.keys)
                finally:
                    await engine.dispose()

            asyncio.run(probe())
    except KeyError_ as exc:
        raise click.ClickException(str(exc)) from exc
    return ctx


def _run_in_transaction(work: Callable[[AsyncSession, Context], Awaitable[T]]) -> T:
    """Run `work` in one committed transaction against the configured database, with the
    settings and the clock of this command (read from the environment once)."""
    ctx = _context()

    async def runner() -> T:
        engine = create_engine(ctx.settings)
        try:
            async with create_sessionmaker(engine)() as session:
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


# ---------------------------------------------------------------- serve


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

    # Refuse to start (a clear message naming RECEPTION_DATA_KEYS) when the data keys are
    # missing or do not open this database's data.
    settings = _context(check_keys=True, migrate_first=not no_migrate).settings
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
    if workers == 1:
        # One process: hand it the app built from these very settings.
        from reception.app import create_app

        logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
        uvicorn.run(create_app(settings), **common)
        return
    # Worker processes build their app from the environment: pass what was decided here.
    os.environ["RECEPTION_PUBLIC_URL"] = settings.public_url
    uvicorn.run("reception.app:factory", factory=True, workers=workers, **common)


# ---------------------------------------------------------------- db


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


# ---------------------------------------------------------------- demo


@main.command()
@click.option("--org-only", is_flag=True, help="Only the org chart and logins, no schedule.")
def demo(org_only: bool) -> None:
    """Load the demo data (idempotent) and print a new token for each demo login.

    The org chart of 蓟州区, and unless --org-only: a 20th-day reception rule for every
    district leader with 12 months of sessions (6 back, 6 ahead), appointments and field visits.
    """
    from reception.demo import (
        DemoLogin,
        load_cases,
        load_incidents,
        load_org,
        load_schedule,
        measured,
        portal_example,
    )

    async def work(
        session: AsyncSession, ctx: Context
    ) -> tuple[list[DemoLogin], dict[str, int], dict[str, Any], Any]:
        logins = await load_org(session, ctx.settings.data_dir)
        counts: dict[str, int] = {}
        figures: dict[str, Any] = {}
        example = None
        if not org_only:
            counts = await load_schedule(session, ctx)
            counts |= {f"case_{k}": v for k, v in (await load_cases(session, ctx)).items()}
            counts["incidents"] = await load_incidents(session, ctx)
            await session.flush()
            figures = await measured(session, ctx)
            example = await portal_example(session, ctx)
        return logins, counts, figures, example

    logins, counts, figures, example = _run_in_transaction(work)
    if counts:
        click.echo(
            "Demo schedule: {rules} new rules, {sessions} new reception sessions, "
            "{appointments} appointments, {field_visits} field visits; "
            "{case_cases} new cases, {incidents} incidents".format(**counts)
        )
    if figures:

        def pct(key: str) -> str:
            value = figures[key]
            return "—" if value is None else f"{value * 100:.1f}%"

        click.echo(
            f"演示数据近一年(按月报口径实测,{figures['new_cases']} 件):"
            f"重复信访占比 {pct('repeat_share')}(2020年 64.6%)、"
            f"信网电占比 {pct('remote_share')}(>70%)、"
            f"及时受理率 {pct('timely_accept_rate')}(99.76%)、"
            f"按期办结率 {pct('on_time_handle_rate')}(98.50%)、"
            f"满意率 {pct('satisfaction_rate')}(92.49%)、"
            f"群众参评率 {pct('participation_rate')}"
        )
    from reception.demo.org import DEMO_PASSWORD

    click.echo(
        f"Demo logins — console: sign in with the username and the password {DEMO_PASSWORD}; "
        "API: Authorization: Bearer <token> (kept in the data directory's demo-tokens.json, "
        "the same on every run)"
    )
    for login in logins:
        click.echo(
            f"  {login.role:<10} {login.name:<6} {login.username:<10} user {login.user_id:<3} "
            f"{login.token}  {login.note}"
        )
    if example:
        reference, code, last4 = example
        click.echo(
            f"信访人查询页 /public:查询码 {code},手机号后4位 {last4}({reference},可查看进度并评价)"
        )


# ---------------------------------------------------------------- notifications


@main.command()
@click.option("--once", is_flag=True, help="Deliver what is due now, then stop")
def worker(once: bool) -> None:
    """Deliver the outbox (webhooks, DingTalk / WeCom robots) and run the daily reminder job.

    `reception serve` does the same in each process (RECEPTION_OUTBOX_WORKER=0 turns that
    off); several workers are safe: deliveries are claimed under a lease.
    """
    import httpx

    from reception.notify import worker as notify_worker

    ctx = _context(check_keys=True)

    async def runner() -> int:
        engine = create_engine(ctx.settings)
        maker = create_sessionmaker(engine)
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

    click.echo(f"sent {asyncio.run(runner())}")


@main.group()
def jobs() -> None:
    """Scheduled jobs (the worker runs them by itself once a day)."""


@jobs.command("daily")
def jobs_daily() -> None:
    """Deadline reminders, overdue escalations and tomorrow's digest, now (idempotent)."""
    from reception.notify import jobs as notify_jobs

    done = _run_in_transaction(lambda session, ctx: notify_jobs.daily(session, ctx))
    click.echo(
        f"reminders {done.reminders}, escalations {done.escalations}, digests {done.digests}"
    )


# ---------------------------------------------------------------- calendar and rules


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

    row, days = _run_in_transaction(work)
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

    _run_in_transaction(work)
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

    for r in _run_in_transaction(work):
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

    result = _run_in_transaction(work)
    for s in result.created:
        flag = " (provisional)" if s.provisional else ""
        click.echo(f"created  {s.local_date.isoformat()} session {s.id}{flag}")
    for s in result.updated:
        click.echo(f"realigned {s.local_date.isoformat()} session {s.id}")
    for skip in result.skipped:
        click.echo(f"skipped  {skip.rule_date.isoformat()}: {skip.reason}")


# ---------------------------------------------------------------- exports


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

    report = _run_in_transaction(work)
    with open(out, "wb") as handle:
        handle.write(writers.WRITERS[fmt](report))
    total = report["total"]
    click.echo(
        f"{out}: {report['unit']['name']} {month} (as of {report['as_of']}): "
        f"{total['new_cases']} new cases, {len(report['units'])} units, "
        f"{len(report['overdue_cases'])} overdue"
    )


# ---------------------------------------------------------------- written notices


async def _case_id(session: AsyncSession, ref: str) -> int:
    """A case by its id or its reference number (蓟信〔2026〕00012)."""
    from sqlmodel import select

    from reception.cases.models import PetitionCase

    if ref.isdigit():
        return int(ref)
    found = await session.scalar(select(PetitionCase.id).where(PetitionCase.reference == ref))
    if found is None:
        raise click.ClickException(f"没有编号为 {ref} 的信访事项")
    return int(found)


@main.group()
def documents() -> None:
    """Written notices (告知书, 意见书, 送达回证) of a case."""


@documents.command("issue")
@click.argument("case")
@click.argument("kind")
@click.option("--on", "on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="NAME=VALUE",
    help="What the clerk writes: facts, basis, decision, redirect_to, transferred_to, note…",
)
@click.option("--for-document", "for_document_id", type=int, default=None)
@click.option("--supersedes", type=int, default=None, help="The document this one corrects.")
def documents_issue(
    case: str,
    kind: str,
    on: Any,
    fields: tuple[str, ...],
    for_document_id: int | None,
    supersedes: int | None,
) -> None:
    """Issue a notice of CASE (id or reference); KIND as in GET /api/document-kinds."""
    import msgspec

    from reception.documents import schemas
    from reception.documents import service as docs

    body: dict[str, Any] = {"kind": kind}
    for item in fields:
        name, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"须为 名称=内容:{item}", param_hint="--field")
        body[name.strip()] = value
    if on is not None:
        body["on"] = on.date().isoformat()
    if for_document_id is not None:
        body["for_document_id"] = for_document_id
    if supersedes is not None:
        body["supersedes"] = supersedes
    try:
        data = msgspec.convert(body, schemas.DocumentIssue)
    except msgspec.ValidationError as exc:
        import re

        from reception.messages import body_allowed, translate

        message = str(exc)
        named = re.search(r"`\$\.(\w+)`|unknown field `(\w+)`", message)
        where = next((g for g in named.groups() if g), "") if named else ""
        text = translate(message, body_allowed(schemas.DocumentIssue, where))
        raise click.ClickException(f"{where}:{text}" if where else text) from exc

    async def work(session: AsyncSession, ctx: Context) -> Any:
        case_id = await _case_id(session, case)
        return await docs.issue(session=session, ctx=ctx, actor=None, case_id=case_id, data=data)

    doc = _run_in_transaction(work)
    click.echo(f"{doc.id}  {doc.number}  {doc.title}  {doc.issued_on.isoformat()}")


@documents.command("list")
@click.argument("case")
def documents_list(case: str) -> None:
    """The documents of CASE (id or reference), with their delivery."""
    from reception.documents import service as docs
    from reception.documents.kinds import METHOD_LABELS

    async def work(session: AsyncSession, ctx: Context) -> list[Any]:
        case_id = await _case_id(session, case)
        return await docs.documents_of(session=session, principal=None, case_id=case_id)

    for doc, delivery, corrected_by in _run_in_transaction(work):
        served = (
            f"{METHOD_LABELS[delivery.method]} {delivery.delivered_on.isoformat()}"
            if delivery
            else "未送达"
        )
        note = f"  (已被 {corrected_by} 更正)" if corrected_by else ""
        click.echo(f"{doc.id:>5}  {doc.number}  {doc.title}  {served}{note}")


@documents.command("get")
@click.argument("document_id", type=int)
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), required=True)
@click.option("--pdf", is_flag=True, help="As PDF (needs LibreOffice), instead of DOCX.")
def documents_get(document_id: int, out: str, pdf: bool) -> None:
    """Write the document as issued (DOCX, or PDF from it) to OUT."""
    from reception.documents import rendering
    from reception.documents import service as docs

    async def work(session: AsyncSession, ctx: Context) -> Any:
        return await docs.readable_content(
            session=session, ctx=ctx, principal=None, document_id=document_id
        )

    doc, content = _run_in_transaction(work)
    if pdf:
        try:
            content = asyncio.run(rendering.to_pdf(content))
        except rendering.NoConverter as exc:
            raise click.ClickException(str(exc)) from exc
    with open(out, "wb") as handle:
        handle.write(content)
    click.echo(f"{out}: {doc.number} {doc.title} ({len(content)} bytes)")


# ---------------------------------------------------------------- data keys


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
    _context(check_keys=True)
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

    ctx = _context()
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

    ctx = _context(check_keys=True)

    def report(p: datakeys.Progress) -> None:
        if p.total:
            click.echo(f"{p.column}: {p.done}/{p.total}", err=True)

    async def runner() -> dict[str, int]:
        engine = create_engine(ctx.settings)
        try:
            return await datakeys.rotate(
                create_sessionmaker(engine), ctx.keys, batch=batch, report=report
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


# ---------------------------------------------------------------- backup


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
        try:
            async with create_sessionmaker(engine)() as session:
                await datakeys.check(session, Context.of(staged_settings).keys)
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


# ---------------------------------------------------------------- users and tokens


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
def user_add(
    name: str, role: str, leaders: tuple[int, ...], unit_id: int | None, label: str
) -> None:
    """Create a user; the new API token is printed alone on the last line."""
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
        return created, token

    created, token = _run_in_transaction(work)
    click.echo(f"created user {created.id} {created.name} ({created.role})")
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

    for u, links in _run_in_transaction(work):
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

    row = _run_in_transaction(work)
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

    click.echo(_run_in_transaction(work))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
