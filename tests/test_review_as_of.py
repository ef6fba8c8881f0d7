"""The monthly review as of a day inside the month: only what had happened by then counts.

A hand-built November 2026 in 下仓镇 (dates from the 2026 calendar; start day not counted; a
period ending on a weekend ends on the next working day). Accept = 15 days from receipt,
handle = 60 days from acceptance. "·" marks what has not happened by 11-16.

case  received/registered  channel  accept due         accepted     handle due      replied   evaluated
P     11-03 / 11-03        online   11-18              11-10 (ok)   01-09           —         —
Q     11-20 / 11-20        letter   12-07              —            —               —         —        (repeat of P)
R     10-20 / 10-20        letter   11-04              11-10 (late) 01-09           11-25·    —
S     10-25 / 10-25        visit    11-09              11-09 (ok)   01-08           —         —
T     10-31 / 10-31        visit    11-16 (Sun 15→16)  never        —               —         —
U     10-28 / 11-20 补录    visit    11-12              11-20 (late) 01-19           —         —
V     09-01 / 09-01        phone    (Sept)             09-02        11-02 (Sun 1→2) 11-05 late 11-12 满意
W     09-15 / 09-15        phone    (Sept)             09-15        11-16 (Sat 14→16) 11-10 ok 11-20· 不满意
X     09-14 / 09-14        phone    (Sept)             09-14        11-13           never     —

As of 11-16 (a Monday):
- new: P only (Q and U registered 11-20) → 1 new, 1 first-time, 0 repeat, 信网电 1/1.
- 及时受理率: clocks due 11-01..11-16 with an outcome by 11-16: R (late), S (ok). T is due on
  11-16 itself and still open: not counted, not overdue. P is due 11-18; U unknown yet → 1/2.
- 按期办结率: V (due 11-02, late), W (due 11-16, replied 11-10: ok), X (due 11-13, open: a
  miss) → 1/3.
- replies 11-01..11-16: V, W → 参评 1/2 (W evaluated only on 11-20), 满意 1/1.
- 超期受理: R (accepted late in the month) → 1; 超期办理: X (open past due), V (late) → 2.
- The overdue list shows R as 受理 (its reply on 11-25 had not happened).
As of 11-30:
- new: P, Q, U → 3, first-time 2, repeat 1; 信网电 P, Q → 2/3.
- 及时受理率: P ok, R late, S ok, T open past due, U late → 2/5.
- 按期办结率: V late, W ok, X open → 1/3. replies V, W, R → 参评 2/3, 满意 1/2.
- 超期受理: T (open), R and U (late) → 3; 超期办理 2.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.builders import World, build_world, case_body, served
from tests.conftest import auth


async def _case(
    client: httpx.AsyncClient,
    world: World,
    name: str,
    channel: str,
    received: str,
    registered: str | None = None,
    unit: str = "township_a",
    **extra: Any,
) -> int:
    body = case_body(
        world,
        petitioners=[{"name": name, "phone": f"1390000{sum(map(ord, name)) % 10000:04d}"}],
        unit_id=getattr(world, unit),
        channel=channel,
        received_on=received,
        on=registered or received,
        **extra,
    )
    r = await client.post("/api/cases", json=body, headers=auth(world.tokens["clerk_district"]))
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def _do(client: httpx.AsyncClient, world: World, case_id: int, **body: Any) -> None:
    r = await client.post(
        f"/api/cases/{case_id}/transitions", json=body, headers=auth(world.tokens["clerk_district"])
    )
    assert r.status_code == 200, r.text


async def _reply(client: httpx.AsyncClient, world: World, cid: int, on: str) -> None:
    await _do(
        client,
        world,
        cid,
        action="reply",
        on=on,
        doc_number=f"蓟信复〔2026〕{cid}号",
        delivery=served(on),
    )


async def _evaluate(client: httpx.AsyncClient, world: World, cid: int, how: str, on: str) -> None:
    r = await client.put(
        f"/api/cases/{cid}/evaluation",
        json={"satisfaction": how, "on": on},
        headers=auth(world.tokens["clerk_district"]),
    )
    assert r.status_code == 200, r.text


@pytest.fixture
async def november(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> tuple[World, dict[str, int]]:
    world = await build_world(sessionmaker)
    c: dict[str, int] = {}
    c["P"] = await _case(client, world, "潘某甲", "online", "2026-11-03")
    c["Q"] = await _case(client, world, "潘某甲", "letter", "2026-11-20", repeat_of=c["P"])
    c["R"] = await _case(client, world, "任某乙", "letter", "2026-10-20")
    c["S"] = await _case(client, world, "宋某丙", "visit", "2026-10-25")
    c["T"] = await _case(client, world, "唐某丁", "visit", "2026-10-31")
    c["U"] = await _case(client, world, "于某戊", "visit", "2026-10-28", "2026-11-20")
    c["V"] = await _case(client, world, "魏某己", "phone", "2026-09-01")
    c["W"] = await _case(client, world, "吴某庚", "phone", "2026-09-15")
    c["X"] = await _case(client, world, "谢某辛", "phone", "2026-09-14")
    for key, day in [
        ("P", "2026-11-10"),
        ("R", "2026-11-10"),
        ("S", "2026-11-09"),
        ("U", "2026-11-20"),
        ("V", "2026-09-02"),
        ("W", "2026-09-15"),
        ("X", "2026-09-14"),
    ]:
        await _do(client, world, c[key], action="accept", on=day)
    await _reply(client, world, c["V"], "2026-11-05")
    await _reply(client, world, c["W"], "2026-11-10")
    await _reply(client, world, c["R"], "2026-11-25")
    await _evaluate(client, world, c["V"], "satisfied", "2026-11-12")
    await _evaluate(client, world, c["W"], "dissatisfied", "2026-11-20")
    return world, c


async def _review(client: httpx.AsyncClient, world: World, as_of: str) -> dict[str, Any]:
    r = await client.get(
        "/api/reports/review",
        params={"month": "2026-11", "as_of": as_of},
        headers=auth(world.tokens["reviewer"]),
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _figures(row: dict[str, Any]) -> tuple[Any, ...]:
    keys = (
        "new_cases",
        "first_time",
        "repeat",
        "remote",
        "accept_due",
        "accept_on_time",
        "handle_due",
        "handle_on_time",
        "replied",
        "evaluated",
        "satisfied",
        "overdue_accept",
        "overdue_handle",
    )
    return tuple(row[k] for k in keys)


async def test_mid_month_counts_only_what_had_happened(
    client: httpx.AsyncClient, november: tuple[World, dict[str, int]]
) -> None:
    world, c = november
    mid = await _review(client, world, "2026-11-16")
    row = next(u for u in mid["units"] if u["unit_name"] == "下仓镇")
    assert _figures(row) == (1, 1, 0, 1, 2, 1, 3, 1, 2, 1, 1, 1, 2)
    assert (row["timely_accept_rate"], row["on_time_handle_rate"]) == (0.5, 0.3333)
    assert (row["participation_rate"], row["satisfaction_rate"]) == (0.5, 1.0)
    # The lists as they stood on 11-16: R was accepted (its reply came on 11-25); T, due that
    # day, is not overdue yet; U had not been registered.
    listed = {(o["reference"][-2:], o["type"], o["stage"]) for o in mid["overdue_cases"]}
    ref = {k: f"{v:02d}"[-2:] for k, v in c.items()}
    assert (ref["R"], "受理", "受理") in listed
    assert all(o["reference"][-2:] not in (ref["T"], ref["U"]) for o in mid["overdue_cases"])
    assert {(o["type"], o["stage"]) for o in mid["overdue_cases"] if o["type"] == "办理"} == {
        ("办理", "已答复"),  # V, replied late on 11-05
        ("办理", "受理"),  # X, not replied
    }

    end = await _review(client, world, "2026-11-30")
    row = next(u for u in end["units"] if u["unit_name"] == "下仓镇")
    assert _figures(row) == (3, 2, 1, 2, 5, 2, 3, 1, 3, 2, 1, 3, 2)
    assert (row["timely_accept_rate"], row["participation_rate"]) == (0.4, 0.6667)
    assert row["satisfaction_rate"] == 0.5
    notes = {d["key"]: d["definition"] for d in end["definitions"]}
    assert "收到信访事项之日起15日" in notes["timely_accept_rate"]
    assert "截至统计日" in notes["timely_accept_rate"] and "不算超期" in notes["timely_accept_rate"]
    assert "不按天数" in notes["leaders"] and "含已取消" in notes["leaders"]
    assert notes["missing"] != notes["no_data"]


# ---------------------------------------------------------------- the oracle

# The rules, as an independent reader of the spec and the 说明 would count them in plain SQL
# over the raw tables (not the product's helpers). :first, :until (= min(month end, as_of)),
# :as_of. Every case here belongs to one of the report's rows (no villages).
ORACLE = {
    "new_cases": """
        SELECT unit_id, count(*) FROM petition_case
        WHERE registered_on BETWEEN :first AND :until GROUP BY unit_id""",
    "first_time": """
        SELECT unit_id, count(*) FROM petition_case
        WHERE registered_on BETWEEN :first AND :until AND first_time GROUP BY unit_id""",
    "accept_due": """
        SELECT p.unit_id, count(*) FROM case_clock k JOIN petition_case p ON p.id = k.case_id
        WHERE k.kind = 'accept' AND k.status <> 'void' AND p.registered_on <= :as_of
          AND k.current_due BETWEEN :first AND :until
          AND ((k.status = 'met' AND k.met_on <= :as_of) OR k.current_due < :as_of)
        GROUP BY p.unit_id""",
    "accept_on_time": """
        SELECT p.unit_id, count(*) FROM case_clock k JOIN petition_case p ON p.id = k.case_id
        WHERE k.kind = 'accept' AND k.status = 'met' AND k.on_time AND k.met_on <= :as_of
          AND p.registered_on <= :as_of AND k.current_due BETWEEN :first AND :until
        GROUP BY p.unit_id""",
    "handle_due": """
        SELECT p.unit_id, count(*) FROM case_clock k JOIN petition_case p ON p.id = k.case_id
        WHERE k.kind IN ('handle', 'simple') AND k.status <> 'void' AND p.registered_on <= :as_of
          AND k.current_due BETWEEN :first AND :until
          AND ((k.status = 'met' AND k.met_on <= :as_of) OR k.current_due < :as_of)
        GROUP BY p.unit_id""",
    "replied": """
        SELECT unit_id, count(*) FROM petition_case
        WHERE replied_on BETWEEN :first AND :until GROUP BY unit_id""",
    "evaluated": """
        SELECT unit_id, count(*) FROM petition_case
        WHERE replied_on BETWEEN :first AND :until
          AND satisfaction <> 'not_evaluated' AND evaluated_on <= :as_of GROUP BY unit_id""",
    # 超期: unmet past its due date on the as-of day, or met late within the month by then —
    # counted by case (the review's list carries the clocks; the figure counts cases).
    **{
        figure: f"""
        SELECT p.unit_id, count(DISTINCT k.case_id) FROM case_clock k
        JOIN petition_case p ON p.id = k.case_id
        WHERE k.kind IN ({kinds}) AND p.registered_on <= :as_of
          AND ((k.status <> 'void' AND k.current_due < :as_of
                AND (k.met_on IS NULL OR k.met_on > :as_of))
            OR (k.status = 'met' AND NOT k.on_time AND k.met_on BETWEEN :first AND :until))
        GROUP BY p.unit_id"""
        for figure, kinds in (
            ("overdue_accept", "'accept'"),
            ("overdue_handle", "'handle', 'simple'"),
        )
    },
}


async def test_the_export_equals_plain_sql_over_the_tables(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    november: tuple[World, dict[str, int]],
) -> None:
    world, _ = november
    # A second unit, so that grouping is tested too.
    other = await _case(client, world, "邦某壬", "online", "2026-11-02", unit="township_b")
    await _do(client, world, other, action="accept", on="2026-11-18")
    names = {world.township_a: "下仓镇", world.township_b: "邦均镇"}
    checked = 0
    for as_of in ("2026-11-05", "2026-11-16", "2026-11-18", "2026-11-30", "2026-12-01"):
        report = await _review(client, world, as_of)
        rows = {u["unit_name"]: u for u in report["units"]}
        params = {
            "first": date(2026, 11, 1),
            "until": min(date(2026, 11, 30), date.fromisoformat(as_of)),
            "as_of": date.fromisoformat(as_of),
        }
        async with sessionmaker() as s:
            for figure, sql in ORACLE.items():
                counted = {uid: n for uid, n in (await s.execute(text(sql), params)).all()}
                for unit_id, name in names.items():
                    assert rows[name][figure] == counted.get(unit_id, 0), (as_of, name, figure)
                    checked += 1
                assert report["total"][figure] == sum(counted.values()), (as_of, figure)
    assert checked == 5 * len(ORACLE) * 2
