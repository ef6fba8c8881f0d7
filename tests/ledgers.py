"""Synthetic petition ledgers (信访台账) for import tests, and an independent monthly count.

Deterministic: everything comes from `random.Random(seed)`; no wall clock. Proportions follow
the office's 2020 report (/work/shared/seed): 重复信访 64.6% of the year's matters, 信网电
(letter + online + phone) above 70%, 满意率 92.49%; 涉房 and 涉薪 are the named hot spots.

`write_xlsx` imitates a real office workbook on purpose — a merged title row, a two-row merged
header, a blank row every ~50 cases, dates in seven forms, IDs as text (some with spaces or a
lower-case x), 是/否 booleans, text cells starting with "=", and a footer line "合计：N件" in
column A that is NOT a case. `write_csv` imitates another system's export with synonym headers.
"""

from __future__ import annotations

import calendar
import csv
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from reception.petitioner import id_check_digit

HEADERS = (
    "序号", "登记日期", "信访人", "身份证号", "联系电话", "住址", "信访形式", "反映问题", "问题类别",
    "责任单位", "是否重复", "受理日期", "答复日期", "办理结果", "是否化解", "满意度", "包案领导", "备注",
)  # fmt: skip
# Another system's export names five columns differently; the importer's synonym table maps them.
CSV_HEADERS = tuple(
    {"登记日期": "来信来访日期", "联系电话": "联系方式", "反映问题": "主要诉求",
     "是否重复": "是否重复信访", "办理结果": "处理结果"}.get(h, h) for h in HEADERS
)  # fmt: skip
# Header groups of the XLSX (0-based first..last column); other columns span both header rows.
GROUPS = (("信访人信息", 2, 5), ("办理情况", 11, 15))
COUNTS = (
    "new_cases", "first_time", "repeat", "remote", "accept_due", "accept_on_time", "handle_due",
    "handle_on_time", "replied", "evaluated", "satisfied", "overdue_accept", "overdue_handle",
)  # fmt: skip

# Seed: 信网电占比突破70%, 网上信访成为主要信访模式 -> 72% letter+online+phone.
CHANNELS = {"网上": 43, "来信": 14, "电话": 15, "来访": 22, "网格员代办": 6}
CATEGORIES = {"涉房": 20, "涉薪": 14, "涉众": 6, "涉军": 5, "征地拆迁": 12, "其他": 43}
# Few in Jan/Feb (春节 and the 2020 lockdown); more after the 5-18 矛调中心 opening, in the
# September 重复信访 campaign, and in the year-end wage-arrears season.
MONTH_WEIGHTS = (5, 3, 7, 8, 9, 9, 9, 8, 11, 8, 11, 12)
REPEAT_SHARE = 0.646  # 重复信访占全年信访总量比重64.6%
SATISFIED_SHARE = 0.925  # 群众满意率 92.49%
REMOTE = ("来信", "网上", "电话")

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林郑梁宋韩唐冯于董曹田"
GIVEN = "建国明华军伟芳秀英玉兰志强海春霞桂凤淑德福永宝树金立红丽敏静斌磊洋勇杰涛超鹏宇浩"
TOWNS = (
    "下仓镇",
    "邦均镇",
    "渔阳镇",
    "马伸桥镇",
    "别山镇",
    "上仓镇",
    "官庄镇",
    "桑梓镇",
    "文昌街道",
)
VILLAGES = ("小杨家庄", "东关", "西井峪", "前台头", "后营", "北辛庄", "南赵各庄", "大平安")
ESTATES = ("龙府壹号", "品悦江南", "鸿坤花语", "山湖郡苑", "红星美凯龙公寓")
SUMMARIES = {
    "涉房": ("反映{e}项目开发商逾期未交房，要求尽快交房", "反映{e}小区购房多年未办理不动产权证",
             "反映{e}小区房屋墙体开裂漏水，开发商拒不维修"),
    "涉薪": ("反映在{v}改燃改电工程务工被拖欠工资{n}元，要求帮助追讨",
             "反映某建筑公司拖欠{n}名农民工工资，要求尽快支付", "反映物业公司拖欠保洁人员工资{n}元"),
    "涉众": ("反映参与某投资公司理财后无法兑付本金{n}元", "反映{v}村农民专业合作社集资款无法退还",
             "反映养老服务机构预收费用后停业，要求退款"),
    "涉军": ("反映本人系退役军人，要求落实优抚待遇", "反映退役后社会保险未接续，要求解决",
             "反映参战退役人员生活补助未按时发放"),
    "征地拆迁": ("反映{v}村土地被征收后补偿款未足额发放", "反映拆迁安置房分配不公，要求重新核定",
                 "反映宅基地被占用修路未给予补偿"),
    "其他": ("反映与邻居宅基地界址纠纷，要求调处", "反映{v}村村务不公开，要求查账",
             "反映低保评定不公，要求重新评定", "反映养殖场污染环境、噪声扰民",
             "反映疫情期间医保异地报销困难", "咨询新冠疫情期间返乡务工政策"),
}  # fmt: skip
NOTES = ("市信访办交办", "国家信访局交办", "网格员代办", "疫情期间电话回访", "已转乡镇办理")


