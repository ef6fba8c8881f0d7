"""The ledger's rules, written once (pure: no database, no web): what an entry may do next, how
risky it is at least, when it is overdue, and who must check in during a sensitive period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, get_args

from reception.expr import all_of, any_of, member, missing

Risk = Literal["general", "serious", "major"]
RISKS: tuple[str, ...] = get_args(Risk)
RISK_LABELS = {"general": "一般", "serious": "较大", "major": "重大"}

HowFound = Literal["screening", "grid", "visit", "online"]
HOW_FOUND: tuple[str, ...] = get_args(HowFound)
HOW_FOUND_LABELS = {"screening": "排查", "grid": "网格上报", "visit": "来访", "online": "网上舆情"}

STATUSES = ("open", "resolved", "converted")
STATUS_LABELS = {"open": "化解中", "resolved": "已化解(销账)", "converted": "已转为信访事项"}

ResolveMethod = Literal["agreement", "judicial", "administrative", "litigation", "other"]
RESOLVE_METHODS: tuple[str, ...] = get_args(ResolveMethod)
RESOLVE_METHOD_LABELS = {
    "agreement": "调解协议",
    "judicial": "司法确认",
    "administrative": "行政处理",
    "litigation": "诉讼引导",
    "other": "其他方式",
}

CheckState = Literal["in_control", "unrest"]
CHECK_STATES: tuple[str, ...] = get_args(CheckState)
CHECK_STATE_LABELS = {"in_control": "在控", "unrest": "有异动"}

# The moves of an entry: from which status, to which status (the state machine's one table).
Move = Literal["follow_up", "correct", "reassign", "escalate", "resolve", "convert"]
MOVES: dict[str, tuple[tuple[str, ...], str]] = {
    "follow_up": (("open",), "open"),
    "correct": (("open",), "open"),
    "reassign": (("open",), "open"),
    "escalate": (("open",), "open"),
    "resolve": (("open",), "resolved"),
    "convert": (("open",), "converted"),
}
MOVE_LABELS = {
    "opened": "建账",
    "follow_up": "跟进化解",
    "correct": "更正",
    "reassign": "调整责任人",
    "escalate": "升级",
    "resolve": "化解销账",
    "convert": "转为信访事项",
}
# Risk levels that need the daily 稳控 check-in during a sensitive period.
WATCHED_RISKS = ("serious", "major")


def risk_rank(risk: str) -> int:
    return RISKS.index(risk)


@dataclass(frozen=True)
class RiskRule:
    """From how many people, or from what amount in dispute (元), an entry is at least `risk`."""

    risk: str
    people_from: int
    amount_from: int

    def describe(self) -> str:
        return f"{RISK_LABELS[self.risk]}:{self.people_from} 人以上或争议金额 {self.amount_from:,} 元以上"


def risk_floor(rules: tuple[RiskRule, ...], people: int, amount: int) -> str:
    """The lowest risk level the settings' rules allow for an entry (the highest that applies)."""
    floor = "general"
    for rule in rules:
        if (people >= rule.people_from or amount >= rule.amount_from) and risk_rank(
            rule.risk
        ) > risk_rank(floor):
            floor = rule.risk
    return floor


def next_move(status: str, move: str) -> str | None:
    """The status an entry has after `move`, or None when the move is not allowed from here."""
    allowed, after = MOVES.get(move, ((), ""))
    return after if status in allowed else None


def allowed_moves(status: str) -> list[str]:
    return [m for m in MOVES if next_move(status, m) is not None]


def review_overdue(entry: Any, today: date) -> Any:
    """An open entry whose review date (复核/回访 date, on the working-day calendar) has passed.
    `entry` is a loaded LedgerEntry (→ bool) or the table (→ SQL)."""
    return all_of(entry.status == "open", entry.review_on < today)


def needs_check_in(entry: Any) -> Any:
    """An entry its 稳控责任人 reports on every day of a sensitive period."""
    return all_of(entry.status == "open", member(entry.risk, WATCHED_RISKS))


def open_on(entry: Any, day: date) -> Any:
    """An entry on the ledger at the end of a day: found by then and not closed by then (the
    monthly table's 结转; a past month stays what it was)."""
    return all_of(
        entry.found_on <= day,
        any_of(missing(entry.closed_on), lambda: entry.closed_on > day),
    )


def overdue_on(entry: Any, day: date) -> Any:
    """Open at the end of a day and past its review date by then (the review's panel for a
    past month; today it is `review_overdue`)."""
    return all_of(open_on(entry, day), entry.review_on < day)
