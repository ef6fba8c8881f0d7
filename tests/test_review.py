"""The monthly review on a hand-built October 2026, every figure worked out by hand below.

Units: 下仓镇 (township A, with the village 小杨家庄村), 邦均镇 (township B), 区住建委 (department).
As of 2026-10-31.

Case  unit         channel registered  notes
 A    下仓镇        online  10-09       first-time; accepted 10-12 (accept due 10-24 Sat → 10-26)
 B    小杨家庄村→A  visit   10-15       repeat of C; not accepted (accept due 10-30): overdue 1 day
 C    下仓镇        letter  09-16       first-time; accept due 10-08 (国庆), accepted 10-09: late
 D    邦均镇        phone   08-10       accepted 08-12 → handle due 10-11 Sun → 10-12; replied 10-10,
                                       delivered 10-13 (after the handling period); 满意 10-15;
                                       resolved 10-20; owned by 张某丙 since 08-12
 E    邦均镇        online  08-03       accepted 08-05 → handle due 10-04 (国庆) → 10-08; never
                                       replied: overdue 23 days; owned by 李某乙 since 08-05
 F    区住建委      letter  08-20       accepted 08-21 → handle due 10-20; replied 10-16, no
                                       delivery record, not evaluated
 G    邦均镇        online  10-20       repeat of D; accepted 10-21 (accept due 11-04: not October)

Per unit for October:
 下仓镇:  new 2 (A, B), first 1, repeat 1, remote 1 (A);
          accept clocks due: A (on time), B (running), C (late) → 1/3;
          overdue acceptance: B (running past 10-30) and C (met late) = 2.
 邦均镇:  new 1 (G, repeat, online); handle clocks due: D (on time), E (running) → 1/2;
          replied 1 (D), evaluated 1, satisfied 1; overdue handling: E = 1.
 区住建委: handle due 1 (F, on time) → 1/1; replied 1, evaluated 0 → 参评率 0, 满意率 — (0/0).
 Total:   new 3, first 1, repeat 2 (2/3), remote 2/3; 及时受理率 1/3; 按期办结率 2/3;
          参评率 1/2; 满意率 1/1.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.context import Context, FixedClock
from reception.scheduling import booking
from reception.scheduling import schemas as sched
from tests.builders import OTHER_ID, World, build_world, case_body, served
from tests.conftest import NOW, assert_problem, auth

MONTH = "2026-10"


async def _case(
    client: httpx.AsyncClient,
    world: World,
    name: str,
    unit: int,
    channel: str,
    registered: str,
    **extra: Any,
) -> int:
    body = case_body(
        world,
        petitioners=[{"name": name, "phone": f"1390000{len(name):04d}"}],
        unit_id=unit,
        channel=channel,
        received_on=registered,
        on=registered,
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


@pytest.fixture
async def october(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    ctx: Context,
    clock: FixedClock,
) -> tuple[World, dict[str, int]]:
    world = await build_world(sessionmaker)
    clerk = auth(world.tokens["clerk_district"])
    c = await _case(client, world, "陈老三", world.township_a, "letter", "2026-09-16")
    a = await _case(client, world, "张小明", world.township_a, "online", "2026-10-09")
    b = await _case(client, world, "陈老三", world.village_a, "visit", "2026-10-15", repeat_of=c)
    d = await _case(client, world, "李大华", world.township_b, "phone", "2026-08-10")
    e = await _case(client, world, "王二妹", world.township_b, "online", "2026-08-03")
    f = await _case(client, world, "赵小红", world.department, "letter", "2026-08-20")
    g = await _case(client, world, "李大华", world.township_b, "online", "2026-10-20", repeat_of=d)
    await _do(client, world, a, action="accept", on="2026-10-12")
    await _do(client, world, c, action="accept", on="2026-10-09")
    await _do(client, world, d, action="accept", on="2026-08-12")
    await _do(
        client,
        world,
        d,
        action="reply",
        on="2026-10-10",
        doc_number="邦信复〔2026〕3号",
        delivery=served("2026-10-13", "mail"),
    )
    await client.put(
        f"/api/cases/{d}/evaluation",
        json={"satisfaction": "satisfied", "on": "2026-10-15"},
        headers=clerk,
    )
    await client.put(
        f"/api/cases/{d}/resolution",
        json={"resolution": "resolved", "on": "2026-10-20", "method": "调解"},
        headers=clerk,
    )
    await _do(client, world, e, action="accept", on="2026-08-05")
    await _do(client, world, f, action="accept", on="2026-08-21")
    await _do(client, world, f, action="reply", on="2026-10-16", doc_number="住建信复〔2026〕9号")
    await _do(client, world, g, action="accept", on="2026-10-21")
    for case_id, leader, on in ((d, "deputy", "2026-08-12"), (e, "mayor", "2026-08-05")):
        r = await client.post(
            f"/api/cases/{case_id}/ownership",
            json={"leader_id": world.leaders[leader], "on": on},
            headers=clerk,
        )
        assert r.status_code == 201, r.text
    r = await client.post(
        "/api/campaigns",
        json={
            "name": "积案化解专项",
            "case_ids": [a, c, d, e],
            "targets": [
                {"due_on": "2026-09-30", "percent": 32},
                {"due_on": "2026-12-31", "percent": 80},
            ],
        },
        headers=clerk,
    )
    assert r.status_code == 201, r.text

    # Reception days: 10-20 held with two appointments (one linked to case A, one not); 10-27
    # cancelled. Field visits: 张某丙 10-22 held with no case (应登不登); 刘某丁 10-23 held, case E.
    admin = auth(world.tokens["admin"])

    def body(leader: str, kind: str, day: str, start: str, end: str) -> dict[str, Any]:
        place = {"venue_id": world.venue} if kind == "reception" else {"unit_id": world.township_b}
        return {
            "leader_id": world.leaders[leader],
            "kind": kind,
            "starts_at": f"{day}T{start}:00+08:00",
            "ends_at": f"{day}T{end}:00+08:00",
            **place,
        }

    held = (
        await client.post(
            "/api/sessions",
            json=body("mayor", "reception", "2026-10-20", "09:00", "10:00"),
            headers=admin,
        )
    ).json()["id"]
    cancelled = (
        await client.post(
            "/api/sessions",
            json=body("mayor", "reception", "2026-10-27", "09:00", "10:00"),
            headers=admin,
        )
    ).json()["id"]
    async with sessionmaker() as s:
        # Booked on 10-15, before the reception day.
        then = ctx.with_clock(FixedClock(datetime.fromisoformat("2026-10-15T09:00+08:00")))
        for case_id in (a, None):
            made = await booking.book(
                session=s,
                ctx=then,
                actor=None,
                session_id=held,
                data=sched.AppointmentCreate(
                    petitioner_name="来访人", matter_summary="诉求", case_id=case_id
                ),
            )
            for status in ("checked_in", "completed"):
                await booking.transition_appointment(
                    session=s,
                    ctx=ctx,
                    actor=None,
                    appointment_id=made.appointment.id or 0,
                    to=status,
                )
        await s.commit()
    assert (
        await client.post(f"/api/sessions/{held}/hold", json={"outcome": "接访2人"}, headers=admin)
    ).status_code == 200
    # Cancelled on 10-26 (a cancellation is dated by the clock, not by the request).
    clock.set(datetime.fromisoformat("2026-10-26T15:00:00+08:00"))
    await client.post(
        f"/api/sessions/{cancelled}/cancel", json={"reason": "赴市开会"}, headers=admin
    )
    clock.set(datetime.fromisoformat(NOW))
    visit = (
        await client.post(
            "/api/sessions",
            json=body("deputy", "field_visit", "2026-10-22", "14:00", "16:00"),
            headers=admin,
        )
    ).json()["id"]
    await client.post(f"/api/sessions/{visit}/hold", json={"outcome": "走访"}, headers=admin)
    linked = (
        await client.post(
            "/api/sessions",
            json=body("other", "field_visit", "2026-10-23", "14:00", "16:00"),
            headers=admin,
        )
    ).json()["id"]
    await client.post(f"/api/sessions/{linked}/hold", json={"outcome": "带案下访"}, headers=admin)
    assert (
        await client.post(f"/api/sessions/{linked}/cases", json={"case_id": e}, headers=admin)
    ).status_code == 201

    r = await client.post(
        "/api/incidents",
        json={
            "kind": "online_opinion",
            "unit_id": world.township_b,
            "occurred_on": "2026-03-05",
            "description": "网上炒作",
        },
        headers=clerk,
    )
    assert r.status_code == 201, r.text
    return world, {"A": a, "B": b, "C": c, "D": d, "E": e, "F": f, "G": g}


async def _review(
    client: httpx.AsyncClient, world: World, who: str = "reviewer", **params: Any
) -> httpx.Response:
    query = {"month": MONTH, "as_of": "2026-10-31", **params}
    return await client.get("/api/reports/review", params=query, headers=auth(world.tokens[who]))


async def test_every_figure_of_the_month(
    client: httpx.AsyncClient, october: tuple[World, dict[str, int]]
) -> None:
    world, _ = october
    r = await _review(client, world)
    assert r.status_code == 200, r.text
    report = r.json()
    units = {u["unit_name"]: u for u in report["units"]}
    assert list(units) == ["蓟州区", "区住建委", "邦均镇", "下仓镇"]
    a, b, dept, total = units["下仓镇"], units["邦均镇"], units["区住建委"], report["total"]
    assert (a["new_cases"], a["first_time"], a["repeat"], a["remote"]) == (2, 1, 1, 1)
    assert (a["accept_due"], a["accept_on_time"], a["timely_accept_rate"]) == (3, 1, 0.3333)
    assert (a["overdue_accept"], a["overdue_handle"]) == (2, 0)
    assert (b["new_cases"], b["first_time"], b["repeat"], b["remote_share"]) == (1, 0, 1, 1.0)
    assert (b["handle_due"], b["handle_on_time"], b["on_time_handle_rate"]) == (2, 1, 0.5)
    assert (b["replied"], b["participation_rate"], b["satisfaction_rate"]) == (1, 1.0, 1.0)
    assert (b["overdue_accept"], b["overdue_handle"], b["timely_accept_rate"]) == (0, 1, None)
    assert (dept["handle_due"], dept["on_time_handle_rate"], dept["replied"]) == (1, 1.0, 1)
    assert (dept["participation_rate"], dept["satisfaction_rate"], dept["new_cases"]) == (
        0.0,
        None,
        0,
    )
    assert (total["new_cases"], total["first_time"], total["repeat"]) == (3, 1, 2)
    assert (total["repeat_share"], total["remote_share"]) == (0.6667, 0.6667)
    assert (total["timely_accept_rate"], total["on_time_handle_rate"]) == (0.3333, 0.6667)
    assert (total["participation_rate"], total["satisfaction_rate"]) == (0.5, 1.0)

    overdue = {
        (o["type"], o["petitioner"], o["due"], o["days_overdue"]) for o in report["overdue_cases"]
    }
    assert overdue == {
        ("受理", "陈*三", "2026-10-08", 1),  # C, accepted a day late
        ("受理", "陈*三", "2026-10-30", 1),  # B, still not accepted
        ("办理", "王*妹", "2026-10-08", 23),  # E, no reply
    }
    assert next(o for o in report["overdue_cases"] if o["days_overdue"] == 23)["owner"] == "李某乙"
    assert {(u["type"], u["leader"]) for u in report["unregistered"]} == {
        ("接访预约", "李某乙"),
        ("下访", "张某丙"),
    }
    irregular = {
        (x["petitioner"], x["problem"], x["days_overdue"]) for x in report["delivery_irregular"]
    }
    assert irregular == {("李*华", "送达超过办理时限", 1), ("赵*红", "无送达记录", 11)}

    leaders = {x["leader"]: x for x in report["leaders"]}
    mayor, deputy = leaders["李某乙"], leaders["张某丙"]
    assert (
        mayor["reception_days"],
        mayor["reception_held"],
        mayor["reception_cancelled"],
        mayor["appointments"],
    ) == (2, 1, 1, 2)
    assert (mayor["owned_cases"], mayor["owned_resolved"], mayor["owned_overdue"]) == (1, 0, 1)
    assert (
        deputy["field_visits"],
        deputy["field_visits_held"],
        deputy["owned_cases"],
        deputy["owned_resolved"],
    ) == (1, 1, 1, 1)
    (campaign,) = report["campaigns"]
    assert (campaign["total"], campaign["resolved"], campaign["share"], campaign["status"]) == (
        4,
        1,
        0.25,
        "behind",
    )
    assert campaign["target_in_force"]["percent"] == 32
    sanwu = report["sanwu"]
    assert (
        sanwu["townships"],
        sanwu["sanwu_townships"],
        sanwu["goal_townships"],
        sanwu["goal_met"],
    ) == (2, 1, 2, False)
    assert [r["unit_name"] for r in sanwu["rows"] if r["sanwu"]] == ["下仓镇"]

    comparison = report["comparison"]
    assert comparison["previous_month"]["month"] == "2026-09"
    # September: C registered (first-time, letter); F's acceptance fell due 09-04 (08-20 + 15)
    # and was met on 08-21; no handling period fell due.
    prev = comparison["previous_month"]
    assert (
        prev["new_cases"],
        prev["first_time"],
        prev["remote_share"],
        prev["timely_accept_rate"],
    ) == (1, 1, 1.0, 1.0)
    assert prev["on_time_handle_rate"] is None
    last_year = comparison["same_month_last_year"]
    # Nothing was recorded before 2026-08: a year earlier is "no data", not a fake zero.
    assert last_year["month"] == "2025-10" and last_year["no_data"] is True
    assert last_year["new_cases"] is None and last_year["repeat_share"] is None
    assert comparison["previous_month"]["no_data"] is False


async def test_a_month_with_nothing_shows_dashes_not_fake_rates(
    client: httpx.AsyncClient, october: tuple[World, dict[str, int]]
) -> None:
    world, _ = october
    r = await _review(client, world, month="2026-06", as_of="2026-06-30")
    total = r.json()["total"]
    assert total["new_cases"] == 0
    for key in (
        "repeat_share",
        "remote_share",
        "timely_accept_rate",
        "on_time_handle_rate",
        "participation_rate",
        "satisfaction_rate",
    ):
        assert total[key] is None
    r = await _review(client, world, month="2026-06", as_of="2026-06-30", format="csv")
    text = r.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    total_row = next(row for row in rows if row and row[0] == "合计")
    assert total_row[1] == "0" and total_row[4] == "—" and "100.0%" not in total_row
    r = await _review(client, world, month="2026-06", as_of="2026-06-30", format="xlsx")
    book = load_workbook(io.BytesIO(r.content))
    sheet = book["单位指标"]
    last = sheet.max_row
    assert sheet.cell(last, 1).value == "合计" and sheet.cell(last, 5).value == "—"


async def test_xlsx_is_a_workbook_to_hand_round(
    client: httpx.AsyncClient, october: tuple[World, dict[str, int]]
) -> None:
    world, _ = october
    r = await _review(client, world, format="xlsx")
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert (
        "attachment" in r.headers["content-disposition"]
        and ".xlsx" in r.headers["content-disposition"]
    )
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == [
        "概览",
        "单位指标",
        "超期案件",
        "应登不登",
        "答复送达不规范",
        "领导接访与包案",
        "积案化解",
        "三无乡镇",
        "矛盾纠纷排查",
        "源头预防",
        "基础业务抽查",
        "流调",
        "网格员代办",
        "空转事项",
        "说明",
    ]
    units = book["单位指标"]
    assert units.freeze_panes == "A2"
    headers = [c.value for c in units[1]]
    assert headers[:5] == ["单位", "新增事项", "初信初访", "重复信访", "重复信访占比"]
    rate_column = headers.index("及时受理率") + 1
    a_row = next(row for row in range(2, units.max_row + 1) if units.cell(row, 1).value == "下仓镇")
    cell = units.cell(a_row, rate_column)
    assert cell.value == pytest.approx(0.3333) and cell.number_format == "0.0%"
    assert units.column_dimensions["A"].width >= 15
    notes = [row[1].value for row in book["说明"].iter_rows(min_row=2) if row[1].value]
    assert any("自收到信访事项之日起15日" in str(n) and "截至统计日" in str(n) for n in notes)
    overdue = book["超期案件"]
    assert {overdue.cell(r, 4).value for r in range(2, overdue.max_row + 1)} == {"陈*三", "王*妹"}


async def test_masking_roles_and_audit(
    client: httpx.AsyncClient, october: tuple[World, dict[str, int]]
) -> None:
    world, _ = october
    for who in ("clerk_district", "secretary", "leader"):
        assert_problem(await _review(client, world, who=who), 403)
    assert_problem(await _review(client, world, unmasked="true"), 422)
    assert_problem(
        await client.get(
            "/api/reports/review",
            params={"month": "2026-13"},
            headers=auth(world.tokens["reviewer"]),
        ),
        400,
    )
    r = await _review(client, world, who="admin", unmasked="true")
    names = {o["petitioner"] for o in r.json()["overdue_cases"]}
    assert names == {"陈老三", "王二妹"} and r.json()["masked"] is False
    r = await client.get("/api/audit?action=review.unmasked", headers=auth(world.tokens["auditor"]))
    assert r.json()["total"] == 1 and r.json()["items"][0]["actor_name"] == "管理员"
    r = await _review(client, world, who="admin")
    assert {o["petitioner"] for o in r.json()["overdue_cases"]} == {"陈*三", "王*妹"}
    body = json.dumps(r.json(), ensure_ascii=False)
    assert "陈老三" not in body and OTHER_ID not in body


async def test_incidents_and_sanwu(
    client: httpx.AsyncClient, october: tuple[World, dict[str, int]]
) -> None:
    world, _ = october
    clerk = auth(world.tokens["clerk_district"])
    bad = {"kind": "city_collective", "unit_id": world.village_a, "occurred_on": "2026-05-01"}
    assert_problem(await client.post("/api/incidents", json=bad, headers=clerk), 422)
    assert_problem(
        await client.post(
            "/api/incidents",
            json={**bad, "unit_id": world.township_a, "occurred_on": "2099-01-01"},
            headers=clerk,
        ),
        422,
    )
    r = await client.post(
        "/api/incidents",
        json={**bad, "unit_id": world.township_a, "people_count": 60},
        headers=clerk,
    )
    assert r.status_code == 201 and r.json()["kind_label"] == "到市大规模集体访"
    r = await client.get(
        "/api/incidents/sanwu?year=2026&as_of=2026-04-30", headers=auth(world.tokens["reviewer"])
    )
    # As of April the May incident had not happened: 下仓镇 was still 三无.
    assert r.json()["sanwu_townships"] == 1 and [
        x["unit_name"] for x in r.json()["rows"] if x["sanwu"]
    ] == ["下仓镇"]
    r = await client.get(
        "/api/incidents/sanwu?year=2026&as_of=2026-10-31", headers=auth(world.tokens["reviewer"])
    )
    assert r.json()["sanwu_townships"] == 0
    r = await client.get("/api/incidents?year=2026", headers=clerk)
    assert len(r.json()) == 2


async def test_out_of_range_years_are_400_not_500(
    client: httpx.AsyncClient, october: tuple[World, dict[str, int]]
) -> None:
    world, _ = october
    reviewer = auth(world.tokens["reviewer"])
    for url in (
        "/api/incidents?year=0",
        "/api/incidents/sanwu?year=0",
        "/api/incidents/sanwu?year=99999",
    ):
        assert_problem(await client.get(url, headers=reviewer), 400)
