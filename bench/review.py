"""Monthly review benchmark: the district-wide export of one month over a million cases,
against the bare SQL aggregates it runs (the floor).

Set-up (one fresh PostgreSQL database): the org through the services (a district,
27 townships with 2 villages each, 5 departments, 35 leaders, a reviewer with a token),
then N cases (default 1,000,000) over the last 5 years written with COPY
(asyncpg `copy_records_to_table`): each case with its petitioner (ID number, phone and
address sealed with tests.live.TEST_KEYS — AES-GCM, the row id in the associated data — and
blind indexes beside them, as `reception.pii` writes them), its accept clock and,
once accepted, its handle clock (on time / late / still running past due), replies,
deliveries, evaluations and resolutions consistent with its stage, ~5% with 包案 rows
(some reassigned), ~55% repeat petitions, ~75% letter+online+phone; plus monthly reception
days with appointments, field visits, incidents and one backlog campaign. Then VACUUM (ANALYZE),
as autovacuum leaves a table after a bulk insert.

Measured in the same run (median of --runs, after one unmeasured warm-up each):
- floor: the exact statements one in-process export issues (captured with a SQLAlchemy
  `before_cursor_execute` listener), replayed in order with raw asyncpg on one connection,
  every row fetched;
- in-process: `service.review(...)` for the whole district and the month, then
  `writers.to_json` / `writers.to_xlsx`, with a session from `reception.db`;
- HTTP: GET /api/reports/review?month=…&format=json|xlsx with a reviewer token against a real
  `reception serve` (tests.live.serve, loopback), whole body read.
Targets: JSON <= 1.5 x floor, XLSX <= 3 x floor; over HTTP (#26), the whole district's month
as JSON <= 1.0 s and as XLSX <= 1.5 s (medians), printed beside the floor. Each verdict is
printed beside its figure and again in the summary at the end (the exit code only says whether
every HTTP answer was 200).

Database: `reception_bench_<random>` on postgresql://postgres@127.0.0.1:5432 (trust auth;
override the server with RECEPTION_BENCH_PG_URL), migrated to head, dropped at the end
unless --keep.

    .venv/bin/python bench/review.py [--cases 1000000] [--month 2026-10] [--runs 3] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
import uuid
from array import array
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.live import TEST_KEYS, serve  # noqa: E402

from reception.config import Settings as _Settings  # noqa: E402
from reception.context import Context  # noqa: E402
from reception.crypto import Keyring  # noqa: E402

# Benchmarks run on the real date (their data is built around it).
CTX = Context.of(_Settings(data_keys=TEST_KEYS))
# The keys the server is started with (tests.live.serve): the COPY'd rows are sealed and
# indexed with them exactly as reception.pii does, so the service opens and finds them.
KEYS = Keyring.parse(TEST_KEYS, "bench")

PG_SERVER = os.environ.get("RECEPTION_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")
TIME_LIMIT = 900.0  # seconds, per phase (set-up, each measured figure)
YEARS = 5
CHUNK = 50_000
JSON_TARGET = 1.5  # x floor
XLSX_TARGET = 3.0  # x floor
HTTP_JSON_TARGET_S = 1.0
HTTP_XLSX_TARGET_S = 1.5

TOWNSHIPS = [
    "渔阳镇", "洇溜镇", "官庄镇", "马伸桥镇", "下营镇", "邦均镇", "别山镇", "尤古庄镇",
    "上仓镇", "下仓镇", "罗庄子镇", "白涧镇", "侯家营镇", "桑梓镇", "东施古镇", "下窝头镇",
    "杨津庄镇", "出头岭镇", "西龙虎峪镇", "穿芳峪镇", "东二营镇", "许家台镇", "礼明庄镇",
    "东赵各庄镇", "文昌街道", "北环街道", "南环街道",
]  # fmt: skip
DEPARTMENTS = ["区住建委", "区人社局", "区规划资源局", "区农业农村委", "区退役军人局"]
DISTRICT_LEADERS = [
    ("区委书记", 1), ("区长", 1), ("常务副区长", 1), ("副区长", 3), ("区委常委", 2),
]  # fmt: skip
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国红梅志文"
CHANNELS = ["letter", "online", "phone", "visit", "grid_proxy"]
CHANNEL_WEIGHTS = [0.26, 0.36, 0.14, 0.19, 0.05]  # 信网电 76%

CASE_COLUMNS = (
    "id", "reference", "ref_year", "ref_seq", "channel", "category_code", "summary", "unit_id",
    "people_count", "collective", "source", "source_batch", "received_on", "registered_on",
    "stage", "simple_procedure", "first_time", "repeat_of_id", "accepted_on",
    "rejection_reason", "diverted_to", "reply_doc_number", "replied_on", "delivery_method",
    "delivered_on", "review_requested_on", "closed_on", "resolution", "resolution_on",
    "resolution_method", "resolution_evidence", "satisfaction", "evaluated_on",
    "registered_by_name", "version", "created_at", "updated_at",
)  # fmt: skip
CLOCK_COLUMNS = (
    "id", "case_id", "kind", "round", "started_on", "length", "working_days", "original_due",
    "current_due", "extended_days", "status", "met_on", "on_time", "provisional",
    "created_at", "updated_at",
)  # fmt: skip
PETITIONER_COLUMNS = (
    "id", "case_id", "position", "name", "id_number_sealed", "id_number_index", "phone_sealed",
    "phone_index", "address_sealed",
)  # fmt: skip
DELIVERY_COLUMNS = (
    "id", "case_id", "doc_number", "method", "outcome", "delivered_on", "place", "recipient",
    "no_recipient_reason", "witnesses", "entrusted_to", "mail_number", "consent", "carrier",
    "posted_on", "failure_reason", "note", "legacy_method", "staff_user_id", "staff_name",
    "evidence", "evidence_type", "evidence_checksum", "created_at",
)  # fmt: skip
OWNERSHIP_COLUMNS = (
    "id", "case_id", "leader_id", "responsible_unit_id", "plan", "target_date",
    "stability_contact", "reason", "started_on", "started_at", "ended_on", "ended_at",
    "end_reason", "assigned_by_name",
)  # fmt: skip
SESSION_COLUMNS = (
    "id", "uid", "leader_id", "kind", "venue_id", "unit_id", "address", "purpose", "local_date",
    "starts_at", "ends_at", "slot_minutes", "people_per_slot", "status", "sequence",
    "provisional", "edited", "outcome", "created_at", "updated_at",
)  # fmt: skip
SLOT_COLUMNS = ("id", "session_id", "slot_index", "starts_at", "ends_at", "capacity", "booked")
APPOINTMENT_COLUMNS = (
    "id", "session_id", "slot_id", "petitioner_name", "petitioner_phone_sealed",
    "petitioner_phone_index", "petitioner_id_number_sealed", "petitioner_id_number_index",
    "matter_summary", "party_size", "collective", "representatives", "places", "case_id",
    "status", "booked_by_name", "created_at", "updated_at",
)  # fmt: skip


def with_db(server: str, name: str, *, driver: str = "") -> str:
    scheme, rest = server.split("://", 1)
    if driver:
        scheme = "postgresql+" + driver
    return f"{scheme}://{rest.rstrip('/')}/{name}"


def previous_month(today: date) -> str:
    first = today.replace(day=1) - timedelta(days=1)
    return f"{first.year:04d}-{first.month:02d}"


def local_instant(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC) - timedelta(hours=8)


# ---------------------------------------------------------------- org (through the services)


class Org:
    district: int
    townships: list[int]
    villages: dict[int, list[int]]
    departments: list[int]
    district_leaders: list[int]
    township_leaders: dict[int, int]
    venue: int
    token: str
    categories: list[str]


async def build_org(maker: Any) -> Org:
    from reception.cases import registration
    from reception.org import schemas
    from reception.org import service as org_service

    o = Org()
    async with maker() as s:

        async def unit(name: str, kind: str, parent: int | None) -> int:
            data = schemas.UnitCreate(name=name, kind=kind, parent_id=parent)
            created = await org_service.create_unit(session=s, actor=None, data=data)
            assert created.id is not None
            return created.id

        async def leader(name: str, title: str, unit_id: int) -> int:
            data = schemas.LeaderCreate(name=name, title=title, unit_id=unit_id)
            created = await org_service.create_leader(session=s, actor=None, data=data)
            assert created.id is not None
            return created.id

        o.district = await unit("蓟州区", "district", None)
        o.townships, o.villages, o.township_leaders = [], {}, {}
        for i, name in enumerate(TOWNSHIPS):
            t = await unit(name, "township", o.district)
            o.townships.append(t)
            o.villages[t] = [await unit(f"{name}第{k + 1}村", "village", t) for k in range(2)]
            o.township_leaders[t] = await leader(f"{SURNAMES[i]}某{GIVEN[i]}", f"{name}党委书记", t)
        o.departments = [await unit(name, "department", o.district) for name in DEPARTMENTS]
        o.district_leaders = []
        k = 0
        for title, n in DISTRICT_LEADERS:
            for _ in range(n):
                o.district_leaders.append(
                    await leader(f"{SURNAMES[-1 - k]}某{GIVEN[-1 - k]}", title, o.district)
                )
                k += 1
        venue = await org_service.create_venue(
            session=s,
            actor=None,
            data=schemas.VenueCreate(name="区矛调中心接待室", unit_id=o.district, capacity=12),
        )
        assert venue.id is not None
        o.venue = venue.id
        user = await org_service.create_user(
            session=s, actor=None, data=schemas.UserCreate(name="卫某督", role="reviewer")
        )
        assert user.id is not None
        _, o.token = await org_service.issue_token(session=s, actor=None, user_id=user.id)
        await registration.ensure_default_categories(session=s)
        await s.commit()
    from sqlmodel import select

    from reception.cases.models import CaseCategory

    async with maker() as s:
        o.categories = list((await s.scalars(select(CaseCategory.code))).all())
    return o


# ---------------------------------------------------------------- synthetic cases


class Generator:
    """Deterministic (seeded) cases, each with its petitioner, clocks and 包案 rows.

    Events happen on their own dates; anything after `today` has not happened yet, so a
    case's stored state is the state today."""

    def __init__(self, org: Org, n: int, today: date, seed: int = 20261028) -> None:
        self.org = org
        self.n = n
        self.today = today
        self.start = date(today.year - YEARS, today.month, min(today.day, 28))
        self.span = (today - self.start).days
        self.rng = random.Random(seed)
        # The person behind each case (repeats share their original's person).
        self.person = array("i", [0]) * (n + 1)
        self.seq: Counter[int] = Counter()
        self.clock_id = 0
        self.ownership_id = 0
        self.delivery_id = 0
        self.now = datetime.now(UTC)
        # Responsible units, weighted: townships (and their villages) 80%, departments 15%,
        # the district itself 5%.
        units: list[int] = []
        weights: list[float] = []
        for t in org.townships:
            units += [t, *org.villages[t]]
            weights += [0.8 / len(org.townships) * 0.7] + [0.8 / len(org.townships) * 0.15] * 2
        units += [*org.departments, org.district]
        weights += [0.15 / len(org.departments)] * len(org.departments) + [0.05]
        self.units, self.unit_weights = units, weights
        self.owners = org.district_leaders * 3 + list(org.township_leaders.values())
        self.stats: Counter[str] = Counter()

    def person_fields(self, p: int) -> tuple[str, str, str]:
        name = SURNAMES[p % len(SURNAMES)] + GIVEN[(p // 7) % len(GIVEN)]
        if p % 3:
            name += GIVEN[(p // 131) % len(GIVEN)]
        id_number = f"120225{1950 + p % 50}{1 + p % 12:02d}{1 + p % 28:02d}{p % 10000:04d}"
        return name, id_number[:18], f"139{p % 100_000_000:08d}"

    def petitioner_row(
        self, row_id: int, name: str, id_number: str, phone: str, address: str
    ) -> tuple[Any, ...]:
        """A case_petitioner row as reception.pii writes it: the ID number, phone and address
        sealed with this row's id in the associated data, blind indexes beside them (one
        case, one petitioner: the row id is the case id)."""
        t, seal = "case_petitioner", KEYS.seal
        return (
            row_id, row_id, 0, name,
            seal(id_number, table=t, column="id_number_sealed", row_id=row_id),
            KEYS.blind("id_number", id_number),
            seal(phone, table=t, column="phone_sealed", row_id=row_id),
            KEYS.blind("phone", phone),
            seal(address, table=t, column="address_sealed", row_id=row_id),
        )  # fmt: skip

    def chunk(self, first_id: int, last_id: int) -> dict[str, list[tuple[Any, ...]]]:
        rng, today, now = self.rng, self.today, self.now
        cases: list[tuple[Any, ...]] = []
        clocks: list[tuple[Any, ...]] = []
        petitioners: list[tuple[Any, ...]] = []
        owners: list[tuple[Any, ...]] = []
        deliveries: list[tuple[Any, ...]] = []
        # Cases are numbered in registration order: id i registers on day ~ i/n of the span.
        units = rng.choices(self.units, self.unit_weights, k=last_id - first_id + 1)
        channels = rng.choices(CHANNELS, CHANNEL_WEIGHTS, k=last_id - first_id + 1)
        for k, cid in enumerate(range(first_id, last_id + 1)):
            registered = self.start + timedelta(days=(cid - 1) * self.span // self.n)
            received = registered - timedelta(days=rng.choice((0, 0, 0, 1, 2)))
            year = registered.year
            self.seq[year] += 1
            repeat_of = None
            if cid > 1000 and rng.random() < 0.55:
                repeat_of = rng.randrange(max(1, cid - 200_000), cid - 100)
                self.person[cid] = self.person[repeat_of]
            else:
                self.person[cid] = cid
            first_time = repeat_of is None
            people = 1 if rng.random() < 0.97 else rng.randint(5, 30)
            # Acceptance (受理告知): 15 days; ~93% on time, ~7% late, 0.1% never decided.
            accept_due = registered + timedelta(days=15)
            r = rng.random()
            if r < 0.93:
                decided = registered + timedelta(days=rng.randint(1, 15))
            elif r < 0.999:
                decided = registered + timedelta(days=rng.randint(16, 40))
            else:
                decided = None  # a stuck registration: overdue once past due
            if decided is not None and decided > today:
                decided = None
            stage = "registered"
            accepted_on = replied_on = delivered_on = evaluated_on = None
            review_requested = closed_on = resolution_on = None
            resolution, satisfaction = "unresolved", "not_evaluated"
            diverted_to = rejection = reply_doc = delivery_method = ""
            simple = False
            self.clock_id += 1
            clocks.append(
                (
                    self.clock_id, cid, "accept", 1, registered, 15, False, accept_due,
                    accept_due, 0, "met" if decided else "running", decided,
                    None if decided is None else decided <= accept_due, False, now, now,
                )
            )  # fmt: skip
            if decided is not None:
                d = rng.random()
                if d < 0.07:
                    stage, rejection = "rejected", "不属于信访事项受理范围"
                elif d < 0.13:
                    stage, diverted_to = "diverted", rng.choice(("litigation", "arbitration"))
                else:
                    stage, accepted_on = "accepted", decided
            if accepted_on is not None:
                simple = first_time and rng.random() < 0.12
                length = 10 if simple else 60
                due = accepted_on + timedelta(days=14 if simple else 60)
                extended = 30 if not simple and rng.random() < 0.05 else 0
                current = due + timedelta(days=extended)
                h = rng.random()
                span = (current - accepted_on).days
                if h < 0.90:
                    replied_on = accepted_on + timedelta(days=rng.randint(max(1, span // 4), span))
                elif h < 0.997:
                    replied_on = current + timedelta(days=rng.randint(1, 45))
                else:
                    replied_on = None  # stuck: overdue handling once past due
                if replied_on is not None and replied_on > today:
                    replied_on = None
                stage = "in_progress" if rng.random() < 0.8 or replied_on else "accepted"
                self.clock_id += 1
                clocks.append(
                    (
                        self.clock_id, cid, "simple" if simple else "handle", 1, accepted_on,
                        length, simple, due, current, extended,
                        "met" if replied_on else "running", replied_on,
                        None if replied_on is None else replied_on <= current, False, now, now,
                    )
                )  # fmt: skip
                if replied_on is not None:
                    stage, reply_doc = "replied", f"蓟信复〔{replied_on.year}〕{cid}号"
                    delivery_method = rng.choice(("direct", "mail", "electronic"))
                    x = rng.random()
                    if x < 0.94:
                        delivered_on = replied_on + timedelta(days=rng.randint(0, 5))
                    elif x < 0.97:
                        delivered_on = replied_on + timedelta(days=rng.randint(6, 40))
                    else:
                        delivery_method = ""  # no delivery record
                    if delivered_on is not None and delivered_on > today:
                        delivered_on = None
                    if delivered_on is None:
                        delivery_method = ""
                    else:
                        # The one delivery record (case_delivery), as the service writes it.
                        self.delivery_id += 1
                        deliveries.append(
                            (
                                self.delivery_id, cid, reply_doc, delivery_method, "delivered",
                                delivered_on, "", "信访人本人", "", "", "",
                                f"1190{cid:09d}" if delivery_method == "mail" else "",
                                "网上信访电子送达同意书" if delivery_method == "electronic" else "",
                                "", None, "", "", "", None, "冯某登", b"", "", "", now,
                            )
                        )  # fmt: skip
                    if rng.random() < 0.82:
                        evaluated_on = replied_on + timedelta(days=rng.randint(0, 20))
                        if evaluated_on > today:
                            evaluated_on = None
                        else:
                            satisfaction = rng.choices(
                                ("satisfied", "basically_satisfied", "dissatisfied"),
                                (0.62, 0.26, 0.12),
                            )[0]
                    if rng.random() < 0.72:
                        resolution_on = replied_on + timedelta(days=rng.randint(0, 30))
                        if resolution_on > today:
                            resolution_on = None
                        else:
                            resolution = "resolved" if rng.random() < 0.8 else "ceased"
                    if delivered_on is not None and satisfaction == "dissatisfied":
                        if rng.random() < 0.3:
                            review_requested = delivered_on + timedelta(days=rng.randint(1, 30))
                            if review_requested > today:
                                review_requested = None
                            else:
                                stage = "review"
                    if (
                        stage == "replied"
                        and delivered_on
                        and delivered_on + timedelta(days=30) < today
                    ):
                        stage, closed_on = "closed", delivered_on + timedelta(days=31)
            self.stats[stage] += 1
            self.stats["repeat" if repeat_of else "first_time"] += 1
            channel = channels[k]
            name, id_number, phone = self.person_fields(self.person[cid])
            cases.append(
                (
                    cid, f"蓟信〔{year}〕{self.seq[year]:06d}号", year, self.seq[year], channel,
                    self.org.categories[cid % len(self.org.categories)],
                    "反映" + ("工资拖欠" if cid % 3 else "房屋质量") + "问题", units[k], people,
                    people >= 5, "own" if cid % 10 else "city", "", received, registered, stage,
                    simple, first_time, repeat_of, accepted_on, rejection, diverted_to,
                    reply_doc, replied_on, delivery_method, delivered_on, review_requested,
                    closed_on, resolution, resolution_on,
                    "政策解释" if resolution_on else "", "", satisfaction, evaluated_on,
                    "冯某登", 1, now, now,
                )
            )  # fmt: skip
            petitioners.append(self.petitioner_row(cid, name, id_number, phone, "天津市蓟州区"))
            # 包案: ~5% of cases, mostly the harder ones; some were reassigned once.
            if rng.random() < 0.05:
                start = registered + timedelta(days=rng.randint(1, 20))
                if start <= today:
                    unit_id = units[k]
                    if rng.random() < 0.15:
                        end = start + timedelta(days=rng.randint(10, 120))
                        if end < today:
                            self.ownership_id += 1
                            owners.append(
                                (
                                    self.ownership_id, cid, rng.choice(self.owners), unit_id,
                                    "包案化解方案", start + timedelta(days=90), "网格员 13900000000",
                                    "领导包案", start, local_instant(start, 10), end,
                                    local_instant(end, 10), "工作调整", "冯某登",
                                )
                            )  # fmt: skip
                            start = end
                    self.ownership_id += 1
                    owners.append(
                        (
                            self.ownership_id, cid, rng.choice(self.owners), unit_id,
                            "包案化解方案", start + timedelta(days=90), "网格员 13900000000",
                            "领导包案", start, local_instant(start, 10), None, None, "",
                            "冯某登",
                        )
                    )  # fmt: skip
        return {
            "petition_case": cases,
            "case_petitioner": petitioners,
            "case_clock": clocks,
            "case_ownership": owners,
            "case_delivery": deliveries,
        }


COLUMNS = {
    "petition_case": CASE_COLUMNS,
    "case_petitioner": PETITIONER_COLUMNS,
    "case_clock": CLOCK_COLUMNS,
    "case_ownership": OWNERSHIP_COLUMNS,
    "case_delivery": DELIVERY_COLUMNS,
    "reception_session": SESSION_COLUMNS,
    "session_slot": SLOT_COLUMNS,
    "appointment": APPOINTMENT_COLUMNS,
}


def sessions_and_appointments(
    org: Org, start: date, today: date, rng: random.Random, n_cases: int
) -> dict[str, list[tuple[Any, ...]]]:
    """Every leader: a reception day on the 20th of each month (09:00-12:00, 6 slots,
    ~5 appointments) and a field visit on the 10th (14:00-17:00)."""
    leaders = org.district_leaders + list(org.township_leaders.values())
    home = {lid: org.district for lid in org.district_leaders}
    home.update({lid: t for t, lid in org.township_leaders.items()})
    now = datetime.now(UTC)
    sessions, slots, appointments = [], [], []
    sid = slot_id = appt_id = 0
    month = date(start.year, start.month, 1)
    while month <= today:
        for lid in leaders:
            day = month.replace(day=20)
            if day.weekday() >= 5:
                day += timedelta(days=7 - day.weekday())
            past = day < today
            status = "scheduled" if not past else ("cancelled" if rng.random() < 0.05 else "held")
            sid += 1
            sessions.append(
                (
                    sid, f"bench-{uuid.uuid4()}", lid, "reception", org.venue, None, "", "",
                    day, local_instant(day, 9), local_instant(day, 12), 30, 3, status, 0,
                    False, False, "", now, now,
                )
            )  # fmt: skip
            first_slot = slot_id + 1
            for i in range(6):
                slot_id += 1
                slots.append(
                    (
                        slot_id, sid, i, local_instant(day, 9) + timedelta(minutes=30 * i),
                        local_instant(day, 9) + timedelta(minutes=30 * (i + 1)), 3, 0,
                    )
                )  # fmt: skip
            if status != "cancelled":
                for a in range(rng.randint(2, 8)):
                    appt_id += 1
                    if not past:
                        state = "booked"
                    else:
                        state = rng.choices(
                            ("completed", "checked_in", "no_show", "cancelled"),
                            (0.8, 0.05, 0.1, 0.05),
                        )[0]
                    # Most received visitors have a case registered; some do not (应登不登).
                    case_id = (
                        rng.randint(1, n_cases)
                        if state in ("completed", "checked_in") and rng.random() < 0.9
                        else None
                    )
                    appointments.append(
                        (
                            appt_id, sid, first_slot + a % 6, f"来访人{appt_id}", "", "", "",
                            "", "反映问题", 1, False, "[]", 1, case_id, state, "孙某秘", now,
                            now,
                        )
                    )  # fmt: skip
            visit_day = month.replace(day=10)
            sid += 1
            visit_status = "scheduled" if visit_day >= today else "held"
            sessions.append(
                (
                    sid, f"bench-{uuid.uuid4()}", lid, "field_visit", None,
                    rng.choice(org.townships) if home[lid] == org.district else home[lid],
                    "", "带案下访", visit_day, local_instant(visit_day, 14),
                    local_instant(visit_day, 17), None, None, visit_status, 0, False, False,
                    "", now, now,
                )
            )  # fmt: skip
        month = (month + timedelta(days=32)).replace(day=1)
    # slot bookings follow the appointments (places taken by non-cancelled ones)
    booked: Counter[int] = Counter(a[2] for a in appointments if a[12] != "cancelled")
    slots = [(*s[:6], booked[s[0]]) for s in slots]
    return {"reception_session": sessions, "session_slot": slots, "appointment": appointments}


async def copy_rows(pool: asyncpg.Pool, table: str, rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    async with pool.acquire() as conn:
        await conn.copy_records_to_table(table, records=rows, columns=list(COLUMNS[table]))


async def seed_data(pool: asyncpg.Pool, org: Org, n: int, today: date) -> dict[str, Any]:
    gen = Generator(org, n, today)
    t0 = time.perf_counter()
    gen_s = 0.0
    pending: asyncio.Future[Any] | None = None
    for first in range(1, n + 1, CHUNK):
        g0 = time.perf_counter()
        # Generated on a thread while PostgreSQL ingests the previous chunk.
        batch = await asyncio.to_thread(gen.chunk, first, min(n, first + CHUNK - 1))
        gen_s += time.perf_counter() - g0
        if pending is not None:
            await pending
        pending = asyncio.ensure_future(
            asyncio.gather(*(copy_rows(pool, t, rows) for t, rows in batch.items()))
        )
        await asyncio.sleep(0)
    if pending is not None:
        await pending
    cases_s = time.perf_counter() - t0
    rng = random.Random(7)
    extra = sessions_and_appointments(org, gen.start, today, rng, n)
    for table in ("reception_session", "session_slot", "appointment"):
        await copy_rows(pool, table, extra[table])
    async with pool.acquire() as conn:
        # Incidents (三无): a few townships lose their status each year.
        for year in range(gen.start.year, today.year + 1):
            for t in rng.sample(org.townships, 6):
                kind = rng.choice(("beijing_irregular", "city_collective", "online_opinion"))
                day = date(year, rng.randint(1, 12), rng.randint(1, 28))
                if gen.start <= day <= today:
                    await conn.execute(
                        "INSERT INTO incident (kind, unit_id, occurred_on, people_count, "
                        "description, recorded_by_name, created_at) "
                        "VALUES ($1, $2, $3, NULL, '', '冯某登', now())",
                        kind,
                        t,
                        day,
                    )
        # One backlog campaign (积案化解专项): 5,000 old cases, three dated targets.
        campaign = await conn.fetchval(
            "INSERT INTO campaign (name, description, created_at) "
            "VALUES ('信访积案化解专项行动', '', now()) RETURNING id"
        )
        y = today.year
        for due, pct in ((date(y - 1, 12, 31), 32), (date(y, 7, 1), 80), (date(y, 12, 31), 100)):
            await conn.execute(
                "INSERT INTO campaign_target (campaign_id, due_on, percent) VALUES ($1, $2, $3)",
                campaign,
                due,
                pct,
            )
        await conn.execute(
            "INSERT INTO campaign_case (campaign_id, case_id) "
            "SELECT $1, id FROM petition_case WHERE registered_on < $2 "
            "AND resolution = 'unresolved' ORDER BY id LIMIT 4000",
            campaign,
            date(y - 1, 1, 1),
        )
        await conn.execute(
            "INSERT INTO campaign_case (campaign_id, case_id) "
            "SELECT $1, id FROM petition_case WHERE registered_on < $2 "
            "AND resolution <> 'unresolved' ORDER BY id LIMIT 1000",
            campaign,
            date(y - 1, 1, 1),
        )
        for table, column in (
            ("petition_case", "id"),
            ("case_clock", "id"),
            ("case_petitioner", "id"),
            ("case_ownership", "id"),
            ("case_delivery", "id"),
            ("reception_session", "id"),
            ("session_slot", "id"),
            ("appointment", "id"),
        ):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                f"(SELECT coalesce(max({column}), 1) FROM {table}))"
            )
        await conn.execute(
            "INSERT INTO case_counter (year, last) "
            "SELECT ref_year, max(ref_seq) FROM petition_case GROUP BY ref_year "
            "ON CONFLICT (year) DO UPDATE SET last = excluded.last"
        )
        # What the clocks' flush keeps in the service (cases.clocks): each case's next office
        # deadline, from the COPY'd clocks.
        await conn.execute(
            "UPDATE petition_case p SET next_office_due = c.due FROM ("
            "SELECT case_id, min(current_due) AS due FROM case_clock WHERE status = 'running' "
            "AND kind IN ('accept', 'handle', 'simple', 'review', 're_review', 'objection') "
            "GROUP BY case_id) c WHERE c.case_id = p.id"
        )
        a0 = time.perf_counter()
        # VACUUM too, as autovacuum does after a bulk insert (PostgreSQL ≥ 13 vacuums
        # insert-only tables): the visibility map lets index-only scans skip the table.
        await conn.execute("VACUUM (ANALYZE)")
        analyze_s = time.perf_counter() - a0
        counts = {
            t: await conn.fetchval(f"SELECT count(*) FROM {t}")
            for t in (
                "petition_case",
                "case_petitioner",
                "case_clock",
                "case_ownership",
                "reception_session",
                "appointment",
                "incident",
                "campaign_case",
            )
        }
        size = await conn.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))")
    return {
        "generate_s": gen_s,
        "cases_s": cases_s,
        "analyze_s": analyze_s,
        "counts": counts,
        "size": size,
        "stats": gen.stats,
        "start": gen.start,
    }


# ---------------------------------------------------------------- measurement


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


async def timed(runs: int, one: Callable[[], Awaitable[Any]]) -> tuple[list[float], Any]:
    """One unmeasured warm-up, then `runs` timed calls; bounded by TIME_LIMIT."""

    async def all_runs() -> tuple[list[float], Any]:
        result = await one()
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            result = await one()
            times.append(time.perf_counter() - t0)
        return times, result

    return await asyncio.wait_for(all_runs(), timeout=TIME_LIMIT)


async def capture_statements(maker: Any, month: str) -> list[tuple[str, tuple[Any, ...]]]:
    """The statements one in-process export issues, as sent to asyncpg."""
    from sqlalchemy import event

    from reception.reports import service

    captured: list[tuple[str, tuple[Any, ...]]] = []

    def listener(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: Any):
        captured.append((statement, tuple(params or ())))

    async with maker() as s:
        engine = s.bind
        event.listen(engine.sync_engine, "before_cursor_execute", listener)
        try:
            await service.review(session=s, ctx=CTX, actor=None, month=month)
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", listener)
    return captured


async def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--month", default=None, help="YYYY-MM (default: last full month)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per figure (median)")
    parser.add_argument("--workers", type=int, default=2, help="server workers")
    parser.add_argument("--keep", action="store_true", help="keep the database (print its URL)")
    args = parser.parse_args()
    if args.cases < 2000:
        parser.error("--cases must be at least 2000")

    from reception.config import Settings
    from reception.context import SystemClock
    from reception.db import create_engine, create_sessionmaker, migrate
    from reception.reports import service, writers

    today = CTX.today()
    month = args.month or previous_month(today)
    load_before = f"{os.getloadavg()[0]:.2f}"
    name = f"reception_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(with_db(PG_SERVER, "postgres"))
    await admin.execute(f'CREATE DATABASE "{name}"')
    sa_url = with_db(PG_SERVER, name, driver="asyncpg")
    raw_url = with_db(PG_SERVER, name)
    ok = True
    try:
        s0 = time.perf_counter()
        await asyncio.to_thread(migrate, sa_url, "upgrade", "head")
        migrate_s = time.perf_counter() - s0
        engine = create_engine(Settings(database_url=sa_url, data_keys=TEST_KEYS))
        maker = create_sessionmaker(engine, SystemClock())
        o0 = time.perf_counter()
        org = await build_org(maker)
        org_s = time.perf_counter() - o0
        # Bulk load: the generated rows are consistent by construction, so the per-row
        # foreign-key triggers are skipped (session_replication_role = replica, superuser).
        pool = await asyncpg.create_pool(
            raw_url,
            min_size=4,
            max_size=4,
            server_settings={"session_replication_role": "replica"},
        )
        try:
            seeded = await asyncio.wait_for(
                seed_data(pool, org, args.cases, today), timeout=TIME_LIMIT * 2
            )
        finally:
            await pool.close()
        setup_s = time.perf_counter() - s0

        # Warm once (the first review seeds categories and calendar years), then capture.
        async with maker() as s:
            await service.review(session=s, ctx=CTX, actor=None, month=month)
            await s.commit()
        statements = await capture_statements(maker, month)
        selects = [(q, p) for q, p in statements if q.lstrip().upper().startswith("SELECT")]
        print(f"captured {len(statements)} statements, {len(selects)} SELECTs", flush=True)

        # The floor gets the best plans PostgreSQL can make for these statements: a custom
        # plan every time (a cached generic plan can be 30x slower here).
        conn = await asyncpg.connect(
            raw_url, server_settings={"plan_cache_mode": "force_custom_plan"}
        )
        per_statement: list[list[float]] = [[] for _ in selects]
        rows_fetched = [0] * len(selects)

        async def floor_once() -> None:
            async with conn.transaction(readonly=True):
                for i, (q, p) in enumerate(selects):
                    t0 = time.perf_counter()
                    rows_fetched[i] = len(await conn.fetch(q, *p))
                    per_statement[i].append(time.perf_counter() - t0)

        report_holder: dict[str, Any] = {}

        async def in_process(fmt: str) -> Callable[[], Awaitable[bytes]]:
            async def one() -> bytes:
                async with maker() as s:
                    report = await service.review(session=s, ctx=CTX, actor=None, month=month)
                    report_holder["report"] = report
                body = await asyncio.to_thread(writers.WRITERS[fmt], report)
                return body

            return one

        async def review_only() -> None:
            async with maker() as s:
                await service.review(session=s, ctx=CTX, actor=None, month=month)

        try:
            floor_t, _ = await timed(args.runs, floor_once)
            for times in per_statement:
                del times[0]  # the warm-up
            review_t, _ = await timed(args.runs, review_only)
            json_t, json_body = await timed(args.runs, await in_process("json"))
            xlsx_t, xlsx_body = await timed(args.runs, await in_process("xlsx"))
            report = report_holder["report"]
            w0 = time.perf_counter()
            for _ in range(args.runs):
                writers.to_json(report)
            json_write = (time.perf_counter() - w0) / args.runs
            w0 = time.perf_counter()
            for _ in range(args.runs):
                writers.to_xlsx(report)
            xlsx_write = (time.perf_counter() - w0) / args.runs
        finally:
            await conn.close()
        await engine.dispose()

        http: dict[str, tuple[list[float], int]] = {}
        with serve(sa_url, workers=args.workers, now=None) as base:
            headers = {"Authorization": f"Bearer {org.token}"}
            async with httpx.AsyncClient(base_url=base, headers=headers, timeout=600) as client:
                for fmt in ("json", "xlsx"):
                    statuses: Counter[int] = Counter()

                    async def get(fmt: str = fmt, statuses: Counter[int] = statuses) -> int:
                        r = await client.get(
                            "/api/reports/review", params={"month": month, "format": fmt}
                        )
                        statuses[r.status_code] += 1
                        return len(r.content)

                    times, size = await timed(args.runs, get)
                    http[fmt] = (times, size)
                    if statuses != Counter({200: args.runs + 1}):
                        ok = False
                        print(f"HTTP {fmt}: statuses {dict(statuses)}")

        floor = statistics.median(floor_t)
        med = statistics.median
        print(
            f"database: PostgreSQL ({name}); cpu count: {os.cpu_count()}; "
            f"load average before: {load_before}, after: {os.getloadavg()[0]:.2f}"
        )
        c = seeded["counts"]
        print(
            f"data: {c['petition_case']:,} cases from {seeded['start']} to {today}, "
            f"{c['case_petitioner']:,} petitioners, {c['case_clock']:,} clocks, "
            f"{c['case_ownership']:,} ownership rows, {c['reception_session']:,} sessions, "
            f"{c['appointment']:,} appointments, {c['incident']} incidents, "
            f"{c['campaign_case']:,} campaign cases; database size {seeded['size']}"
        )
        st = seeded["stats"]
        n = args.cases
        print(
            f"mix: repeat {st['repeat'] / n:.1%}; stages "
            + ", ".join(f"{k} {v / n:.1%}" for k, v in sorted(st.items()) if k not in (
                "repeat", "first_time"))
        )  # fmt: skip
        print(
            f"set-up: {setup_s:.1f} s total = migrate {migrate_s:.1f} s + org via services "
            f"{org_s:.1f} s + cases COPY {seeded['cases_s']:.1f} s (of which Python generation "
            f"{seeded['generate_s']:.1f} s) + sessions/incidents/campaign + VACUUM ANALYZE "
            f"{seeded['analyze_s']:.1f} s"
        )
        headline = report["total"]
        print(
            f"report {month} (as of {report['as_of']}), whole district: "
            f"{len(report['units'])} unit rows, new {headline['new_cases']:,}, "
            f"repeat share {headline['repeat_share']}, 信网电 {headline['remote_share']}, "
            f"及时受理率 {headline['timely_accept_rate']}, "
            f"按期办结率 {headline['on_time_handle_rate']}, "
            f"{len(report['overdue_cases']):,} overdue cases, "
            f"{len(report['delivery_irregular']):,} delivery problems, "
            f"{len(report['unregistered'])} 应登不登; JSON {len(json_body):,} B, "
            f"XLSX {len(xlsx_body):,} B"
        )
        http_json, http_xlsx = med(http["json"][0]), med(http["xlsx"][0])
        absolute = {
            fmt: f"target <= {target} s: {verdict(value <= target)}"
            for fmt, value, target in (
                ("json", http_json, HTTP_JSON_TARGET_S),
                ("xlsx", http_xlsx, HTTP_XLSX_TARGET_S),
            )
        }
        print()
        print(f"{'what (median of ' + str(args.runs) + ')':58} {'seconds':>9} {'x floor':>8}")
        rows = [
            (f"floor: {len(selects)} captured SELECTs replayed, raw asyncpg", floor, ""),
            ("in-process: service.review() only", med(review_t), ""),
            ("in-process: review() + writers.to_json", med(json_t), ""),
            ("in-process: review() + writers.to_xlsx", med(xlsx_t), ""),
            ("  writers.to_json alone (mean)", json_write, ""),
            ("  writers.to_xlsx alone (mean)", xlsx_write, ""),
            (f"HTTP: GET …&format=json ({http['json'][1]:,} B)", http_json, absolute["json"]),
            (f"HTTP: GET …&format=xlsx ({http['xlsx'][1]:,} B)", http_xlsx, absolute["xlsx"]),
        ]
        for label, value, target in rows:
            print(f"{label:58} {value:9.3f} {value / floor:8.2f}  {target}".rstrip())
        print()
        verdicts = []
        for label, value, target in (
            ("HTTP JSON", http_json, HTTP_JSON_TARGET_S),
            ("HTTP XLSX", http_xlsx, HTTP_XLSX_TARGET_S),
        ):
            verdicts.append(
                f"{label:16} = {value:6.3f} s, floor (its SQL replayed) {floor:6.3f} s  "
                f"(target <= {target} s: {verdict(value <= target)})"
            )
            print(verdicts[-1])
        for label, value, target in (
            ("in-process JSON", med(json_t), JSON_TARGET),
            ("HTTP JSON", http_json, JSON_TARGET),
            ("in-process XLSX", med(xlsx_t), XLSX_TARGET),
            ("HTTP XLSX", http_xlsx, XLSX_TARGET),
        ):
            ratio = value / floor
            verdicts.append(
                f"ratio {label:16} / floor = {ratio:5.2f}  (target <= {target}: "
                f"{verdict(ratio <= target)})"
            )
            print(verdicts[-1])
        print()
        print("floor by statement (median s, rows), slowest first:")
        order = sorted(range(len(selects)), key=lambda i: -med(per_statement[i]))
        for i in order[:8]:
            text = " ".join(selects[i][0].split())
            print(f"  {med(per_statement[i]):7.3f} {rows_fetched[i]:7d}  {text[:110]}")
        print("\nverdicts:")
        for line in verdicts:
            print(f"  {line}")
        if args.keep:
            print(f"\nkept: {sa_url}")
    finally:
        if not args.keep:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
