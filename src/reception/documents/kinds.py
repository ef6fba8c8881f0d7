"""The notices the 信访工作条例 makes written acts, as a table: title, 文号 mark, the step of the
case each belongs to, what a clerk must write into it, and how it may be served. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

# The kinds of notice (KINDS below holds one entry for each).
KindCode = Literal[
    "accept_notice",
    "reject_notice",
    "transfer_notice",
    "extension_notice",
    "reply_opinion",
    "review_opinion",
    "re_review_opinion",
    "diversion_notice",
    "service_receipt",
]
KIND_CODES: tuple[str, ...] = get_args(KindCode)


@dataclass(frozen=True)
class Kind:
    code: str
    title: str
    # The mark in the 文号: 蓟信{mark}〔2026〕12号.
    mark: str
    # The case stages it may be issued in (empty: any).
    stages: frozenset[str]
    # Fields the clerk must write (the rest comes from the case and the clock rules).
    required: tuple[str, ...] = ()
    # The case step issuing it performs (the 意见书 are the replies and decisions).
    performs: str | None = None
    # Fields the clerk may write besides (the console's form for the kind shows these).
    optional: tuple[str, ...] = ()

    @property
    def asks(self) -> tuple[str, ...]:
        """What the kind's form asks for, in order."""
        return self.required + self.optional


KINDS: dict[str, Kind] = {
    k.code: k
    for k in (
        Kind(
            "accept_notice",
            "信访事项受理告知书",
            "受",
            frozenset({"accepted", "in_progress", "replied", "review", "re_review", "closed"}),
        ),
        Kind(
            "reject_notice",
            "信访事项不予受理告知书",
            "不受",
            frozenset({"rejected", "closed"}),
            required=("redirect_to",),
        ),
        Kind(
            "transfer_notice",
            "信访事项转送（交办）告知书",
            "转",
            frozenset({"registered", "accepted", "in_progress"}),
            required=("transferred_to",),
        ),
        Kind(
            "extension_notice",
            "信访事项延期办理告知书",
            "延",
            frozenset({"accepted", "in_progress"}),
        ),
        Kind(
            "reply_opinion",
            "信访事项处理意见书",
            "复",
            frozenset({"accepted", "in_progress", "replied"}),
            required=("facts", "basis", "decision"),
            performs="reply",
            optional=("review_body",),
        ),
        Kind(
            "review_opinion",
            "信访事项复查意见书",
            "复查",
            frozenset({"review"}),
            required=("facts", "basis", "decision"),
            performs="decide_review",
            optional=("re_review_body",),
        ),
        Kind(
            "re_review_opinion",
            "信访事项复核意见书",
            "复核",
            frozenset({"re_review"}),
            required=("facts", "basis", "decision"),
            performs="decide_re_review",
        ),
        Kind(
            "diversion_notice",
            "导入法定程序告知书",
            "导",
            frozenset({"diverted", "closed"}),
            optional=("organ",),
        ),
        Kind("service_receipt", "送达回证", "送", frozenset()),
    )
}

FIELD_LABELS = {
    "redirect_to": "可以向哪里反映(告知去向)",
    "transferred_to": "转送(交办)的机关",
    "facts": "查明的事实",
    "basis": "处理依据",
    "decision": "处理意见",
    "review_body": "受理复查的机关",
    "re_review_body": "受理复核的机关",
    "organ": "可以向哪个机关提出",
}
# Fields written as passages (several lines), the rest as one line.
PASSAGES = frozenset({"facts", "basis", "decision"})
FIELD_HINTS = {
    "decision": "分项写的,每项一行,打印为(一)(二)……",
    "review_body": "不填则为本级人民政府(设置中的默认值)",
    "re_review_body": "不填则为上一级人民政府",
}


def number(prefix: str, kind: Kind, year: int, seq: int) -> str:
    return f"{prefix}{kind.mark}〔{year}〕{seq}号"
