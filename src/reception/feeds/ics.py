"""RFC 5545 rendering of sessions (pure: no database, no web layer).

Built with the `icalendar` library. Two measured costs are avoided (PITFALLS.md):
- the VTIMEZONE is built once per zone and reused, never `add_missing_timezones()`;
- icalendar's line folding walks every character of every line in Python and dominates
  serialisation (~60% of 2,000 events). `_fold` is a byte-level equivalent — it produces the
  same bytes as `Component.to_ical()` (the feed tests compare them) — applied to icalendar's
  own content lines, so escaping, parameters and value types all stay icalendar's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone
from icalendar.prop import vCategory, vDDDTypes, vDuration, vInt, vText

PRODID = "-//reception//信访接访日历 1.0//ZH"
PROVISIONAL_NOTE = "（日期按未公布的节假日安排推算，可能调整）"
KIND_LABEL = {"reception": "接访日", "field_visit": "下访"}
KIND_CATEGORY = {"reception": "接访", "field_visit": "下访"}
# Bumped whenever the rendered bytes change for the same data, so ETags change with them.
FORMAT_VERSION = "1"


@dataclass(frozen=True, slots=True)
class SessionEntry:
    """What a feed shows of one session: never a petitioner's personal data, counts only."""

    id: int
    uid: str
    kind: str
    status: str
    sequence: int
    provisional: bool
    starts_at: datetime
    ends_at: datetime
    created_at: datetime
    # Latest change to the session or to its appointments (counts are shown).
    modified_at: datetime
    leader_name: str
    leader_title: str
    venue_name: str | None
    venue_address: str | None
    unit_name: str | None
    address: str
    appointments: int
    collective: int


@lru_cache(maxsize=8)
def vtimezone(tzid: str) -> Timezone:
    """The zone's VTIMEZONE, built once (from_tzid costs milliseconds; reused read-only)."""
    return Timezone.from_tzid(tzid, first_date=date(2020, 1, 1))


def summary(entry: SessionEntry) -> str:
    leader = f"{entry.leader_title} {entry.leader_name}".strip()
    where: str | None
    if entry.kind == "reception":
        where = entry.venue_name or entry.unit_name or entry.address
    else:
        where = entry.unit_name or entry.address or entry.venue_name
    parts = [KIND_LABEL.get(entry.kind, entry.kind), leader]
    if where:
        parts.append(where)
    text = " · ".join(parts)
    return f"已取消 · {text}" if entry.status == "cancelled" else text


def location(entry: SessionEntry) -> str:
    if entry.kind == "reception" and entry.venue_name:
        parts = [entry.venue_name, entry.venue_address or ""]
    else:
        parts = [entry.unit_name or "", entry.address]
    return "，".join(p for p in parts if p)


def description(entry: SessionEntry) -> str:
    lines: list[str] = []
    if entry.status == "cancelled":
        lines.append("本场次已取消。")
    elif entry.status == "held":
        lines.append("本场次已举行。")
    if entry.kind == "reception" or entry.appointments:
        lines.append(f"有效预约：{entry.appointments} 起")
    if entry.collective:
        lines.append(f"其中集体访：{entry.collective} 起")
    if entry.provisional:
        lines.append(PROVISIONAL_NOTE)
    return "\n".join(lines)


def _event(entry: SessionEntry, tz: ZoneInfo) -> Event:
    # Properties are set as ready-made icalendar values: Component.add() would infer the
    # type of each one again, which costs more than the whole rest of the build.
    event = Event()
    event["UID"] = vText(entry.uid)
    event["SEQUENCE"] = vInt(entry.sequence)
    # DTSTAMP comes from the data, not the clock, so an unchanged feed is byte-identical.
    stamp = vDDDTypes(entry.modified_at)
    event["DTSTAMP"] = stamp
    event["LAST-MODIFIED"] = stamp
    event["CREATED"] = vDDDTypes(entry.created_at)
    event["DTSTART"] = vDDDTypes(entry.starts_at.astimezone(tz))
    event["DTEND"] = vDDDTypes(entry.ends_at.astimezone(tz))
    event["SUMMARY"] = vText(summary(entry))
    loc = location(entry)
    if loc:
        event["LOCATION"] = vText(loc)
    event["DESCRIPTION"] = vText(description(entry))
    event["STATUS"] = vText("CANCELLED" if entry.status == "cancelled" else "CONFIRMED")
    event["CATEGORIES"] = vCategory([KIND_CATEGORY.get(entry.kind, entry.kind)])
    event["TRANSP"] = vText("OPAQUE")
    if entry.provisional:
        event["X-RECEPTION-PROVISIONAL"] = vText("TRUE")
    return event


def _fold(line: str) -> bytes:
    """RFC 5545 §3.1 folding, byte-for-byte as icalendar's: at most 74 octets of content per
    physical line (75 with the continuation space), never inside a UTF-8 sequence, and never
    right after a backslash or caret (escape starters)."""
    data = line.encode()
    if len(data) < 75:
        return data
    pieces: list[bytes] = []
    start, size = 0, len(data)
    while size - start > 74:
        end = start + 74
        while data[end] & 0xC0 == 0x80:  # continuation byte: back up to the character start
            end -= 1
        if data[end - 1] in b"\\^" and end - 1 > start:
            end -= 1
        pieces.append(data[start:end])
        start = end
    pieces.append(data[start:])
    return b"\r\n ".join(pieces)


def serialize(component: Calendar) -> bytes:
    """Same bytes as `component.to_ical(sorted=False)`, faster (see module docstring)."""
    return b"\r\n".join(_fold(line) for line in component.content_lines(sorted=False) if line) + (
        b"\r\n"
    )


def calendar(
    entries: Iterable[SessionEntry],
    *,
    tzid: str,
    name: str | None = None,
    ttl_minutes: int | None = None,
) -> Calendar:
    """A VCALENDAR (METHOD:PUBLISH) holding one VEVENT per session, in the given order."""
    tz = ZoneInfo(tzid)
    cal = Calendar()
    cal["PRODID"] = vText(PRODID)
    cal["VERSION"] = vText("2.0")
    cal["CALSCALE"] = vText("GREGORIAN")
    cal["METHOD"] = vText("PUBLISH")
    if name is not None:
        cal["X-WR-CALNAME"] = vText(name)
        cal["X-WR-TIMEZONE"] = vText(tzid)
    if ttl_minutes is not None:
        ttl = vDuration(timedelta(minutes=ttl_minutes))
        refresh = vDuration(timedelta(minutes=ttl_minutes))
        refresh.params["VALUE"] = "DURATION"
        cal["REFRESH-INTERVAL"] = refresh
        cal["X-PUBLISHED-TTL"] = ttl
    cal.add_component(vtimezone(tzid))
    for entry in entries:
        cal.add_component(_event(entry, tz))
    return cal


def render(
    entries: Iterable[SessionEntry],
    *,
    tzid: str,
    name: str | None = None,
    ttl_minutes: int | None = None,
) -> bytes:
    return serialize(calendar(entries, tzid=tzid, name=name, ttl_minutes=ttl_minutes))
