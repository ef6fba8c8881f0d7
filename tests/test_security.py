"""Nothing a user types runs as code, script or formula; the console and the public page hold
at their boundary as the JSON API does (issue #22). Each finding of the outside test is a test
here, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reception.cases.models import CasePetitioner, PetitionCase
from reception.documents import defaults
from reception.scheduling.models import Appointment
from reception.spreadsheet import csv_bytes, neutralise
from tests.builders import (
    World,
    at,
    build_world,
    case_body,
    docx_with,
    future_workday,
    give_passwords,
)
from tests.conftest import assert_problem, auth
from tests.console import Console

TEMPLATES = Path(__file__).resolve().parent.parent / "src" / "reception" / "templates"
EVIL_SCRIPT = "</script><script>alert(7)</script>"
FORMULA = '=HYPERLINK("http://evil.example/","点我")'


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    w = await build_world(sessionmaker)
    await give_passwords(sessionmaker, w)
    return w


def _console(app: Litestar) -> Console:
    return Console(
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://test")
    )


@pytest.fixture
def browser(app: Litestar) -> Console:
    return _console(app)


@pytest.fixture
def second(app: Litestar) -> Console:
    return _console(app)


def _docx_with(text: str, kind: str = "transfer_notice") -> bytes:
    """The built-in template of `kind` with its first field replaced by `text`."""
    return docx_with(defaults.template(kind, "天津市蓟州区信访办公室"), "{{ number }}", text)


# ---------------------------------------------------------------- 1. templates run in a sandbox


@pytest.mark.parametrize(
    "payload",
    [
        "{{ office_name.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ ''.__class__ }}",
        "{{ 'x' * 100000000 }}",
        "{{ ((9 ** 60) ** 60) ** 60 }}",
    ],
)
async def test_an_uploaded_template_cannot_run_code(
    client: httpx.AsyncClient, world: World, payload: str
) -> None:
    admin = auth(world.tokens["admin"], **{"content-type": "application/octet-stream"})
    evil = _docx_with(payload)
    assert payload.encode() in zipfile.ZipFile(io.BytesIO(evil)).read("word/document.xml")
    problem = assert_problem(
        await client.put("/api/document-templates/transfer_notice", content=evil, headers=admin),
        422,
    )
    assert "模板" in problem["detail"] and "原模板继续有效" in problem["detail"]
    assert "uid=" not in problem["detail"]
    kinds = (await client.get("/api/document-kinds", headers=auth(world.tokens["admin"]))).json()
    assert next(k for k in kinds if k["kind"] == "transfer_notice")["template_version"] == 0


def test_the_console_renders_in_the_same_sandbox(app: Litestar) -> None:
    from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

    engine = app.template_engine
    env = engine.engine  # type: ignore[attr-defined]
    assert isinstance(env, ImmutableSandboxedEnvironment)
    with pytest.raises(SecurityError):
        env.from_string("{{ x.__class__.__mro__ }}").render(x="a")


# ---------------------------------------------------------------- 2. no script from data


def test_no_template_marks_data_safe_or_carries_inline_code() -> None:
    """`| safe` only on Litestar's CSRF field; no inline script, style or handler anywhere."""
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for match in re.finditer(r"\{\{([^}]*)\|\s*safe\s*\}\}", text):
            assert match.group(1).strip() == "csrf_input", f"{path}: {match.group(0)}"
        assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)", text), path
        assert "<style" not in text, path
        assert not re.search(r"\sstyle=", text), path
        assert not re.search(r"\son[a-z]+=", text), path
        assert "javascript:" not in text, path


async def test_a_campaign_named_like_a_script_stays_text_on_the_review(
    client: httpx.AsyncClient, browser: Console, world: World
) -> None:
    clerk = auth(world.tokens["clerk_district"])
    cid = (await client.post("/api/cases", json=case_body(world), headers=clerk)).json()["id"]
    r = await client.post(
        "/api/campaigns",
        json={
            "name": EVIL_SCRIPT,
            "targets": [{"due_on": "2026-12-31", "percent": 50}],
            "case_ids": [cid],
        },
        headers=clerk,
    )
    assert r.status_code == 201, r.text
    await browser.sign_in("reviewer")
    r = await browser.get("/review?month=2026-11")
    assert r.status_code == 200
    assert EVIL_SCRIPT not in r.text and "alert(7)</script>" not in r.text
    data = re.search(r'<script type="application/json" id="review-data">(.*?)</script>', r.text)
    assert data is not None and "\\u003c/script\\u003e" in data.group(1)
    # Every console page says what may run: this service's own files, nothing inline.
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"


async def test_error_pages_and_the_sign_in_carry_the_csp_too(browser: Console) -> None:
    for path in ("/login", "/cases/99999999999", "/no-such-page"):
        r = await browser.get(path)
        assert "script-src 'self'" in r.headers.get("content-security-policy", ""), path
        assert r.headers["x-content-type-options"] == "nosniff"


