"""The rules of 督查督办, pure: the reproducible draw of a month's sample, the checklist's
defaults, what a finding's and a 流调's states are, and when a rectification is late.
No database, no web."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any, Literal, get_args

from reception.expr import all_of, any_of, missing

# The checklist the office starts with (the seed's "应登不登、超期受理办理、答复送达不规范" and
# "案件办理核查不实,档案资料不全"); the admin edits it (table check_item).
DEFAULT_ITEMS: tuple[tuple[str, str, str], ...] = (
    ("registered", "来访必录", "接待过的来访都已登记,登记要素齐全"),
    ("on_time", "受理/办理按期", "受理告知在15日内、办理在60日内(含批准的延期)"),
    ("delivery", "答复送达规范", "处理意见书有文号,送达方式合法,送达回证或回执齐全"),
    ("verified", "调查核实", "诉求经调查核实,处理意见有事实依据,不是照抄诉求"),
    ("archive", "档案齐全", "登记表、受理告知书、处理意见书、送达回证等材料已归档"),
)

# 抽查发现的问题: open (待整改) → answered (已反馈整改情况) → closed (整改完成), or back to open
# when the checker finds the answer wanting (退回).
FindingStatus = Literal["open", "answered", "closed"]
FINDING_STATUSES: tuple[str, ...] = get_args(FindingStatus)
FINDING_STATUS_LABELS = {"open": "待整改", "answered": "已反馈", "closed": "已整改"}

# 流调: 发生原因 from this list (and free text).
Cause = Literal[
    "policy", "first_handling", "delay", "reply", "attitude", "historical", "demand",
    "instigation", "other",
]  # fmt: skip
CAUSES: tuple[str, ...] = get_args(Cause)
CAUSE_LABELS = {
    "policy": "政策落实不到位",
    "first_handling": "首办责任不落实、初信初访办理不到位",
    "delay": "久拖不决、超期办理",
    "reply": "答复不规范、未依法送达",
    "attitude": "工作作风粗糙、态度生硬",
    "historical": "历史遗留问题",
    "demand": "诉求过高、缺乏政策法律依据",
    "instigation": "他人煽动、组织",
    "other": "其他",
}
INQUIRY_STATUS_LABELS = {"open": "调查中", "signed": "已签批"}


def draw(seed: str, population: list[int], size: int) -> list[int]:
    """The sample of `size` cases from `population` (case ids), in the order drawn: each case
    is ranked by SHA-256 of "<seed>:<id>" (hex), the lowest first. Anyone can redo it by hand
    or in any language from the stored seed and population — no random generator's internals
    (they may change between Python versions)."""
    ranked = sorted(
        set(population), key=lambda i: hashlib.sha256(f"{seed}:{i}".encode()).hexdigest()
    )
    return ranked[: max(0, size)]


def month_ended(month_last: date, today: date) -> bool:
    """A month is checked once it is over (its cases all registered)."""
    return month_last < today


def late(finding: Any, as_of: date) -> Any:
    """A rectification not made in time, as of a day: its deadline passed before that day and
    the unit had not answered by the deadline (an answer after it is late too; an answer the
    checker sent back is no answer). `finding` is a loaded Finding (→ bool) or the table (→ SQL)."""
    return all_of(
        finding.deadline < as_of,
        any_of(missing(finding.answered_on), lambda: finding.answered_on > finding.deadline),
    )


# 联席会议 decisions (议定事项): open (待办理) → reported (已报告办理情况) → closed (办结); the
# conference's secretary presses (催办) an open or reported one — back to open.
DecisionStatus = Literal["open", "reported", "closed"]
DECISION_STATUSES: tuple[str, ...] = get_args(DecisionStatus)
DECISION_STATUS_LABELS = {"open": "办理中", "reported": "已报告", "closed": "已办结"}
DecisionStep = Literal["report", "press", "close"]
DECISION_STEPS: tuple[str, ...] = get_args(DecisionStep)
DECISION_STEP_LABELS = {"report": "报告办理情况", "press": "催办", "close": "办结"}


def stalled(decision: Any, as_of: date) -> Any:
    """空转: a conference's decision past its deadline with nothing done, as of a day — not
    closed, and no report from the owner unit standing (a report the secretary pressed back
    is none; one waiting for the secretary to close it is not the unit's delay). Closed or
    reported later counts as stalled for the days before. `decision` is a loaded Decision
    (→ bool) or the table (→ SQL)."""
    return all_of(
        decision.deadline < as_of,
        any_of(missing(decision.closed_on), lambda: decision.closed_on > as_of),
        any_of(missing(decision.reported_on), lambda: decision.reported_on > as_of),
    )
