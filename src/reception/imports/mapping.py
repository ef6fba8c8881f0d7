"""Which column of an office's ledger is which field: the fields each kind of ledger fills, the
header synonyms (`synonyms.json`, data an office may extend), finding the header rows in a
sheet that starts with a title and has merged group headings, and the proposed mapping.
Pure: no database, no web."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

SYNONYMS_FILE = Path(__file__).with_name("synonyms.json")


@dataclass(frozen=True)
class Target:
    label: str
    required: bool = False


# The fields a ledger's columns may fill, as a person reads them (the mapping page's choices).
FIELDS: dict[str, dict[str, Target]] = {
    "cases": {
        "number": Target("序号(仅核对,不导入)"),
        "received_on": Target("来信来访日期(收到日期)"),
        "registered_on": Target("登记日期", required=True),
        "name": Target("信访人", required=True),
        "id_number": Target("身份证号"),
        "phone": Target("联系电话"),
        "address": Target("住址"),
        "channel": Target("信访形式", required=True),
        "summary": Target("反映问题", required=True),
        "category": Target("问题类别"),
        "unit": Target("责任单位"),
        "repeat": Target("是否重复"),
        "people_count": Target("人数"),
        "accepted_on": Target("受理日期"),
        "replied_on": Target("答复日期"),
        "closed_on": Target("办结日期"),
        "outcome": Target("办理结果"),
        "resolved": Target("是否化解"),
        "satisfaction": Target("满意度"),
        "owner": Target("包案领导"),
        "note": Target("备注"),
    },
    "sessions": {
        "day": Target("接访日期", required=True),
        "leader": Target("接访领导", required=True),
        "kind": Target("接访/下访"),
        "place": Target("地点"),
        "name": Target("信访人", required=True),
        "id_number": Target("身份证号"),
        "phone": Target("联系电话"),
        "summary": Target("反映问题", required=True),
        "people_count": Target("人数"),
        "note": Target("备注"),
    },
    # A list of villages and communities (村/居委会) under the townships.
    "units": {
        "name": Target("村(社区)名称", required=True),
        "township": Target("所属乡镇(街道)", required=True),
        "kind": Target("村/社区"),
    },
}
# Either date opens the case's registration: one of them must be mapped.
ONE_OF = {"cases": (("registered_on", "received_on"),)}
IGNORE = ""


@cache
def synonyms() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SYNONYMS_FILE.read_text(encoding="utf-8"))
    return data


_SPACES = re.compile(r"[\s\u3000:：*＊()（）]+")


def header_key(text: str) -> str:
    """A header as compared: without spaces, colons, asterisks (必填 marks) or brackets."""
    return _SPACES.sub("", text).lower()


def field_of(kind: str, header: str) -> str | None:
    key = header_key(header)
    if not key:
        return None
    for name, words in synonyms()["headers"][kind].items():
        if key in (header_key(w) for w in words):
            return str(name)
    return None


def _score(kind: str, cells: Sequence[str]) -> int:
    return len({f for f in (field_of(kind, c) for c in cells) if f is not None})


@dataclass(frozen=True)
class Headers:
    """Where the header is in a sheet: its last row (0-based among the rows read) and the
    name of each column (a merged group heading above leaves its leaves' names; a name merged
    down over two rows is taken from the upper one)."""

    last_row: int
    names: list[str]


def find_headers(kind: str, top: Sequence[Sequence[str]]) -> Headers | None:
    """The header among the first rows of a sheet: the row, or the pair of rows read as one,
    naming most known fields (at least two)."""
    best: tuple[int, int, list[str]] | None = None
    for i, row in enumerate(top):
        candidates = [list(row)]
        if i > 0:
            above = top[i - 1]
            width = max(len(row), len(above))
            merged = [
                (row[c] if c < len(row) and row[c] else "") or (above[c] if c < len(above) else "")
                for c in range(width)
            ]
            candidates.append(merged)
        for names in candidates:
            score = _score(kind, names)
            if score >= 2 and (best is None or score > best[0]):
                best = (score, i, names)
    if best is None:
        return None
    return Headers(best[1], [n.strip() for n in best[2]])


def propose(kind: str, names: Sequence[str], saved: dict[str, Any] | None) -> dict[str, str]:
    """Column header → field: the office's saved mapping first, then the synonyms; each field
    taken by one column only (the first)."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        if not name or name in out:
            continue
        field = (saved or {}).get(name)
        if field is None or (field != IGNORE and field not in FIELDS[kind]):
            field = field_of(kind, name) or IGNORE
        if field != IGNORE and field in taken:
            field = IGNORE
        out[name] = field
        if field:
            taken.add(field)
    return out


def mapping_problems(kind: str, mapping: dict[str, str]) -> list[str]:
    """What keeps a mapping from being used, in words for the person fixing it."""
    fields = FIELDS[kind]
    problems = []
    chosen = [f for f in mapping.values() if f]
    for name in chosen:
        if name not in fields:
            problems.append(f"没有字段「{name}」")
    for name in sorted({f for f in chosen if chosen.count(f) > 1}):
        if name in fields:
            problems.append(f"「{fields[name].label}」对应了不止一列")
    for group in ONE_OF.get(kind, ()):
        if not any(f in chosen for f in group):
            problems.append("须有一列对应「" + "」或「".join(fields[f].label for f in group) + "」")
    grouped = {f for group in ONE_OF.get(kind, ()) for f in group}
    for name, target in fields.items():
        if target.required and name not in chosen and name not in grouped:
            problems.append(f"须有一列对应「{target.label}」")
    return problems
