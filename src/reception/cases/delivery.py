"""送达: how a written notice reaches the petitioner — the methods the law knows, what each
needs to be a proper 送达, and reading a method written by hand. Pure.

Every way of recording 送达 (the case page, the `deliver` step, a notice's own route, an
import) ends in `cases.deliveries.record`, which checks a delivery by these rules."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal, get_args

# The methods of 送达 (the labels below are keyed by them).
Method = Literal["direct", "left", "entrusted", "mail", "electronic", "public"]
METHODS: tuple[str, ...] = get_args(Method)
METHOD_LABELS = {
    "direct": "直接送达",
    "left": "留置送达",
    "entrusted": "委托送达",
    "mail": "邮寄送达",
    "electronic": "电子送达",
    "public": "公告送达",
}
# How a method may be written by hand (older records, other systems): the same methods.
METHOD_ALIASES = {
    "当面送达": "direct",
    "当面": "direct",
    "留置": "left",
    "委托": "entrusted",
    "邮寄": "mail",
    "挂号信": "mail",
    "网上答复": "electronic",
    "电子": "electronic",
    "公告": "public",
}
# An attempt either reached the petitioner or did not (公告送达 only after one that did not).
Outcome = Literal["delivered", "failed"]
OUTCOMES: tuple[str, ...] = get_args(Outcome)
OUTCOME_LABELS = {"delivered": "已送达", "failed": "未能送达"}

# What a method needs besides the date, beyond "someone signed for it, or why nobody did".
NEEDS: dict[str, tuple[tuple[str, str], ...]] = {
    "direct": (),
    "left": (("witnesses", "留置送达须写明在场见证人"),),
    "entrusted": (("entrusted_to", "委托送达须写明受委托的机关或人员"),),
    "mail": (("mail_number", "邮寄送达须填写邮件单号"),),
    "electronic": (("consent", "电子送达须经信访人书面同意:请写明同意书的日期或存档位置"),),
    "public": (
        ("carrier", "公告送达须写明公告的载体(如区政府网站、公告栏)"),
        ("posted_on", "公告送达须写明公告日期"),
    ),
}
# Every field some method needs.
FIELDS = tuple(dict.fromkeys(f for needs in NEEDS.values() for f, _ in needs))
# Who signed for it is not asked where nobody can: a notice posted publicly, or left with
# witnesses after a refusal.
NO_SIGNATURE = frozenset({"public", "left"})


def method_of(label: str) -> str | None:
    """The method code of a delivery as written: a code, its label or an alias."""
    text = label.strip()
    if text in METHOD_LABELS:
        return text
    by_label = {v: k for k, v in METHOD_LABELS.items()}
    return by_label.get(text) or METHOD_ALIASES.get(text)


def allowed_methods() -> str:
    """The methods as a person reads them in a refusal: 直接送达(direct)、…"""
    return "、".join(f"{label}({code})" for code, label in METHOD_LABELS.items())


def _missing(method: str, values: dict[str, Any]) -> list[tuple[str, str]]:
    """What a delivery that reached the petitioner must say and does not."""
    out = [(f, m) for f, m in NEEDS[method] if not str(values.get(f) or "").strip()]
    signed = str(values.get("recipient") or "").strip()
    why_not = str(values.get("no_recipient_reason") or "").strip()
    if method not in NO_SIGNATURE and not signed and not why_not:
        out.append(("recipient", "请填写签收人,或写明无人签收的原因"))
    return out


def problems(
    method: str, values: dict[str, Any], *, outcome: str, on: date, earliest: date, today: date
) -> list[tuple[str, str]]:
    """What keeps a delivery from being a proper 送达, as (field, message) pairs."""
    out: list[tuple[str, str]] = []
    if on > today:
        out.append(("on", "送达日期晚于今天"))
    if on < earliest:
        out.append(("on", f"送达日期早于文书出具日期({earliest.isoformat()})"))
    if outcome == "failed":
        if not str(values.get("failure_reason") or "").strip():
            out.append(("failure_reason", "未能送达的,须写明原因(如地址查无此人、拒收)"))
        return out
    out += _missing(method, values)
    posted_on = values.get("posted_on")
    if method == "public" and isinstance(posted_on, date) and posted_on > on:
        out.append(("posted_on", "公告日期晚于送达日期"))
    return out


def shortcomings(method: str, values: dict[str, Any], legacy_method: str = "") -> list[str]:
    """What a recorded 送达 lacks to count as proper (records entered before these rules, or
    imported): the review lists them as 答复送达不规范."""
    if legacy_method:
        return [f"送达方式不明(原记录:{legacy_method})"]
    said = {"recipient": "无签收人,也未写明无人签收的原因"}
    return [said.get(field, message) for field, message in _missing(method, values)]
