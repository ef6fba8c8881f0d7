"""How Chinese text is written for people, in one place: dates (2026年12月5日), full-width
punctuation in Chinese text, 你 or 你们 by the number of petitioners, and a passage's items as
（一）（二）. The notices, the console and the messages all write through these. Pure."""

from __future__ import annotations

import re
from datetime import date, datetime

# A character of Chinese text (ideographs, CJK punctuation, full-width forms, quotes, 《》).
CJK = r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef“”‘’《》]"
_HALF = {",": "，", ":": "：", ";": "；", "?": "？", "!": "！"}
_NEXT_TO_CJK = re.compile(rf"(?<={CJK})\s*([,:;?!])\s*|\s*([,:;?!])\s*(?={CJK})")
_PAREN = re.compile(r"\(([^()]*)\)")
_STOP = re.compile(rf"(?<={CJK})\.(?!\d)")
# How an item of a list may already be numbered by whoever typed it: 1. 1、 (1) （1） 一、 （一）
_NUMBERED = re.compile(
    r"^\s*(?:[（(]\s*[0-9一二三四五六七八九十]+\s*[)）]|[0-9]+\s*[.、．]|[一二三四五六七八九十]+\s*、)\s*"
)
_DIGITS = "零一二三四五六七八九"


def chinese_date(day: date | datetime) -> str:
    """2026年12月5日 (Arabic numerals, no leading zeros: GB/T 9704's 成文日期)."""
    return f"{day.year}年{day.month}月{day.day}日"


# A day or a time as people type them: 2026-12-5, 2026.12.5, 2026/12/05, 2026年12月5日;
# 9:30, 9：30, 9点30.
_TYPED_DAY = re.compile(r"\s*(\d{4})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})\s*日?\s*")
_TYPED_TIME = re.compile(r"\s*(\d{1,2})\s*[:：点时]\s*(\d{2})\s*分?\s*")


def typed_day_or_time(text: str) -> str:
    """A value typed as a whole day or time, in the ISO form the services read
    (2026年12月5日 → 2026-12-05, 9:30 → 09:30); any other text unchanged. Whether the day
    exists is the reader's to say."""
    day = _TYPED_DAY.fullmatch(text)
    if day:
        return f"{day[1]}-{int(day[2]):02d}-{int(day[3]):02d}"
    at = _TYPED_TIME.fullmatch(text)
    if at:
        return f"{int(at[1]):02d}:{at[2]}"
    return text


def fullwidth(text: str) -> str:
    """Half-width , : ; ? ! ( ) " ' . written in Chinese text become their full-width forms;
    what is not Chinese text stays (10:30, 3,000, 1.5, f(x), a URL)."""
    out = _NEXT_TO_CJK.sub(lambda m: _HALF[m.group(1) or m.group(2)], text)

    def paren(m: re.Match[str]) -> str:
        around = m.string[max(m.start() - 1, 0) : m.start()] + m.group(1)
        around += m.string[m.end() : m.end() + 1]
        return f"（{m.group(1)}）" if re.search(CJK, around) else m.group(0)

    out = _PAREN.sub(paren, out)
    if re.search(CJK, out):
        out = _quotes(out)
    return _STOP.sub("。", out)


def _quotes(text: str) -> str:
    """Straight quotes in Chinese text as “ ” and ‘ ’, opening and closing in turn."""
    chars, double, single = [], False, False
    for ch in text:
        if ch == '"':
            chars.append("”" if double else "“")
            double = not double
        elif ch == "'":
            chars.append("’" if single else "‘")
            single = not single
        else:
            chars.append(ch)
    return "".join(chars)


def you(count: int) -> str:
    """How a notice addresses the petitioners: 你, or 你们 when there are several."""
    return "你们" if count > 1 else "你"


def numeral(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十, 99 → 九十九."""
    if not 0 < n < 100:
        return str(n)
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _DIGITS[tens] + "十")
    return head + (_DIGITS[ones] if ones else "")


# What may end a sentence or an item already.
_ENDS = "。；！？…："


def _ended(line: str, mark: str) -> str:
    """The line ending in `mark` (。 or ；) unless it already ends a sentence."""
    if not line or line[-1] in _ENDS:
        return line
    return line.rstrip("，、,;") + mark


def paragraphs(text: str) -> list[str]:
    """A passage as its paragraphs (one a line), each in full-width punctuation and ending
    as a sentence does."""
    return [_ended(fullwidth(line.strip()), "。") for line in text.splitlines() if line.strip()]


def items(text: str) -> list[str]:
    """A passage's items as a notice prints them under its own heading: one a line, numbered
    （一）（二）… when there are several (whatever numbering was typed is replaced), the single
    one as it is."""
    lines = [_NUMBERED.sub("", line) for line in paragraphs(text)]
    lines = [line for line in lines if line]
    if len(lines) < 2:
        return lines
    # Each item but the last ends in ；, the last in 。 (as typed, if it ends otherwise).
    ended = [_ended(line.rstrip("。"), "；") for line in lines[:-1]] + lines[-1:]
    return [f"（{numeral(i)}）{line}" for i, line in enumerate(ended, 1)]