@dataclass(frozen=True)
class LedgerRow:
    """One case of the ledger; fields in the order of HEADERS (序号 … 备注)."""

    number: int
    registered_on: date
    name: str
    id_number: str
    phone: str
    address: str
    channel: str
    summary: str
    category: str
    unit: str
    repeat: bool
    accepted_on: date | None
    replied_on: date | None
    outcome: str
    resolved: bool | None
    satisfaction: str
    owner: str
    note: str


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _id_number(rng: random.Random, *, wrong: bool) -> str:
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(60 * 365))
    first = f"{rng.choice(('120119', '120225', '120221'))}{born:%Y%m%d}{rng.randrange(1, 1000):03d}"
    check = id_check_digit(first)
    if wrong:  # a typo in the last character: the importer must flag it, not drop the row
        check = rng.choice([c for c in "0123456789X" if c != check])
    return first + check


def _identity(rng: random.Random) -> tuple[str, str, str, str]:
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    u = rng.random()
    id_number = "" if u < 0.10 else _id_number(rng, wrong=u < 0.13)
    phone = "" if rng.random() < 0.05 else rng.choice(("13", "15", "18", "17", "19"))
    phone = phone and phone + "".join(rng.choice("0123456789") for _ in range(9))
    town = rng.choice(TOWNS)
    if town.endswith("街道"):
        address = f"天津市蓟州区{town}{rng.choice(ESTATES)}{rng.randint(1, 30)}号楼{rng.randint(1, 4)}单元{rng.randint(101, 1802)}"
    else:
        address = f"天津市蓟州区{town}{rng.choice(VILLAGES)}村{rng.randint(1, 300)}号"
    return name, id_number, phone, address


def _summary(rng: random.Random, category: str) -> str:
    template = rng.choice(SUMMARIES[category])
    n = rng.choice((5, 8, 12, 30)) if "名" in template else rng.randrange(3000, 90000, 100)
    return template.format(e=rng.choice(ESTATES), v=rng.choice(VILLAGES), n=n)


def _registration_date(rng: random.Random, year: int) -> date:
    month = rng.choices(range(1, 13), weights=MONTH_WEIGHTS)[0]
    return date(year, month, rng.randint(1, calendar.monthrange(year, month)[1]))


