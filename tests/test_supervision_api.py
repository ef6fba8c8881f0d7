"""督查督办 through the API, on both databases: a month's spot check drawn twice from its seed is
the same sample; a finding's overdue rectification reaches the unit's group; the review shows
the check beside the computed points; a 流调's 办理过程 is the case's timeline; who may do what
(role × route)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
from datetime import datetime
from typing import Any

import httpx
import openpyxl
import pytest
from litestar import Litestar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.audit.models import AuditEvent
from reception.context import FixedClock
from reception.notify import jobs
from reception.supervision import rules
from reception.supervision.models import Finding, SpotCheck
from tests.builders import OTHER_ID, World, build_world, case_body
from tests.conftest import assert_problem, auth
from tests.test_notify import Receiver, endpoint, run


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(sessionmaker)


@pytest.fixture
def receiver() -> Any:
    r = Receiver()
    yield r
    r.server.shutdown()


async def register(
    client: httpx.AsyncClient, w: World, day: str, who: str = "clerk_a", **extra: object
) -> dict[str, Any]:
    body = case_body(w, received_on=day, on=day, **extra)
    r = await client.post("/api/cases", json=body, headers=auth(w.tokens[who]))
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


async def november(client: httpx.AsyncClient, w: World, n: int = 8) -> list[int]:
    """`n` November cases of 下仓镇 (one of them at its village) and two of 区住建委."""
    ids = []
    for i in range(n):
        unit = w.village_a if i == 0 else w.township_a
        ids.append((await register(client, w, f"2026-11-{i + 2:02d}", unit_id=unit))["id"])
    for day in ("2026-11-05", "2026-11-20"):
        await register(client, w, day, who="clerk_district", unit_id=w.department)
    return ids


async def draw(client: httpx.AsyncClient, w: World, **body: object) -> httpx.Response:
    return await client.post(
        "/api/spot-checks", json={"month": "2026-11", **body}, headers=auth(w.tokens["reviewer"])
    )


def test_the_draw_is_the_same_from_the_same_seed_and_differs_by_seed() -> None:
    population = list(range(100, 160))
    first = rules.draw("9f2c", population, 5)
    # As documented, so anyone can redo it without this program: rank by SHA-256("seed:id").
    by_hand = sorted(population, key=lambda i: hashlib.sha256(f"9f2c:{i}".encode()).hexdigest())
    assert first == by_hand[:5]
    assert first == rules.draw("9f2c", list(reversed(population)), 5)
    assert len(set(first)) == 5 and set(first) <= set(population)
    assert rules.draw("9f2d", population, 5) != first
    assert sorted(rules.draw("x", [3, 1, 2], 5)) == [1, 2, 3]


async def test_a_months_sample_drawn_again_from_its_seed_is_the_same(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    nov = await november(client, world)
    reviewer = auth(world.tokens["reviewer"])
    # December is not over (today is 12-01): nothing to draw yet.
    assert "尚未结束" in assert_problem(await draw(client, world, month="2026-12"), 422)["detail"]
    # A village is not a base unit; a clerk does not draw.
    assert_problem(await draw(client, world, unit_ids=[world.village_a]), 422)
    r = await client.post(
        "/api/spot-checks", json={"month": "2026-11"}, headers=auth(world.tokens["clerk_a"])
    )
    assert_problem(r, 403)
    r = await draw(client, world)
    assert r.status_code == 201, r.text
    checks = {c["unit_name"]: c for c in r.json()["checks"]}
    assert set(checks) == {"下仓镇", "邦均镇", "区住建委"}
    town = checks["下仓镇"]
    assert town["population_size"] == 8 and len(town["samples"]) == 5
    assert {s["case_id"] for s in town["samples"]} <= set(nov)
    assert len(checks["区住建委"]["samples"]) == 2 and checks["邦均镇"]["samples"] == []
    # Drawn again from the stored seed: the same cases, in the same order.
    again = (await client.get(f"/api/spot-checks/{town['id']}/redraw", headers=reviewer)).json()
    assert again["same"] and again["stored"] == [s["case_id"] for s in town["samples"]]
    assert again["redrawn"] == rules.draw(town["seed"], nov, 5)
    # A case entered later for November (补录) does not change the sample; it is named.
    late = await register(client, world, "2026-11-28")
    again = (await client.get(f"/api/spot-checks/{town['id']}/redraw", headers=reviewer)).json()
    assert again["same"] and again["registered_since"] == [late["id"]]
    # The seed and the sample are in the audit trail; a unit is drawn once a month.
    async with sessionmaker() as s:
        audited = (
            await s.scalars(select(AuditEvent).where(AuditEvent.action == "spot_check.drawn"))
        ).all()
    mine = next(a for a in audited if a.after and a.after["unit_id"] == world.township_a)
    assert mine.after and mine.after["seed"] == town["seed"]
    assert mine.after["sample"] == again["stored"]
    assert_problem(await draw(client, world), 409)
    assert_problem(await draw(client, world, unit_ids=[world.township_a]), 409)
    # The clerk of 下仓镇 reads his unit's check, not the department's.
    clerk = auth(world.tokens["clerk_a"])
    seen = (await client.get("/api/spot-checks?month=2026-11", headers=clerk)).json()
    assert [c["unit_name"] for c in seen] == ["下仓镇"]
    r = await client.get(f"/api/spot-checks/{checks['区住建委']['id']}", headers=clerk)
    assert_problem(r, 404)


async def test_two_checkers_drawing_the_same_unit_at_once_get_one_check(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await november(client, world, n=3)
    first, second = await asyncio.gather(
        draw(client, world, unit_ids=[world.township_a]),
        draw(client, world, unit_ids=[world.township_a]),
    )
    assert sorted([first.status_code, second.status_code]) == [201, 409]
    async with sessionmaker() as s:
        rows = (await s.scalars(select(SpotCheck))).all()
    assert len(rows) == 1


async def marks_for(
    client: httpx.AsyncClient, w: World, failing: dict[str, str]
) -> list[dict[str, object]]:
    items = (await client.get("/api/check-items", headers=auth(w.tokens["reviewer"]))).json()
    return [
        {
            "item_id": i["id"],
            "passed": i["code"] not in failing,
            "note": failing.get(i["code"], ""),
        }
        for i in items
        if i["active"]
    ]


async def test_an_overdue_rectification_reaches_the_units_group(
    app: Litestar,
    client: httpx.AsyncClient,
    world: World,
    receiver: Receiver,
    clock: FixedClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await endpoint(
        client, world, name="下仓镇信访办群", kind="dingtalk",
        url=f"{receiver.url}/robot/send?access_token=T", secret="SECxyz",
        scope="unit", unit_id=world.township_a,
    )  # fmt: skip
    await november(client, world, n=3)
    town = next(
        c for c in (await draw(client, world)).json()["checks"] if c["unit_name"] == "下仓镇"
    )
    sample = town["samples"][0]
    reviewer = auth(world.tokens["reviewer"])
    clerk = auth(world.tokens["clerk_a"])
    url = f"/api/spot-checks/samples/{sample['id']}/marks"
    # Every active line, once; a failed line says what is wrong; only the district checks.
    full = await marks_for(client, world, {"archive": "缺送达回证和受理告知书"})
    assert_problem(await client.post(url, json={"marks": full[:-1]}, headers=reviewer), 422)
    no_note = await marks_for(client, world, {"archive": ""})
    assert_problem(await client.post(url, json={"marks": no_note}, headers=reviewer), 422)
    assert_problem(await client.post(url, json={"marks": full + full[:1]}, headers=reviewer), 422)
    assert_problem(await client.post(url, json={"marks": full}, headers=clerk), 403)
    r = await client.post(url, json={"marks": full}, headers=reviewer)
    assert r.status_code == 201, r.text
    found = r.json()["findings"]
    assert len(found) == 1 and found[0]["item_label"] == "档案齐全"
    # Ten working days after 12-01 (a Tuesday): 12-15.
    assert found[0]["deadline"] == "2026-12-15" and found[0]["unit_name"] == "下仓镇"
    assert_problem(await client.post(url, json={"marks": full}, headers=reviewer), 409)
    # The unit's group hears of the finding (no petitioner, no checker's words).
    assert await run(app)
    texts = [json.loads(x["body"])["markdown"]["text"] for x in receiver.requests]
    assert any("抽查发现问题" in t and sample["case_reference"] in t for t in texts), texts
    assert all("张小明" not in t and "送达回证" not in t for t in texts)
    # The deadline passes unanswered: the job the day after escalates it, once.
    clock.set(datetime.fromisoformat("2026-12-16T08:00:00+08:00"))
    async with sessionmaker() as s:
        done = await jobs.daily(s, app.state.ctx)
        again = await jobs.daily(s, app.state.ctx)
        await s.commit()
    assert done.rectifications_overdue == 1 and again.rectifications_overdue == 0
    assert await run(app)
    texts = [json.loads(x["body"])["markdown"]["text"] for x in receiver.requests]
    late = [t for t in texts if "逾期未整改" in t]
    assert len(late) == 1 and "下仓镇" in late[0] and "12月15日" in late[0]
    listed = (await client.get("/api/findings?overdue=true", headers=clerk)).json()
    assert [f["id"] for f in listed["items"]] == [found[0]["id"]]
    # The unit answers (late, and it stays late: it cannot date its answer back); the checker
    # sends it back, then closes it.
    fid = found[0]["id"]
    r = await client.post(
        f"/api/findings/{fid}/answer", json={"answer": "已补齐", "on": "2026-12-10"}, headers=clerk
    )
    assert "录入当天" in assert_problem(r, 422)["detail"]
    got = await client.get(f"/api/findings/{fid}", headers=clerk)
    assert_problem(
        await client.post(
            f"/api/findings/{fid}/answer",
            json={"answer": "已补齐"},
            headers=clerk | {"If-Match": '"x"'},
        ),
        412,
    )
    r = await client.post(
        f"/api/findings/{fid}/answer",
        json={"answer": "已补齐送达回证"},
        headers=clerk | {"If-Match": got.headers["etag"]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "answered" and r.json()["overdue"]
    assert_problem(await client.post(f"/api/findings/{fid}/close", json={}, headers=clerk), 403)
    r = await client.post(
        f"/api/findings/{fid}/return", json={"note": "受理告知书仍缺"}, headers=reviewer
    )
    assert r.json()["status"] == "open" and r.json()["returned"] == 1
    assert_problem(await client.post(f"/api/findings/{fid}/close", json={}, headers=reviewer), 409)
    await client.post(f"/api/findings/{fid}/answer", json={"answer": "两份均已补齐"}, headers=clerk)
    r = await client.post(f"/api/findings/{fid}/close", json={}, headers=reviewer)
    assert r.json()["status"] == "closed" and r.json()["closed_on"] == "2026-12-16"
    async with sessionmaker() as s:
        actions = [
            a.action
            for a in await s.scalars(
                select(AuditEvent)
                .where(AuditEvent.target_type == "finding")
                .order_by(AuditEvent.id)
            )
        ]
    assert actions == [
        "spot_check.finding", "finding.answered", "finding.returned", "finding.answered",
        "finding.closed",
    ]  # fmt: skip
    # The review of November as of 11-30 knows no check (it came after); as of today it shows
    # the check beside the points the system computed for the same unit and month.
    review = (await client.get("/api/reports/review?month=2026-11", headers=reviewer)).json()
    assert review["spot_checks"]["units"] == []
    review = (
        await client.get("/api/reports/review?month=2026-11&as_of=2026-12-16", headers=reviewer)
    ).json()
    row = next(u for u in review["spot_checks"]["units"] if u["unit_name"] == "下仓镇")
    assert row["sampled"] == 3 and row["checked"] == 1 and row["findings"] == 1
    assert row["by_item"]["archive"] == 1 and row["rectified"] == 1 and row["late"] == 1
    assert set(row["computed"]) == {
        "overdue_accept", "overdue_handle", "unregistered", "delivery_irregular",
    }  # fmt: skip
    r = await client.get(
        "/api/reports/review?month=2026-11&as_of=2026-12-16&format=xlsx", headers=reviewer
    )
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    assert {"基础业务抽查", "流调"} <= set(book.sheetnames)
    sheet = [
        [c for c in row if c is not None]
        for row in book["基础业务抽查"].iter_rows(values_only=True)
    ]
    assert any("下仓镇" in r and "档案齐全 1" in r for r in sheet), sheet


async def test_the_checklist_is_the_admins_to_edit(client: httpx.AsyncClient, world: World) -> None:
    admin = auth(world.tokens["admin"])
    items = (await client.get("/api/check-items", headers=admin)).json()
    assert [i["label"] for i in items] == [
        "来访必录",
        "受理/办理按期",
        "答复送达规范",
        "调查核实",
        "档案齐全",
    ]
    r = await client.post(
        "/api/check-items", json={"label": "信访人诉求台账", "position": 6}, headers=admin
    )
    assert r.status_code == 201, r.text
    new = r.json()
    r = await client.patch(
        f"/api/check-items/{items[3]['id']}", json={"active": False}, headers=admin
    )
    assert r.json()["active"] is False
    lines = await marks_for(client, world, {})
    assert {m["item_id"] for m in lines} == {i["id"] for i in items if i["code"] != "verified"} | {
        new["id"]
    }
    r = await client.post(
        "/api/check-items", json={"label": "x"}, headers=auth(world.tokens["reviewer"])
    )
    assert_problem(r, 403)
    assert_problem(await client.post("/api/check-items", json={"label": "  "}, headers=admin), 400)
    for i in (await client.get("/api/check-items", headers=admin)).json()[:-1]:
        await client.patch(f"/api/check-items/{i['id']}", json={"active": False}, headers=admin)
    r = await client.patch(f"/api/check-items/{new['id']}", json={"active": False}, headers=admin)
    assert "至少保留一项" in assert_problem(r, 422)["detail"]


async def test_a_inquirys_process_is_the_case_timeline_up_to_the_signature(
    client: httpx.AsyncClient, world: World
) -> None:
    clerk = auth(world.tokens["clerk_a"])
    leader = auth(world.tokens["leader"])
    first = await register(client, world, "2026-09-16")
    # A first petition of the district's own takes no 流调.
    body = {"leader_id": world.leaders["deputy"]}
    r = await client.post(f"/api/cases/{first['id']}/inquiry", json=body, headers=clerk)
    assert "重复信访" in assert_problem(r, 422)["detail"]
    repeat = await register(client, world, "2026-11-20", repeat_of=first["id"])
    cid = repeat["id"]
    await client.post(
        f"/api/cases/{cid}/transitions",
        json={"action": "accept", "on": "2026-11-25"},
        headers=clerk,
    )
    r = await client.post(f"/api/cases/{cid}/inquiry", json=body, headers=clerk)
    assert r.status_code == 201, r.text
    inq = r.json()
    assert inq["status"] == "open" and inq["why_eligible"] == "重复信访"
    assert_problem(await client.post(f"/api/cases/{cid}/inquiry", json=body, headers=clerk), 409)
    # 办理过程 is the case's own timeline (without the 流调's own steps), not retyped.
    timeline = (await client.get(f"/api/cases/{cid}/timeline", headers=clerk)).json()
    steps = [e for e in timeline if not e["kind"].startswith("inquiry.")]
    assert [p["event_id"] for p in inq["process"]] == [e["id"] for e in steps]
    assert [p["kind"] for p in inq["process"]] == ["registered", "transition.accept"]
    # Listed in the worklist while open.
    open_ids = [
        c["id"]
        for c in (await client.get("/api/cases?inquiry=open", headers=clerk)).json()["items"]
    ]
    assert open_ids == [cid]
    # The mayor is not its signing leader; he reads neither the 流调 nor the case.
    assert_problem(await client.get(f"/api/inquiries/{inq['id']}", headers=leader), 404)
    r = await client.patch(
        f"/api/inquiries/{inq['id']}", json={"leader_id": world.leaders["mayor"]}, headers=clerk
    )
    assert r.status_code == 200, r.text
    assert (await client.get(f"/api/inquiries/{inq['id']}", headers=leader)).json()["may_sign"]
    assert_problem(await client.get(f"/api/cases/{cid}", headers=leader), 404)
    # Not signed before it is written; then written and signed.
    r = await client.post(f"/api/inquiries/{inq['id']}/sign", json={}, headers=leader)
    assert "结论性意见" in assert_problem(r, 422)["detail"]
    r = await client.patch(
        f"/api/inquiries/{inq['id']}",
        json={
            "causes": ["first_handling", "reply"],
            "cause_note": "初次答复未说明政策依据",
            "responsibilities": [
                {"unit_id": world.township_a, "failing": "初信办理未当面答复、未依法送达"},
                {"who": "镇信访办经办人", "failing": "未按期回访"},
            ],
            "conclusion": "重复信访系首办不到位所致,责成下仓镇重新答复并当面送达",
        },
        headers=clerk,
    )
    assert r.status_code == 200, r.text
    assert r.json()["responsibilities"][0]["unit_name"] == "下仓镇"
    assert_problem(
        await client.post(f"/api/inquiries/{inq['id']}/sign", json={}, headers=clerk), 403
    )
    r = await client.post(f"/api/inquiries/{inq['id']}/sign", json={}, headers=leader)
    assert r.status_code == 200, r.text
    signed = r.json()
    assert signed["status"] == "signed" and signed["signed_on"] == "2026-12-01"
    # Afterwards the case moves on; the signed 流调's 办理过程 stays what the leader read.
    await client.post(
        f"/api/cases/{cid}/transitions", json={"action": "start", "on": "2026-12-01"}, headers=clerk
    )
    later = (await client.get(f"/api/inquiries/{inq['id']}", headers=clerk)).json()
    assert later["process"] == signed["process"]
    r = await client.patch(f"/api/inquiries/{inq['id']}", json={"conclusion": "改"}, headers=clerk)
    assert_problem(r, 409)
    assert (await client.get("/api/cases?inquiry=open", headers=clerk)).json()["items"] == []
    review = (
        await client.get(
            "/api/reports/review?month=2026-11", headers=auth(world.tokens["reviewer"])
        )
    ).json()
    assert review["inquiries"] == {"repeat": 1, "opened": 0, "signed": 0}
    review = (
        await client.get(
            "/api/reports/review?month=2026-12", headers=auth(world.tokens["reviewer"])
        )
    ).json()
    assert review["inquiries"]["repeat"] == 0


async def test_a_city_referral_takes_a_inquiry_and_bad_bodies_change_nothing(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    clerk = auth(world.tokens["clerk_a"])
    case = await register(
        client, world, "2026-11-10", source="city",
        petitioners=[{"name": "李四", "id_number": OTHER_ID}],
    )  # fmt: skip
    url = f"/api/cases/{case['id']}/inquiry"
    for bad in (
        {"leader_id": world.leaders["township_b"]},  # another township's leader: not his to name
        {"leader_id": world.leaders["mayor"], "causes": ["unknown"]},
        {"leader_id": world.leaders["mayor"], "responsibilities": [{"failing": "x"}]},
        {"leader_id": world.leaders["mayor"], "extra": 1},
    ):
        r = await client.post(url, json=bad, headers=clerk)
        assert 400 <= r.status_code < 500 and r.status_code != 404, (bad, r.text)
    r = await client.post(url, json={"leader_id": world.leaders["mayor"]}, headers=clerk)
    assert r.json()["why_eligible"].startswith("越级")


# Who may do what: every supervision route for every role (403 by role, 404 by scope).
ROUTES: list[tuple[str, str, dict[str, int]]] = [
    ("GET", "/api/check-items", {"admin": 200, "reviewer": 200, "clerk_a": 200}),
    ("POST", "/api/check-items", {"admin": 201}),
    ("GET", "/api/spot-checks", {"admin": 200, "reviewer": 200, "clerk_a": 200}),
    ("POST", "/api/spot-checks", {"admin": 201, "reviewer": 201}),
    ("GET", "/api/findings", {"admin": 200, "reviewer": 200, "clerk_a": 200}),
    ("GET", "/api/inquiries", {"admin": 200, "reviewer": 200, "clerk_a": 200, "leader": 200}),
]
ROLES = ("admin", "secretary", "clerk_a", "leader", "reviewer", "secadmin", "auditor")


@pytest.mark.parametrize(
    ("method", "path", "allowed"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES]
)
async def test_each_role_may_use_only_its_supervision_routes(
    client: httpx.AsyncClient, world: World, method: str, path: str, allowed: dict[str, int]
) -> None:
    bodies = {"/api/check-items": {"label": "新项目"}, "/api/spot-checks": {"month": "2026-11"}}
    for role in ROLES:
        r = await client.request(
            method, path, json=bodies.get(path) if method == "POST" else None,
            headers=auth(world.tokens[role]),
        )  # fmt: skip
        expected = allowed.get(role, 403)
        if expected == 201 and r.status_code == 409:
            continue  # drawn already by the role before
        assert r.status_code == expected, (role, method, path, r.text)


async def test_ids_outside_the_callers_scope_are_404(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await november(client, world, n=2)
    checks = (await draw(client, world)).json()["checks"]
    dept = next(c for c in checks if c["unit_name"] == "区住建委")
    sample = dept["samples"][0]
    reviewer = auth(world.tokens["reviewer"])
    marks = await marks_for(client, world, {"on_time": "受理告知超期"})
    r = await client.post(
        f"/api/spot-checks/samples/{sample['id']}/marks", json={"marks": marks}, headers=reviewer
    )
    fid = r.json()["findings"][0]["id"]
    clerk = auth(world.tokens["clerk_a"])
    for path in (
        f"/api/spot-checks/{dept['id']}",
        f"/api/spot-checks/{dept['id']}/redraw",
        f"/api/spot-checks/samples/{sample['id']}",
        f"/api/findings/{fid}",
    ):
        assert_problem(await client.get(path, headers=clerk), 404)
    r = await client.post(f"/api/findings/{fid}/answer", json={"answer": "x"}, headers=clerk)
    assert_problem(r, 404)
    async with sessionmaker() as s:
        finding = await s.get(Finding, fid)
        assert finding is not None and finding.status == "open" and finding.answer == ""
    for path in ("/api/spot-checks/2147483647", "/api/findings/2147483647", "/api/inquiries/9"):
        assert_problem(await client.get(path, headers=reviewer), 404)
    assert_problem(await client.get("/api/spot-checks/2147483648", headers=reviewer), 404)