# ---------------------------------------------------------------- 3. no formula in exports


def test_a_typed_cell_never_starts_a_formula() -> None:
    for typed in ("=1+1", "+86 138", "-5万元", "@SUM(A1)", "\t=1", "\r=1"):
        assert neutralise(typed).startswith("'")
    assert neutralise("张小明") == "张小明" and neutralise("") == ""
    rows = list(csv.reader(io.StringIO(csv_bytes([[FORMULA, 3]]).decode("utf-8-sig"))))
    assert rows == [["'" + FORMULA, "3"]]


async def test_formulas_typed_by_a_clerk_stay_text_in_every_export(
    client: httpx.AsyncClient, browser: Console, world: World
) -> None:
    clerk = auth(world.tokens["clerk_district"])
    body = case_body(world, summary=FORMULA, received_on="2026-11-16", on="2026-11-16")
    cid = (await client.post("/api/cases", json=body, headers=clerk)).json()["id"]
    r = await client.post(
        "/api/campaigns",
        json={
            "name": "=1+2",
            "targets": [{"due_on": "2026-12-31", "percent": 50}],
            "case_ids": [cid],
        },
        headers=clerk,
    )
    assert r.status_code == 201, r.text
    reviewer = auth(world.tokens["reviewer"])
    r = await client.get("/api/reports/review?month=2026-11&format=xlsx", headers=reviewer)
    book = load_workbook(io.BytesIO(r.content))
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row if c.value]
    risky = [
        c for c in cells if isinstance(c.value, str) and c.value.startswith(("=", "+", "-", "@"))
    ]
    assert risky, "the typed texts are in the workbook"
    for c in risky:
        # A string cell (never a formula) that Excel keeps as text when edited.
        assert c.data_type == "s" and c.quotePrefix, (c.coordinate, c.value)
    text = r.content
    assert b"<f>" not in zipfile.ZipFile(io.BytesIO(text)).read("xl/worksheets/sheet1.xml")
    r = await client.get("/api/reports/review?month=2026-11&format=csv", headers=reviewer)
    values = [v for row in csv.reader(io.StringIO(r.content.decode("utf-8-sig"))) for v in row]
    assert "'=1+2" in values and "=1+2" not in values
    await browser.sign_in("clerk_district")
    r = await browser.get("/cases/export.csv")
    values = [v for row in csv.reader(io.StringIO(r.content.decode("utf-8-sig"))) for v in row]
    assert "'" + FORMULA in values and FORMULA not in values


# ---------------------------------------------------------------- 5. the boundary on every side


async def test_control_characters_in_a_form_are_refused_beside_the_field(
    client: httpx.AsyncClient,
    browser: Console,
    second: Console,
    world: World,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    day = future_workday()
    r = await client.post(
        "/api/sessions",
        json={
            "leader_id": world.leaders["mayor"],
            "kind": "reception",
            "venue_id": world.venue,
            "starts_at": at(day, "09:00"),
            "ends_at": at(day, "10:00"),
        },
        headers=auth(world.tokens["admin"]),
    )
    sid = r.json()["id"]
    await browser.sign_in("secretary")
    for name in ("李\x00四", "李\x07四"):
        r = await browser.post(
            f"/sessions/{sid}/book", {"petitioner_name": name, "matter_summary": "交房"}
        )
        assert r.status_code == 400
        assert re.search(r'class="field-error"[^>]*>[^<]*控制字符', r.text), r.text[-2000:]
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Appointment)) == 0
    await browser.sign_in("clerk_district")
    r = await browser.post(
        "/cases/new",
        {"p_name": "张\x00明", "channel": "visit", "category": "housing", "summary": "交房"},
    )
    assert r.status_code == 400 and "控制字符" in r.text
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(PetitionCase)) == 0
        assert await s.scalar(select(func.count()).select_from(CasePetitioner)) == 0
    # Signing in with one: refused like any wrong name, on both databases.
    r = await second.post("/login", {"username": "ad\x00min", "password": "x"})
    assert r.status_code == 400 and "控制字符" in r.text


