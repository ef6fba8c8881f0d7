"""The monthly review's sections, each described once: its sheet name, title, columns (key,
Chinese header, kind) and the rows it takes from the review's data. The writers (XLSX, CSV,
JSON) write every section from this description."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reception.reports.figures import ratio

MISSING = "—"
# A comparison with a month before the first record: not a zero denominator, no data at all.
NO_DATA = "无数据"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str = "text"  # text | int | pct | date
    width: int = 12


@dataclass(frozen=True)
class Section:
    sheet: str
    title: str
    columns: tuple[Column, ...]
    rows: Callable[[dict[str, Any]], list[dict[str, Any]]]


UNIT_COLUMNS = (
    Column("unit_name", "单位", width=18),
    Column("new_cases", "新增事项", "int", 9),
    Column("first_time", "初信初访", "int", 9),
    Column("repeat", "重复信访", "int", 9),
    Column("repeat_share", "重复信访占比", "pct", 11),
    Column("remote_share", "信网电占比", "pct", 10),
    Column("accept_due", "应受理(到期)", "int", 11),
    Column("accept_on_time", "按期受理", "int", 9),
    Column("timely_accept_rate", "及时受理率", "pct", 10),
    Column("handle_due", "应办结(到期)", "int", 11),
    Column("handle_on_time", "按期办结", "int", 9),
    Column("on_time_handle_rate", "按期办结率", "pct", 10),
    Column("replied", "答复", "int", 7),
    Column("evaluated", "参评", "int", 7),
    Column("participation_rate", "群众参评率", "pct", 10),
    Column("satisfied", "满意+基本满意", "int", 12),
    Column("satisfaction_rate", "满意率", "pct", 9),
    Column("overdue_accept", "超期受理", "int", 9),
    Column("overdue_handle", "超期办理", "int", 9),
)

HEADLINE = (
    ("new_cases", "新增信访事项", "int"),
    ("first_time", "初信初访", "int"),
    ("repeat", "重复信访", "int"),
    ("repeat_share", "重复信访占比", "pct"),
    ("remote_share", "信网电占比", "pct"),
    ("timely_accept_rate", "及时受理率", "pct"),
    ("on_time_handle_rate", "按期办结率", "pct"),
    ("participation_rate", "群众参评率", "pct"),
    ("satisfaction_rate", "满意率", "pct"),
    ("overdue_accept", "超期受理", "int"),
    ("overdue_handle", "超期办理", "int"),
)


def _diff(a: Any, b: Any) -> Any:
    return None if a is None or b is None else round(a - b, 4)


def _compared(now: Any, other: dict[str, Any], key: str) -> tuple[Any, Any]:
    if other.get("no_data"):
        return NO_DATA, NO_DATA
    return other[key], _diff(now, other[key])


def _overview(report: dict[str, Any]) -> list[dict[str, Any]]:
    c = report["comparison"]
    rows = []
    for key, label, kind in HEADLINE:
        now = c["current"][key]
        prev, mom = _compared(now, c["previous_month"], key)
        last_year, yoy = _compared(now, c["same_month_last_year"], key)
        rows.append(
            {
                "figure": label,
                "kind": kind,
                "current": now,
                "previous": prev,
                "mom": mom,
                "last_year": last_year,
                "yoy": yoy,
            }
        )
    return rows


def _units(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [*report["units"], report["total"]]


def _campaigns(report: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for c in report["campaigns"]:
        target = c["target_in_force"] or {}
        upcoming = c["next_target"] or {}
        rows.append(
            {
                "name": c["name"],
                "total": c["total"],
                "resolved": c["resolved"],
                "share": c["share"],
                "target_percent": target["percent"] / 100 if target else None,
                "target_due": target.get("due_on", ""),
                "status": {
                    "on track": "达标",
                    "behind": "滞后",
                    "no target due yet": "尚无到期目标",
                    "no cases": "无事项",
                }.get(c["status"], c["status"]),
                "next_due": upcoming.get("due_on", ""),
                "next_percent": upcoming["percent"] / 100 if upcoming else None,
            }
        )
    return rows


def _sanwu(report: dict[str, Any]) -> list[dict[str, Any]]:
    s = report["sanwu"]
    rows = [{**r, "sanwu": "是" if r["sanwu"] else "否"} for r in s["rows"]]
    rows.append(
        {
            "unit_name": f"合计:三无 {s['sanwu_townships']} / {s['townships']}"
            f"(目标 {s['goal_townships']},{'已达标' if s['goal_met'] else '未达标'})",
            "beijing_irregular": sum(r["beijing_irregular"] for r in s["rows"]),
            "city_collective": sum(r["city_collective"] for r in s["rows"]),
            "online_opinion": sum(r["online_opinion"] for r in s["rows"]),
            "sanwu": s["share"],
        }
    )
    return rows


def _ledger(report: dict[str, Any]) -> list[dict[str, Any]]:
    table = report["ledger"]
    rows = [{**r, "kind": "unit"} for r in table["units"]]
    rows.append({**table["total"], "kind": "total"})
    return rows


def _foreseen(report: dict[str, Any]) -> list[dict[str, Any]]:
    p = report["ledger_panel"]
    return [
        {
            "petitions": p["petitions"],
            "foreseen": p["foreseen"],
            "foreseen_share": p["foreseen_share"],
            "open": p["open"],
            "overdue": p["overdue"],
            "converted": p["converted"],
        }
    ]


def _spot_checks(report: dict[str, Any]) -> list[dict[str, Any]]:
    labels = {i["code"]: i["label"] for i in report["spot_checks"]["items"]}
    return [
        {
            **r,
            **{f"computed_{k}": v for k, v in r["computed"].items()},
            "by_item_text": "、".join(
                f"{labels.get(k, k)} {n}" for k, n in r["by_item"].items() if n
            ),
        }
        for r in report["spot_checks"]["units"]
    ]


def _inquiries(report: dict[str, Any]) -> list[dict[str, Any]]:
    i = report["inquiries"]
    return [{**i, "signed_share": ratio(i["signed"], i["repeat"])}]


SECTIONS: tuple[Section, ...] = (
    Section(
        "概览",
        "主要指标(环比、同比)",
        (
            Column("figure", "指标", width=16),
            Column("current", "本月", "auto", 10),
            Column("previous", "上月", "auto", 10),
            Column("mom", "环比增减", "diff", 13),
            Column("last_year", "去年同月", "auto", 10),
            Column("yoy", "同比增减", "diff", 13),
        ),
        _overview,
    ),
    Section("单位指标", "各单位指标", UNIT_COLUMNS, _units),
    Section(
        "超期案件",
        "超期受理、超期办理事项",
        (
            Column("type", "类别", width=8),
            Column("unit_name", "责任单位", width=16),
            Column("reference", "编号", width=20),
            Column("petitioner", "信访人", width=10),
            Column("due", "期限", "date", 12),
            Column("met_on", "完成日期", "date", 12),
            Column("days_overdue", "超期天数", "int", 9),
            Column("owner", "包案领导", width=10),
            Column("stage", "当前环节", width=10),
        ),
        lambda r: r["overdue_cases"],
    ),
    Section(
        "应登不登",
        "应登不登线索(已接待未登记)",
        (
            Column("type", "类别", width=10),
            Column("date", "日期", "date", 12),
            Column("leader", "领导", width=10),
            Column("unit_name", "单位", width=16),
            Column("reference", "记录", width=24),
            Column("petitioner", "来访人", width=10),
        ),
        lambda r: r["unregistered"],
    ),
    Section(
        "答复送达不规范",
        "答复送达不规范",
        (
            Column("unit_name", "责任单位", width=16),
            Column("reference", "编号", width=20),
            Column("petitioner", "信访人", width=10),
            Column("replied_on", "答复日期", "date", 12),
            Column("delivered_on", "送达日期", "date", 12),
            Column("method", "送达方式", width=10),
            Column("problem", "问题", width=30),
            Column("days_overdue", "超期天数", "int", 9),
        ),
        lambda r: r["delivery_irregular"],
    ),
    Section(
        "领导接访与包案",
        "领导接访下访与包案",
        (
            Column("leader", "领导", width=10),
            Column("title", "职务", width=20),
            Column("reception_days", "接访日(安排)", "int", 11),
            Column("reception_held", "已接访", "int", 8),
            Column("reception_cancelled", "取消", "int", 6),
            Column("appointments", "预约人次", "int", 9),
            Column("field_visits", "下访(安排)", "int", 10),
            Column("field_visits_held", "已下访", "int", 8),
            Column("owned_cases", "包案件数", "int", 9),
            Column("owned_resolved", "已化解", "int", 8),
            Column("owned_resolved_share", "化解率", "pct", 8),
            Column("owned_overdue", "超期", "int", 6),
        ),
        lambda r: r["leaders"],
    ),
    Section(
        "积案化解",
        "积案化解专项进度",
        (
            Column("name", "专项", width=28),
            Column("total", "事项数", "int", 8),
            Column("resolved", "已化解", "int", 8),
            Column("share", "化解进度", "pct", 10),
            Column("target_percent", "当前目标", "pct", 10),
            Column("target_due", "目标日期", "date", 12),
            Column("status", "状态", width=12),
            Column("next_percent", "下一目标", "pct", 10),
            Column("next_due", "下一目标日期", "date", 12),
        ),
        _campaigns,
    ),
    Section(
        "三无乡镇",
        "三无乡镇(街道)创建",
        (
            Column("unit_name", "乡镇(街道)", width=26),
            Column("beijing_irregular", "进京非访", "int", 9),
            Column("city_collective", "到市集体访", "int", 10),
            Column("online_opinion", "网上舆论炒作", "int", 11),
            Column("sanwu", "三无", "auto", 8),
        ),
        _sanwu,
    ),
    Section(
        "矛盾纠纷排查",
        "矛盾纠纷排查化解情况(按发现单位)",
        (
            Column("name", "单位", width=24),
            Column("found", "本月排查", "int", 9),
            Column("found_major", "其中重大", "int", 9),
            Column("resolved", "化解销账", "int", 9),
            Column("converted", "转为信访事项", "int", 11),
            Column("amount_recovered", "化解金额(元)", "int", 13),
            Column("carried_in", "上月结转", "int", 9),
            Column("carried_over", "结转下月", "int", 9),
        ),
        _ledger,
    ),
    Section(
        "源头预防",
        "源头预防:本月信访事项中排查在先的",
        (
            Column("petitions", "本月信访事项", "int", 12),
            Column("foreseen", "其中排查在先", "int", 12),
            Column("foreseen_share", "占比", "pct", 9),
            Column("open", "台账化解中", "int", 11),
            Column("overdue", "逾期未复核", "int", 11),
            Column("converted", "本月转为信访事项", "int", 15),
        ),
        _foreseen,
    ),
    Section(
        "基础业务抽查",
        "基础业务抽查结果与系统计算并列",
        (
            Column("unit_name", "单位", width=18),
            Column("computed_overdue_accept", "计算:超期受理", "int", 12),
            Column("computed_overdue_handle", "计算:超期办理", "int", 12),
            Column("computed_unregistered", "计算:应登不登", "int", 12),
            Column("computed_delivery_irregular", "计算:送达不规范", "int", 13),
            Column("population", "当月登记", "int", 9),
            Column("sampled", "抽取", "int", 6),
            Column("checked", "已检查", "int", 7),
            Column("findings", "发现问题", "int", 9),
            Column("by_item_text", "问题分布", width=30),
            Column("rectified", "已整改", "int", 7),
            Column("late", "逾期整改", "int", 9),
        ),
        _spot_checks,
    ),
    Section(
        "流调",
        "重复信访事项流调",
        (
            Column("repeat", "本月重复信访", "int", 12),
            Column("opened", "已开展流调", "int", 11),
            Column("signed", "已签批", "int", 8),
            Column("signed_share", "签批占比", "pct", 9),
        ),
        _inquiries,
    ),
    Section(
        "网格员代办",
        "网格员代办(按乡镇)",
        (
            Column("unit_name", "乡镇(街道)", width=18),
            Column("matters", "代办件数", "int", 9),
            Column("days_to_register", "收到至登记(天)", "auto", 13),
            Column("accepted_on_time", "按期受理", "int", 9),
            Column("replied", "已答复", "int", 8),
            Column("rated", "信访人已评价", "int", 11),
            Column("satisfied", "其中满意和基本满意", "int", 16),
        ),
        lambda r: r["proxy"],
    ),
    Section(
        "空转事项",
        "联席会议议定事项逾期未办结(空转)",
        (
            Column("number", "督办单", width=20),
            Column("conference", "联席会议", width=26),
            Column("matter", "事项", width=26),
            Column("owner_unit", "承办单位", width=16),
            Column("deadline", "办结时限", "date", 12),
            Column("days_over", "逾期天数", "int", 9),
            Column("pressed", "催办次数", "int", 9),
            Column("status", "状态", width=8),
        ),
        lambda r: r["conferences"]["stalled"],
    ),
)
