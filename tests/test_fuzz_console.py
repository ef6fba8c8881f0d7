"""The HTML side fuzzed like the API (tests/test_fuzz.py): every console and public page, GET
with generated path and query values, POST forms with generated fields — signed in as each
role with a valid session and CSRF token, or not signed in. A 5xx, or an error logged by the
service (a traceback), fails the test. On SQLite and on PostgreSQL.

Routes come from the application itself, so a page added later is fuzzed without being listed
here; field names come from the templates' own forms (plus some no form has)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar

from reception.app import create_app
from reception.config import Settings
from reception.context import FixedClock
from reception.db import migrate
from tests.builders import World, at, build_world, case_body, future_workday, give_passwords
from tests.conftest import NOW, auth, create_pg_database, drop_pg_database
from tests.console import Console
from tests.live import TEST_KEYS

TEMPLATES = Path(__file__).resolve().parent.parent / "src" / "reception" / "templates"
NOT_HTML = ("/api", "/schema", "/static", "/feeds", "/health", "/public/api")
# Routes that end the fuzzer's own sign-in are fuzzed without it (they would end the run's
# sessions): signing out, and the user pages for the fuzzer's own logins (filtered below).
ENDS_SESSION = {("POST", "/logout")}
EXAMPLES = int(__import__("os").environ.get("RECEPTION_FUZZ_EXAMPLES", "100"))

# Values people (and attackers) type: wrong types, out-of-range numbers and dates, other
# scripts' digits, markup, control characters, very long text.
TRICKY = [
    "", " ", "0", "-1", "1", "2", "3", "7", "99999999999", "2147483648", "-2147483649",
    "1e309", "NaN", "true", "on", "2026-12-01", "2026-11", "2026-02-30", "0000-01",
    "9999-12-31", "0001-01-01", "２０２６-１１", "２０２６-１２-０１", "١٢٣", "2026-13",
    "09:00", "25:61", "<script>alert(1)</script>", "'\" OR 1=1 --", "../../etc/passwd",
    "=HYPERLINK(\"http://x\")", "李\x00四", "a\x07b", "\u202e反转", "😀" * 3, "x" * 5000,
    "蓟信〔2026〕00001", "11010519491231002X", "13812345678", "accept", "reply", "deliver",
    "housing", "visit", "admin", "secretary", "satisfied", "resolved", "direct", "public",
    "accept_notice", "reply_opinion", "webhook", "dingtalk", "leader", "unit", "xlsx", "csv",
]  # fmt: skip
values = st.one_of(st.sampled_from(TRICKY), st.text(max_size=40))
ids = st.one_of(
    st.integers(min_value=1, max_value=12),
    st.sampled_from([0, 2**31 - 1, 2**31, 2**63, 10**20]),
    st.integers(min_value=-5, max_value=2**40),
)
# By what a field or parameter holds (its type, or what its name says), the values most
# likely to break it, beside everything else.
DATES = st.one_of(
    st.dates().map(str),
    st.sampled_from(["0001-01-01", "9999-12-31", "2026-02-30", "2000-01-01", "2100-12-31"]),
    st.sampled_from(["２０２６-１２-０１", "2026-1-1", "20261201", "2026/12/01", "1999-12-31"]),
)
MONTHS = st.one_of(
    st.dates().map(lambda d: str(d)[:7]),
    st.sampled_from(["0000-01", "9999-12", "２０２６-１１", "2026-00", "2026-1", "2100-12"]),
)
NUMBERS = st.one_of(ids.map(str), st.sampled_from(["", "１２", "1.5", "-0", "+3", "0x10", "1e3"]))


def _by_kind(kind: str) -> st.SearchStrategy[str]:
    special = {"date": DATES, "month": MONTHS, "int": NUMBERS}.get(kind)
    return st.one_of(special, values) if special is not None else values


def _kind_of_field(name: str) -> str:
    if name == "month":
        return "month"
    if name.endswith(("_on", "date", "_from", "_to", "until", "week")) or name in ("on",):
        return "date"
    if name.endswith(("_id", "_ids", "days", "count", "size", "index", "slot", "year", "page")):
        return "int"
    return "text"


def _form_fields() -> list[str]:
    names: set[str] = set()
    for path in TEMPLATES.rglob("*.html"):
        names.update(re.findall(r'\bname="([a-z_]+)"', path.read_text()))
    names.update(
        re.findall(r'field\("([a-z_]+)"', "".join(p.read_text() for p in TEMPLATES.rglob("*.html")))
    )
    names.update(
        re.findall(
            r'select\("([a-z_]+)"', "".join(p.read_text() for p in TEMPLATES.rglob("*.html"))
        )
    )
    return sorted(names | {"id", "leader_ids", "session_id", "slot_index", "force", "kind"})


FIELDS = _form_fields()
ACTIONS = st.sampled_from(
    ["test", "rotate", "finish-rotation", "enable", "disable", "retry-1"]
) | st.text(alphabet=st.characters(min_codepoint=48, max_codepoint=122), min_size=1, max_size=12)
ROLES = [
    "admin", "secadmin", "auditor", "secretary", "clerk_district", "clerk_a", "leader", "reviewer",
    None,
]  # fmt: skip


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    # The query parameters the handler takes, with what each holds (int, date, month, text).
    query: tuple[tuple[str, str], ...]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _routes() -> list[Route]:
    """Every console and public page of the app, with the query names its handler takes."""
    app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:", data_keys=TEST_KEYS))
    out = []
    for route in app.routes:
        if route.path.startswith(NOT_HTML):
            continue
        for handler in getattr(route, "route_handlers", []):
            query = []
            for name, definition in handler.parsed_fn_signature.parameters.items():
                kwarg = definition.kwarg_definition
                if name in ("db", "ctx", "request", "data", "apply_year", "state"):
                    continue
                if name in route.path_parameters:
                    continue
                types = {t.annotation for t in definition.inner_types} | {definition.annotation}
                kind = "int" if int in types else "date" if date in types else "text"
                if "(0[1-9]|1[0-2])$" in str(getattr(kwarg, "pattern", "") or ""):
                    kind = "month"
                query.append((getattr(kwarg, "name", None) or name, kind))
            for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                out.append(Route(method, route.path, tuple(sorted(query))))
    return sorted(set(out), key=str)


ROUTES = _routes()


def test_the_fuzzer_sees_every_page() -> None:
    paths = {r.path for r in ROUTES}
    for expected in ("/cases/{case_id:int}", "/desk", "/review", "/public", "/login"):
        assert expected in paths, paths
    assert len(ROUTES) >= 55


async def _seed(app: Litestar) -> tuple[World, dict[str, dict[str, str]]]:
    """The fuzzer's world, with something on every page (sessions and bookings, cases in
    several stages, a campaign, a feed), and a signed-in console for each role (cookies)."""
    w = await build_world(app.state.sessionmaker)
    await give_passwords(app.state.sessionmaker, w)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        admin, clerk = auth(w.tokens["admin"]), auth(w.tokens["clerk_district"])
        for days, leader in ((7, "mayor"), (21, "mayor"), (28, "deputy")):
            day = future_workday(days)
            r = await client.post(
                "/api/sessions",
                json={
                    "leader_id": w.leaders[leader], "kind": "reception", "venue_id": w.venue,
                    "starts_at": at(day, "09:00"), "ends_at": at(day, "11:00"),
                    "slot_minutes": 30, "people_per_slot": 3,
                },
                headers=admin,
            )  # fmt: skip
            for name in ("张小明", "李四"):
                await client.post(
                    f"/api/sessions/{r.json()['id']}/appointments",
                    json={"petitioner_name": name, "matter_summary": "交房"},
                    headers=admin,
                )
        cases = []
        for unit in (w.township_a, w.township_b, w.department):
            body = case_body(w, unit_id=unit, received_on="2026-11-20", on="2026-11-20")
            cases.append((await client.post("/api/cases", json=body, headers=clerk)).json()["id"])
        first = f"/api/cases/{cases[0]}"
        await client.post(f"{first}/transitions", json={"action": "accept"}, headers=clerk)
        await client.post(
            f"{first}/ownership", json={"leader_id": w.leaders["mayor"]}, headers=clerk
        )
        await client.post(
            "/api/campaigns",
            json={
                "name": "积案化解",
                "targets": [{"due_on": "2026-12-31", "percent": 50}],
                "case_ids": cases,
            },
            headers=clerk,
        )
        await client.post(
            "/api/feeds", json={"scope": "leader", "leader_id": w.leaders["mayor"]}, headers=admin
        )
    cookies: dict[str, dict[str, str]] = {}
    for role in ROLES:
        console = Console(httpx.AsyncClient(transport=transport, base_url="https://test"))
        if role is None:
            await console.get("/login")
        else:
            r = await console.sign_in(role)
            assert r.status_code == 303, (role, r.text[-300:])
        cookies[str(role)] = dict(console.client.cookies)
    return w, cookies


@dataclass
class Fuzzed:
    settings: Settings
    world: World
    cookies: dict[str, dict[str, str]]


@pytest.fixture(scope="module")
def fuzzed(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    """A database of its own for the whole module (per backend), seeded once: the examples
    of every page then run against the same, growing, world."""
    if database_url.startswith("sqlite"):
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}"
    else:
        url = create_pg_database()
    try:
        migrate(url, "upgrade", "head")
        settings_ = Settings(
            database_url=url,
            data_dir=tmp_path_factory.mktemp("fuzz-data"),
            public_url="https://reception.test",
            now=NOW,
            data_keys=TEST_KEYS,
            outbox_worker=False,
        )

        async def seed() -> tuple[World, dict[str, dict[str, str]]]:
            app = create_app(settings_, FixedClock(datetime.fromisoformat(NOW)))
            try:
                return await _seed(app)
            finally:
                await app.state.engine.dispose()

        world, cookies = asyncio.run(seed())
        yield Fuzzed(settings_, world, cookies)
    finally:
        if not url.startswith("sqlite"):
            drop_pg_database(url)


@pytest.fixture
async def consoles(fuzzed: Fuzzed) -> AsyncIterator[dict[str | None, Console]]:
    app = create_app(fuzzed.settings, FixedClock(datetime.fromisoformat(NOW)))
    transport = httpx.ASGITransport(app=app)
    out: dict[str | None, Console] = {}
    for role in ROLES:
        client = httpx.AsyncClient(transport=transport, base_url="https://test")
        client.cookies.update(fuzzed.cookies[str(role)])
        out[role] = Console(client)
    yield out
    await app.state.engine.dispose()


def _fill(path: str, params: dict[str, Any]) -> str:
    return re.sub(r"\{(\w+):\w+\}", lambda m: str(params[m.group(1)]), path)


@pytest.mark.parametrize("route", ROUTES, ids=str)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_no_page_answers_5xx(
    route: Route,
    fuzzed: Fuzzed,
    consoles: dict[str | None, Console],
    caplog: pytest.LogCaptureFixture,
    data: st.DataObject,
) -> None:
    own_users = set(fuzzed.world.users.values())
    role = data.draw(st.sampled_from(ROLES), label="role")
    if (route.method, route.path) in ENDS_SESSION:
        role = None
    params: dict[str, Any] = {}
    for name, kind in re.findall(r"\{(\w+):(\w+)\}", route.path):
        if kind == "int":
            id_values = ids
            if name == "user_id" and route.method == "POST":
                # Not the fuzzer's own logins: resetting one would end its session.
                id_values = ids.filter(lambda v: v not in own_users)
            params[name] = data.draw(id_values, label=name)
        else:
            params[name] = data.draw(ACTIONS, label=name)
    kinds = dict(route.query) | {"notice": "text", "x": "text"}
    names = data.draw(st.sets(st.sampled_from(sorted(kinds)), max_size=4), label="query names")
    query = {n: data.draw(_by_kind(kinds[n]), label=n) for n in sorted(names)}
    console = consoles[role]
    url = _fill(route.path, params)
    caplog.clear()
    if route.method == "GET":
        r = await console.get(url, params=query)
    else:
        fields = data.draw(st.sets(st.sampled_from(FIELDS), max_size=8), label="form fields")
        form = {f: data.draw(_by_kind(_kind_of_field(f)), label=f) for f in sorted(fields)}
        r = await console.post(url, form, params=query)
    errors = [rec.getMessage() for rec in caplog.records if rec.levelno >= logging.ERROR]
    assert r.status_code < 500, (str(route), role, url, query, r.text[-800:])
    assert not errors, (str(route), role, url, errors)