def generate_ledger(
    *, seed: int, rows: int, year: int, units: list[str], leaders: list[str]
) -> list[LedgerRow]:
    rng = random.Random(seed)
    # Chronological like a real ledger, so a repeat always finds its earlier row above it.
    days = sorted(_registration_date(rng, year) for _ in range(rows))
    earlier: dict[tuple[str, str], list[LedgerRow]] = {}
    # Who already has a row on a day: a second repeat of theirs that day would be that row.
    seen_on: dict[date, set[tuple[str, str, str]]] = {}
    out: list[LedgerRow] = []
    for number, registered_on in enumerate(days, start=1):
        category, unit = _pick(rng, CATEGORIES), rng.choice(units)
        # Only an earlier row with an ID or a phone is findable by a repeat check.
        # A repeat comes on a later day than what it repeats (the same day twice is one entry).
        sources = [
            r
            for r in earlier.get((category, unit), [])
            if (r.id_number or r.phone)
            and r.registered_on < registered_on
            and (r.name, r.id_number, r.phone) not in seen_on.get(registered_on, set())
        ]
        repeat = bool(sources) and rng.random() < REPEAT_SHARE
        if repeat:
            src = rng.choice(sources)
            name, id_number, phone, address, summary = (
                src.name, src.id_number, src.phone, src.address, src.summary
            )  # fmt: skip
        else:
            name, id_number, phone, address = _identity(rng)
            summary = _summary(rng, category)
        accepted_on = replied_on = None
        outcome, resolved, satisfaction, note = "办理中", None, "", ""
        u = rng.random()
        if u >= 0.03:  # the other 3% are still undecided when the ledger is exported
            late = rng.random() < 0.08
            accepted_on = registered_on + timedelta(
                days=rng.randint(16, 45) if late else rng.randint(1, 14)
            )
            if u < 0.07:
                outcome, note = "不予受理", "属诉讼范畴，已告知通过法定途径解决"
            elif rng.random() >= 0.06:  # 6% accepted but not yet replied
                late = rng.random() < 0.07
                replied_on = accepted_on + timedelta(
                    days=rng.randint(61, 100) if late else rng.randint(10, 55)
                )
                outcome, resolved = "已办结", rng.random() < 0.85
                if rng.random() < 0.85:
                    if rng.random() < SATISFIED_SHARE:
                        satisfaction = "满意" if rng.random() < 0.7 else "基本满意"
                    else:
                        satisfaction = "不满意"
        owner = rng.choice(leaders) if leaders and rng.random() < 0.05 else ""
        if not note and rng.random() < 0.08:
            note = rng.choice(NOTES)
        row = LedgerRow(
            number, registered_on, name, id_number, phone, address, _pick(rng, CHANNELS),
            summary, category, unit, repeat, accepted_on, replied_on, outcome, resolved,
            satisfaction, owner, note,
        )  # fmt: skip
        earlier.setdefault((category, unit), []).append(row)
        seen_on.setdefault(registered_on, set()).add((name, id_number, phone))
        out.append(row)
    # Two notes a careless export could turn into formulas: they are text and must stay text.
    for i, text in zip(
        rng.sample(range(rows), k=min(2, rows)), ("=1+1", "=SUM(A1:A3)"), strict=False
    ):
        out[i] = replace(out[i], note=text)
    return out


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("是" if value else "否")


def _cells(row: LedgerRow) -> list[object]:
    return [
        row.number, row.registered_on, row.name, row.id_number, row.phone, row.address,
        row.channel, row.summary, row.category, row.unit, _yes_no(row.repeat), row.accepted_on,
        row.replied_on, row.outcome, _yes_no(row.resolved), row.satisfaction, row.owner, row.note,
    ]  # fmt: skip