async def test_control_characters_in_json_name_the_field(
    client: httpx.AsyncClient, world: World
) -> None:
    body = case_body(world)
    body["petitioners"][0]["name"] = "张\u0001明"  # type: ignore[index]
    problem = assert_problem(
        await client.post("/api/cases", json=body, headers=auth(world.tokens["clerk_a"])), 400
    )
    assert problem["errors"][0]["field"] == "petitioners[0].name"
    assert "控制字符" in problem["errors"][0]["message"]
    problem = assert_problem(
        await client.post("/public/api/lookup", json={"code": "AB\u0000", "factor": "1234"}), 400
    )


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/cases/99999999999", 404),
        ("/sessions/99999999999", 404),
        ("/documents/99999999999/file.docx", 404),
        ("/admin/users/99999999999", 404),
        ("/desk?leader=99999999999", 400),
        ("/review?month=2026-11&unit_id=99999999999", 400),
        ("/cases?owner=99999999999", 400),
        ("/desk?month=0000-01", 400),
        ("/desk?month=9999-12", 400),
        ("/desk?month=２０２６-１１", 400),
        ("/me?week=0001-01-01", 400),
        ("/sessions/print?date=9999-12-31", 400),
        ("/review?month=１９９９-01", 400),
    ],
)
async def test_odd_values_in_console_addresses_are_a_4xx(
    browser: Console, world: World, path: str, status: int
) -> None:
    who = {"/me": "leader", "/review": "reviewer", "/cases": "clerk_district"}
    await browser.sign_in(next((u for p, u in who.items() if path.startswith(p)), "admin"))
    r = await browser.get(path)
    assert r.status_code == status, (path, r.status_code, r.text[-500:])
    assert r.headers["content-type"].startswith("text/html")
    assert "系统出错" not in r.text


async def test_huge_ids_are_not_found_on_the_api_and_the_public_page(
    client: httpx.AsyncClient, world: World
) -> None:
    for path in ("/api/cases/99999999999", "/api/sessions/99999999999", "/api/leaders/2147483648"):
        assert_problem(await client.get(path, headers=auth(world.tokens["admin"])), 404)
    r = await client.get("/public/documents/99999999999/file.docx?ticket=1.2.abc")
    assert r.status_code == 404


@pytest.mark.parametrize("ticket", ["票据", "1.9999999999.ÄÄÄ", "1.2." + "é" * 43, "", "a.b.c.d"])
async def test_a_ticket_of_any_form_is_refused_not_crashed(
    client: httpx.AsyncClient, browser: Console, world: World, ticket: str
) -> None:
    r = await client.post(
        "/public/api/evaluation", json={"ticket": ticket, "satisfaction": "satisfied"}
    )
    assert r.status_code == 400, r.text
    await browser.get("/public")
    r = await browser.post("/public/evaluation", {"ticket": ticket, "satisfaction": "satisfied"})
    assert r.status_code == 400, r.text
    r = await client.get("/public/documents/1/file.pdf", params={"ticket": ticket})
    assert r.status_code == 400, r.text


async def test_an_admin_on_a_leaders_own_page_is_told_not_crashed(
    browser: Console, world: World
) -> None:
    await browser.sign_in("admin")
    for path in ("/me", "/me/cases"):
        r = await browser.get(path)
        assert r.status_code == 403 and "没有关联领导" in r.text, path


# ---------------------------------------------------------------- 6, 7. scope on every id


async def test_a_former_owner_and_his_secretary_neither_read_nor_write_the_case(
    client: httpx.AsyncClient, world: World
) -> None:
    clerk = auth(world.tokens["clerk_district"])
    cid = (await client.post("/api/cases", json=case_body(world), headers=clerk)).json()["id"]
    url = f"/api/cases/{cid}/ownership"
    r = await client.post(url, json={"leader_id": world.leaders["mayor"]}, headers=clerk)
    assert r.status_code == 201, r.text
    visit = (
        await client.post(
            "/api/sessions",
            json={
                "leader_id": world.leaders["mayor"],
                "kind": "field_visit",
                "starts_at": "2026-10-20T14:00:00+08:00",
                "ends_at": "2026-10-20T16:00:00+08:00",
                "unit_id": world.township_a,
                "purpose": "带案下访",
            },
            headers=auth(world.tokens["secretary"]),
        )
    ).json()["id"]
    r = await client.post(
        f"/api/sessions/{visit}/cases", json={"case_id": cid}, headers=auth(world.tokens["leader"])
    )
    assert r.status_code == 201, r.text
    day = future_workday()
    session = (
        await client.post(
            "/api/sessions",
            json={
                "leader_id": world.leaders["mayor"],
                "kind": "reception",
                "venue_id": world.venue,
                "starts_at": at(day, "09:00"),
                "ends_at": at(day, "10:00"),
            },
            headers=auth(world.tokens["secretary"]),
        )
    ).json()["id"]
    appointment = (
        await client.post(
            f"/api/sessions/{session}/appointments",
            json={"petitioner_name": "张小明", "matter_summary": "交房"},
            headers=auth(world.tokens["secretary"]),
        )
    ).json()["id"]
    # The case moves to a leader the secretary does not serve.
    r = await client.post(
        url, json={"leader_id": world.leaders["other"], "reason": "分管调整"}, headers=clerk
    )
    assert r.status_code == 201, r.text
    # 李某乙 and his secretary reach it no more, by any route: reading, writing, the links.
    for who in ("leader", "secretary"):
        former = auth(world.tokens[who])
        for path in ("", "/timeline", "/clocks", "/ownership", "/documents"):
            assert_problem(await client.get(f"/api/cases/{cid}{path}", headers=former), 404)
        for path, body in [
            (f"/api/sessions/{visit}/cases/{cid}/outcome", {"outcome": "已不是我的事项"}),
            (f"/api/sessions/{visit}/cases", {"case_id": cid}),
        ]:
            assert_problem(await client.post(path, json=body, headers=former), 404)
        r = await client.put(
            f"/api/cases/{cid}/resolution",
            json={"resolution": "resolved", "on": "2026-11-30", "method": "调解"},
            headers=former,
        )
        assert_problem(r, 404)
        r = await client.post(
            f"/api/appointments/{appointment}/case", json={"case_id": cid}, headers=former
        )
        assert r.status_code in (403, 422), r.text
        assert (await client.get(f"/api/sessions/{visit}/cases", headers=former)).json() == []
    timeline = (await client.get(f"/api/cases/{cid}/timeline", headers=clerk)).json()
    assert "session.outcome" not in [e["kind"] for e in timeline]
    # The new owner reaches it through the same kind of route.
    r = await client.get(f"/api/cases/{cid}", headers=auth(world.tokens["clerk_district"]))
    assert r.status_code == 200


