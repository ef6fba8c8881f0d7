"""Validation messages in Chinese: msgspec's English, translated for the people who read them.

Each message names the field as the request sent it (a query alias such as `from`, a body path
such as `petitioners[0].phone`), and an enum error lists the values allowed.
"""

from __future__ import annotations

import re
import typing
from typing import Any

import msgspec

_TYPE_NAMES = {
    "int": "整数",
    "str": "文字",
    "bool": "true 或 false",
    "float": "数字",
    "array": "列表",
    "object": "对象",
    "date": "日期(YYYY-MM-DD)",
    "datetime": "带时区的时间(如 2026-12-21T09:00:00+08:00)",
    "null": "null",
}


def _type_name(expr: str) -> str:
    parts = [p.strip().strip("`") for p in expr.split("|")]
    names = [_TYPE_NAMES.get(p, p) for p in parts if p != "null"]
    return "或".join(names) or expr


_RULES: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"Object missing required field `([^`]+)`"), lambda m, a: "必须填写"),
    (re.compile(r"Object contains unknown field `([^`]+)`"), lambda m, a: "不认识的字段"),
    (
        re.compile(r"Invalid enum value '?([^'`]*)'?"),
        lambda m, a: f"必须是 {'|'.join(a)} 之一" if a else f"不是允许的取值:{m.group(1)}",
    ),
    (
        re.compile(r"Expected `str` of length >= (\d+)"),
        lambda m, a: "不能为空" if m.group(1) == "1" else f"至少 {m.group(1)} 个字符",
    ),
    (re.compile(r"Expected `str` of length <= (\d+)"), lambda m, a: f"最多 {m.group(1)} 个字符"),
    (
        re.compile(r"Expected `array` of length >= (\d+)"),
        lambda m, a: f"至少要有 {m.group(1)} 项",
    ),
    (re.compile(r"Expected `array` of length <= (\d+)"), lambda m, a: f"最多 {m.group(1)} 项"),
    (re.compile(r"Expected `(?:int|float)` >= (-?[\d.]+)"), lambda m, a: f"不能小于 {m.group(1)}"),
    (re.compile(r"Expected `(?:int|float)` <= (-?[\d.]+)"), lambda m, a: f"不能大于 {m.group(1)}"),
    (re.compile(r"Expected `(?:int|float)` > (-?[\d.]+)"), lambda m, a: f"须大于 {m.group(1)}"),
    (re.compile(r"Expected `(?:int|float)` < (-?[\d.]+)"), lambda m, a: f"须小于 {m.group(1)}"),
    (re.compile(r"Expected `str` matching regex '(.*)'"), lambda m, a: _pattern_hint(m.group(1))),
    (re.compile(r"^'data'$"), lambda m, a: "缺少请求正文(JSON)"),
    (
        re.compile(r"Expected `datetime` with a timezone component"),
        lambda m, a: "须带时区,如 2026-12-21T09:00:00+08:00",
    ),
    (
        re.compile(r"Invalid RFC3339 encoded date\b(?!time)"),
        lambda m, a: "不是有效的日期(YYYY-MM-DD)",
    ),
    (
        re.compile(r"Invalid RFC3339 encoded datetime"),
        lambda m, a: "不是有效的时间(如 2026-12-21T09:00:00+08:00)",
    ),
    (
        re.compile(r"Expected `([^`]+)`, got `([^`]+)`"),
        lambda m, a: f"须为{_type_name(m.group(1))}",
    ),
    (re.compile(r"Integer value out of range"), lambda m, a: "数值超出范围"),
    (re.compile(r"JSON is malformed"), lambda m, a: "不是有效的 JSON"),
    (re.compile(r"Input data was truncated"), lambda m, a: "JSON 不完整"),
]


# What a pattern asks for, in words a person can follow.
_PATTERN_HINTS = {
    "YYYY-MM": "须为 YYYY-MM 格式(如 2026-10),年份在2000至2100之间",
    "[01]": "须为 HH:MM 格式(如 09:00)",
    "[a-z]": "须为小写字母开头、只含小写字母、数字和下划线的代码",
}


def _pattern_hint(pattern: str) -> str:
    if "-(0[1-9]|1[0-2])$" in pattern:
        return _PATTERN_HINTS["YYYY-MM"]
    if "[01]" in pattern:
        return _PATTERN_HINTS["[01]"]
    if pattern.startswith("^[a-z]"):
        return _PATTERN_HINTS["[a-z]"]
    return "格式不对"


def translate(message: str, allowed: list[str] | None = None) -> str:
    """msgspec's English message → Chinese (a message already in Chinese is kept)."""
    text = re.sub(r"\s*\(field `[^`]+`\)", "", message.split(" - at `", 1)[0])
    for pattern, render in _RULES:
        match = pattern.search(text)
        if match:
            return str(render(match, allowed or []))
    return text


# ---------------------------------------------------------------- what the field allows

_PATH = re.compile(r"\.?([A-Za-z_]\w*)|\[(\d+)\]")


def _literals(annotation: Any) -> list[str]:
    """The values a Literal (possibly inside Optional / Annotated) allows."""
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return [str(v) for v in typing.get_args(annotation)]
    if origin is typing.Annotated:
        return _literals(typing.get_args(annotation)[0])
    out: list[str] = []
    for arg in typing.get_args(annotation):
        if arg is not type(None):
            out += _literals(arg)
    return out


def _info_literals(info: Any) -> list[str]:
    if isinstance(info, msgspec.inspect.LiteralType):
        return [str(v) for v in info.values]
    if isinstance(info, msgspec.inspect.UnionType):
        return [v for t in info.types for v in _info_literals(t)]
    if isinstance(info, msgspec.inspect.Metadata):
        return _info_literals(info.type)
    return []


def body_allowed(data_type: Any, path: str) -> list[str]:
    """The enum values allowed at `path` (e.g. "petitioners[0].channel") of a body type."""
    try:
        info: Any = msgspec.inspect.type_info(data_type)
    except (TypeError, ValueError):  # pragma: no cover (every body type is inspectable)
        return []
    for name, index in _PATH.findall(path):
        while isinstance(info, msgspec.inspect.Metadata | msgspec.inspect.UnionType):
            info = (
                info.type
                if isinstance(info, msgspec.inspect.Metadata)
                else next(
                    (t for t in info.types if not isinstance(t, msgspec.inspect.NoneType)), info
                )
            )
            if isinstance(info, msgspec.inspect.UnionType):
                break
        if name and isinstance(info, msgspec.inspect.StructType):
            info = next((f.type for f in info.fields if f.name == name), None)
        elif index and isinstance(info, msgspec.inspect.ListType | msgspec.inspect.SetType):
            info = info.item_type
        if info is None:
            return []
    return _info_literals(info)


def parameter_allowed(annotation: Any) -> list[str]:
    return _literals(annotation)