def write_xlsx(
    rows: Sequence[LedgerRow], path: str | Path, *, sheet: str = "2020年信访台账"
) -> None:
    import xlsxwriter

    year = rows[0].registered_on.year if rows else 2020
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet(sheet)
    title = wb.add_format({"bold": True, "font_size": 16, "align": "center"})
    head = wb.add_format({"bold": True, "border": 1, "align": "center", "valign": "vcenter"})
    as_date = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws.merge_range(0, 0, 0, len(HEADERS) - 1, f"XX区{year}年信访事项登记台账", title)
    grouped = {c for _, a, b in GROUPS for c in range(a, b + 1)}
    for label, a, b in GROUPS:
        ws.merge_range(1, a, 1, b, label, head)
    for c, h in enumerate(HEADERS):
        if c in grouped:
            ws.write_string(2, c, h, head)
        else:
            ws.merge_range(1, c, 2, c, h, head)
    ws.set_column(0, len(HEADERS) - 1, 12)
    ws.set_column(7, 7, 40)
    r, since_blank, blanks, lower_x = 3, 0, 0, 0
    for i, row in enumerate(rows):
        for c, value in enumerate(_cells(row)):
            if value is None or value == "":
                continue  # an empty cell, as clerks leave it
            if isinstance(value, date):
                _write_date(ws, r, c, value, form=(row.number * 3 + c) % 7, fmt=as_date)
            elif isinstance(value, int):
                ws.write_number(r, c, value)
            elif c == 3:
                ident = str(value)
                if ident.endswith("X") and lower_x < 2:
                    ident, lower_x = ident[:-1] + "x", lower_x + 1
                elif row.number % 29 == 0:  # typed in groups, as on the card
                    ident = f"{ident[:6]} {ident[6:14]} {ident[14:]}"
                ws.write_string(r, c, ident)  # text: 18 digits do not fit a float
            elif c == 4 and row.number % 5 == 0:
                ws.write_number(r, c, int(str(value)))  # some phones were typed as numbers
            else:
                ws.write_string(r, c, str(value))  # never write(): "=1+1" must stay text
        r, since_blank = r + 1, since_blank + 1
        if since_blank == (50, 46, 53, 49, 51)[blanks % 5] and i < len(rows) - 1:
            r, since_blank, blanks = r + 1, 0, blanks + 1  # a blank row left between pages
    # Footer: "合计：N件" in column A (merged A:C). It is a total, not a case; importers skip it.
    ws.merge_range(r, 0, r, 2, f"合计：{len(rows)}件", head)
    wb.close()


def _write_date(ws: Any, r: int, c: int, d: date, *, form: int, fmt: Any) -> None:
    """One of seven forms found in real ledgers, chosen per cell."""
    if form == 0:
        ws.write_datetime(r, c, d, fmt)  # a real Excel date
    elif form == 1:
        ws.write_number(r, c, (d - date(1899, 12, 30)).days)  # a bare serial
    else:
        text = (
            f"{d.year}.{d.month}.{d.day}", f"{d.year}年{d.month}月{d.day}日", f"{d:%Y%m%d}",
            f"{d:%Y-%m-%d}", f"{d.year}/{d.month}/{d.day}",
        )[form - 2]  # fmt: skip
        ws.write_string(r, c, text)


def write_csv(rows: Sequence[LedgerRow], path: str | Path, *, encoding: str = "gbk") -> None:
    with open(path, "w", encoding=encoding, newline="") as f:
        out = csv.writer(f)
        out.writerow(CSV_HEADERS)
        for row in rows:
            out.writerow(
                "" if v is None else f"{v.year}/{v.month}/{v.day}" if isinstance(v, date) else v
                for v in _cells(row)
            )


def _due(start: date, days: int, is_workday: Callable[[date], bool]) -> date:
    # Calendar days from the day after `start`; a non-working last day rolls forward.
    due = start + timedelta(days=days)
    while not is_workday(due):
        due += timedelta(days=1)
    return due


