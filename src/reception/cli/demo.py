"""`reception demo`: the demo office (idempotent) and its logins."""

from __future__ import annotations

import time
from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncSession

from reception.audit.service import signed_as
from reception.cli.common import main, run_in_transaction
from reception.context import Context

# Who the demo's made-up history is signed by, on timelines and in the audit log.
DEMO_ACTOR = "演示数据"


@main.command()
@click.option("--org-only", is_flag=True, help="Only the org chart and logins, no schedule.")
@click.option(
    "--cases",
    "case_count",
    default=600,
    show_default=True,
    type=click.IntRange(10, 5000),
    help="Cases over the last year (a small demo, e.g. for tests: --cases 40).",
)
def demo(org_only: bool, case_count: int) -> None:
    """Load the demo data (idempotent) and print a new token for each demo login.

    The org chart of 蓟州区, and unless --org-only: a 20th-day reception rule for every
    district leader with 12 months of sessions (6 back, 6 ahead), appointments and field visits.
    """
    from reception.demo import (
        DemoLogin,
        load_cases,
        load_incidents,
        load_ledger,
        load_org,
        load_proxy,
        load_schedule,
        load_supervision,
        measured,
        portal_example,
    )

    async def work(
        session: AsyncSession, ctx: Context
    ) -> tuple[list[DemoLogin], dict[str, int], dict[str, Any], Any]:
        with signed_as(DEMO_ACTOR):
            return await _load(session, ctx)

    async def _load(
        session: AsyncSession, ctx: Context
    ) -> tuple[list[DemoLogin], dict[str, int], dict[str, Any], Any]:
        logins = await load_org(session, ctx.settings.data_dir)
        counts: dict[str, int] = {}
        figures: dict[str, Any] = {}
        example = None
        if not org_only:
            counts = await load_schedule(session, ctx)
            cases = await load_cases(session, ctx, count=case_count)
            counts |= {f"case_{k}": v for k, v in cases.items()}
            counts["incidents"] = await load_incidents(session, ctx)
            counts |= await load_ledger(session, ctx, scale=min(1.0, case_count / 600))
            counts |= await load_proxy(session, ctx)
            counts |= await load_supervision(session, ctx)
            await session.flush()
            figures = await measured(session, ctx)
            example = await portal_example(session, ctx)
        return logins, counts, figures, example

    started = time.perf_counter()
    logins, counts, figures, example = run_in_transaction(work)
    took = time.perf_counter() - started
    if counts:
        click.echo(
            "Demo schedule: {rules} new rules, {sessions} new reception sessions, "
            "{appointments} appointments, {field_visits} field visits; "
            "{case_cases} new cases, {incidents} incidents, "
            "{ledger_entries} 矛盾纠纷台账 entries, {spot_checks} spot checks with {findings} "
            "findings, {inquiries} 流调, {decisions} 联席会议 decisions, "
            "{proxy_filings} 网格员代办".format(**counts)
            + f" ({took:.1f} s)"
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
