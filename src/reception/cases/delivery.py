"""送达: how a written reply (or any notice) reaches the petitioner — the methods the law
knows, their labels, and reading a method written by hand. Pure."""

from __future__ import annotations

from typing import Literal, get_args

# The methods of 送达 (the labels below are keyed by them).
Method = Literal["direct", "mail", "electronic", "left", "public"]
METHODS: tuple[str, ...] = get_args(Method)

METHOD_LABELS = {
    "direct": "直接送达",
    "mail": "邮寄送达",
    "electronic": "电子送达",
    "left": "留置送达",
    "public": "公告送达",
}
# How a method may be written on a case by hand (older records): the same methods.
METHOD_ALIASES = {"当面送达": "direct", "网上答复": "electronic"}


def method_of(label: str) -> str | None:
    """The method code of a delivery written on a case (a code, its label or an alias)."""
    if label in METHOD_LABELS:
        return label
    by_label = {v: k for k, v in METHOD_LABELS.items()}
    return by_label.get(label) or METHOD_ALIASES.get(label)