def expected_month(
    rows: Sequence[LedgerRow],
    *,
    month: str,
    as_of: date,
    is_workday: Callable[[date], bool],
    bucket: Callable[[str], str],
) -> dict[str, dict[str, int]]:
    """The monthly review's figures, counted straight from the plain rules (see the brief)."""
    y, m = (int(p) for p in month.split("-"))
    first, last = date(y, m, 1), date(y, m, calendar.monthrange(y, m)[1])
    end = min(last, as_of)
    table: dict[str, dict[str, int]] = {}
    for row in rows:
        table.setdefault(bucket(row.unit), dict.fromkeys(COUNTS, 0))
    for row in rows:
        n = table[bucket(row.unit)]
        if first <= row.registered_on <= end:
            n["new_cases"] += 1
            n["repeat" if row.repeat else "first_time"] += 1
            n["remote"] += row.channel in REMOTE
        clocks = [("accept", _due(row.registered_on, 15, is_workday), row.accepted_on)]
        if row.outcome != "不予受理" and row.accepted_on is not None:
            clocks.append(("handle", _due(row.accepted_on, 60, is_workday), row.replied_on))
        for kind, due, met in clocks:
            met_by_now = met is not None and met <= as_of
            if first <= due <= end and (met_by_now or due < as_of):
                n[f"{kind}_due"] += 1
                if met is not None and met_by_now and met <= due:
                    n[f"{kind}_on_time"] += 1
            still_late = due < as_of and not met_by_now and row.registered_on <= as_of
            met_late = met is not None and met > due and first <= met <= end
            if still_late or met_late:
                n[f"overdue_{kind}"] += 1
        if row.replied_on is not None and first <= row.replied_on <= end:
            n["replied"] += 1
            if row.satisfaction:
                n["evaluated"] += 1
                n["satisfied"] += row.satisfaction in ("满意", "基本满意")
    table["合计"] = {k: sum(t[k] for t in table.values()) for k in COUNTS}
    return table


def expected_year(
    rows: Sequence[LedgerRow],
    *,
    year: int,
    as_of_for: Callable[[str], date],
    is_workday: Callable[[date], bool],
    bucket: Callable[[str], str],
) -> dict[str, dict[str, dict[str, int]]]:
    months = (f"{year}-{m:02d}" for m in range(1, 13))
    return {
        mo: expected_month(
            rows, month=mo, as_of=as_of_for(mo), is_workday=is_workday, bucket=bucket
        )
        for mo in months
    }


if __name__ == "__main__":  # a manual self-check: python -m tests.ledgers
    import openpyxl

    from reception.workdays import WorkCalendar, from_holidays_package

    units = ["下仓镇", "邦均镇", "渔阳镇", "区住建委", "区人社局", "区退役军人事务局"]
    ledger = generate_ledger(seed=2020, rows=3000, year=2020, units=units, leaders=["张建国", "李卫东", "刘春明"])  # fmt: skip
    assert ledger == generate_ledger(seed=2020, rows=3000, year=2020, units=units, leaders=["张建国", "李卫东", "刘春明"])  # fmt: skip
    write_xlsx(ledger, "/tmp/ledger_2020.xlsx")
    write_csv(ledger, "/tmp/ledger_2020.csv")
    ws = openpyxl.load_workbook("/tmp/ledger_2020.xlsx")["2020年信访台账"]
    merged = {str(m) for m in ws.merged_cells.ranges}
    assert {"A1:R1", "C2:F2", "L2:P2", "A2:A3"} <= merged, merged
    assert ws.cell(ws.max_row, 1).value == "合计：3000件"
    with open("/tmp/ledger_2020.csv", "rb") as f:
        assert f.read().decode("gbk").startswith("序号,来信来访日期")
    cal = WorkCalendar({y: from_holidays_package(y)[0] for y in (2020, 2021)})
    year = expected_year(
        ledger,
        year=2020,
        as_of_for=lambda mo: date(2020, int(mo[5:]), calendar.monthrange(2020, int(mo[5:]))[1]),
        is_workday=cal.is_workday,
        bucket=lambda unit: unit,
    )  # fmt: skip
    totals = {k: sum(t["合计"][k] for t in year.values()) for k in COUNTS}
    print(f"merged ranges: {len(merged)}, sheet rows: {ws.max_row}")
    for k, v in totals.items():
        print(f"{k:16} {v}")
    print("repeat share", round(totals["repeat"] / totals["new_cases"], 3))