async def test_a_clerk_names_only_leaders_and_units_in_his_scope(
    client: httpx.AsyncClient, world: World
) -> None:
    clerk_a = auth(world.tokens["clerk_a"])
    cid = (await client.post("/api/cases", json=case_body(world), headers=clerk_a)).json()["id"]
    url = f"/api/cases/{cid}/ownership"
    # Another township's leader: he may not see him, so he may not name him.
    assert_problem(
        await client.get(f"/api/leaders/{world.leaders['township_b']}", headers=clerk_a), 404
    )
    problem = assert_problem(
        await client.post(url, json={"leader_id": world.leaders["township_b"]}, headers=clerk_a),
        422,
    )
    assert problem["errors"][0]["field"] == "leader_id"
    problem = assert_problem(
        await client.post(
            url,
            json={
                "leader_id": world.leaders["township_a"],
                "responsible_unit_id": world.township_b,
            },
            headers=clerk_a,
        ),
        422,
    )
    assert problem["errors"][0]["field"] == "responsible_unit_id"
    # A district leader above his township: he sees him, and may name him (包案 by the district).
    r = await client.get(f"/api/leaders/{world.leaders['mayor']}", headers=clerk_a)
    assert r.status_code == 200
    r = await client.post(url, json={"leader_id": world.leaders["mayor"]}, headers=clerk_a)
    assert r.status_code == 201, r.text


# ---------------------------------------------------------------- 8. words from the server only


async def test_a_notice_in_the_address_is_not_shown(browser: Console, world: World) -> None:
    await browser.sign_in("secretary")
    text = "系统升级:请把您的登录密码发到"
    r = await browser.get("/desk", params={"notice": text})
    assert r.status_code == 200 and text not in r.text


async def test_after_registration_the_message_is_a_flash_and_the_code_is_on_the_page(
    browser: Console, second: Console, world: World
) -> None:
    await browser.sign_in("clerk_district")
    r = await browser.post(
        "/cases/new",
        {
            "p_name": "张小明",
            "p_id_number": "11010519491231002X",
            "p_phone": "13812345678",
            "channel": "visit",
            "category": "housing",
            "summary": "交房",
            "unit_id": str(world.township_a),
            "received_on": "2026-11-30",
        },
    )
    assert r.status_code == 303, re.findall(r"(?:field-error|flash error)[^>]*>([^<]*)", r.text)
    location = r.headers["location"]
    assert "?" not in location and "notice" not in location
    page = await browser.get(location)
    assert "已登记" in page.text
    code = re.search(
        r'id="query-code"><strong><code>([A-Z0-9]{5}-[A-Z0-9]{5})</code></strong>', page.text
    )
    assert code is not None
    # Shown once: the next visit of the page has no message, but the code stays for the clerk.
    again = await browser.get(location)
    assert "已登记" not in again.text and code.group(1) in again.text
    # The reviewer sees the petitioners masked: no code for him.
    await second.sign_in("reviewer")
    assert code.group(1) not in (await second.get(location)).text


async def test_a_forged_calendar_confirmation_is_refused_not_crashed(
    browser: Console, world: World
) -> None:
    """Found by the console fuzzer: the preview's carried schedule was decoded unchecked."""
    await browser.sign_in("admin")
    for carried in ("{", "7", '{"holidays": 3}'):
        r = await browser.post("/admin/calendar/2027", {"schedule": carried, "confirm": "yes"})
        assert r.status_code == 400 and "导入预览已失效" in r.text, r.text[-500:]
