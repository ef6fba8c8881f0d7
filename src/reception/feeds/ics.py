"""RFC 5545 rendering of sessions (pure: no database, no web layer).

Events are built with the `icalendar` library. Measured costs avoided (PITFALLS.md):
- the VTIMEZONE is built once per zone and reused, never `add_missing_timezones()`;
- icalendar's per-line machinery (`Contentline.from_parts`, a throw-away `Parameters` per
  property, character-wise folding) dominated serialisation. `serialize` produces the same
  bytes as `Component.to_ical(sorted=False)` (the feed tests compare them) from icalendar's
  own `to_ical()` of each value and its parameters, so escaping, parameters and value types
  all stay icalendar's; `_fold` is a byte-level equivalent of its folding;
- `EventCache` keeps each event's bytes keyed by its data: a feed rebuilt after a change
  renders only the changed events.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Component, Event, Timezone
from icalendar.prop import vCategory, vDDDTypes, vDuration, vInt, vText

from reception.errors import Broken

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


@lru_cache(maxsize=4096)
def _text(value: str) -> vText:
    """A text value, shared by the events that show the same string (statuses, summaries,
    places): icalendar values are never mutated once set, and building one costs more than
    looking it up."""
    return vText(value)


@lru_cache(maxsize=16)
def _category(value: str) -> vCategory:
    return vCategory([value])


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
    event["SUMMARY"] = _text(summary(entry))
    loc = location(entry)
    if loc:
        event["LOCATION"] = _text(loc)
    event["DESCRIPTION"] = _text(description(entry))
    event["STATUS"] = _text("CANCELLED" if entry.status == "cancelled" else "CONFIRMED")
    event["CATEGORIES"] = _category(KIND_CATEGORY.get(entry.kind, entry.kind))
    event["TRANSP"] = _text("OPAQUE")
    if entry.provisional:
        event["X-RECEPTION-PROVISIONAL"] = _text("TRUE")
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


def _unicode(value: Any) -> str:
    # As icalendar's to_unicode: values come back from to_ical() as UTF-8 bytes.
    return value.decode("utf-8-sig") if isinstance(value, bytes) else value


def _content_line(name: str, value: Any) -> str:
    """`Contentline.from_parts(name, value.params, value, sorted=False)` without its per-line
    overhead (a throw-away Parameters per call, re-decoding, checks): the value and parameter
    text are still icalendar's own `to_ical()`."""
    text = _unicode(value.to_ical() if hasattr(value, "to_ical") else vText(value).to_ical())
    params = getattr(value, "params", None)
    if params:
        rendered = _unicode(params.to_ical(sorted=False))
        if rendered:
            return f"{name};{rendered}:{text}"
    return f"{name}:{text}"


def _lines(component: Component) -> list[str]:
    """The content lines of a component and its subcomponents, in insertion order: the same
    as `component.content_lines(sorted=False)`."""
    lines = [f"BEGIN:{component.name}"]
    for name, values in component.items():
        for value in values if isinstance(values, list) else (values,):
            lines.append(_content_line(name, value))
    for sub in component.subcomponents:
        lines.extend(_lines(sub))
    lines.append(f"END:{component.name}")
    return lines


def serialize(component: Component) -> bytes:
    """Same bytes as `component.to_ical(sorted=False)`, several times faster."""
    return b"\r\n".join([_fold(line) for line in _lines(component)]) + b"\r\n"


def event_bytes(entry: SessionEntry, tzid: str) -> bytes:
    """One VEVENT, serialized (what the per-process event cache keeps)."""
    return serialize(_event(entry, ZoneInfo(tzid)))


class EventCache:
    """Serialized VEVENTs keyed by everything they show (the entry itself, the zone and the
    format version), bounded in bytes. A feed rebuilt after a change re-renders only the
    events whose data changed, and feeds that share sessions (a leader's and his unit's)
    share their events. Never stale: changed data is a different key. Safe to use from a
    worker thread (bodies are rendered off the event loop)."""

    def __init__(self, max_bytes: int = 32 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._events: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def has(self, entry: SessionEntry, tzid: str) -> bool:
        return (FORMAT_VERSION, tzid, entry) in self._events

    def get(self, entry: SessionEntry, tzid: str) -> bytes:
        key = (FORMAT_VERSION, tzid, entry)
        with self._lock:
            data = self._events.get(key)
            if data is not None:
                self._events.move_to_end(key)
                return data
        data = event_bytes(entry, tzid)
        with self._lock:
            if key not in self._events:
                self._events[key] = data
                self._size += len(data)
            while self._size > self.max_bytes and self._events:
                _, dropped = self._events.popitem(last=False)
                self._size -= len(dropped)
        return data

    def __len__(self) -> int:
        return len(self._events)


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
    cache: EventCache | None = None,
) -> bytes:
    """The calendar's bytes: `calendar(...).to_ical(sorted=False)`, assembled from each
    event's own serialization (taken from `cache` when given)."""
    shell = _shell(tzid, name, ttl_minutes)
    if cache is None:
        events = [event_bytes(entry, tzid) for entry in entries]
    else:
        events = [cache.get(entry, tzid) for entry in entries]
    return shell[0] + b"".join(events) + shell[1]


@lru_cache(maxsize=256)
def _shell(tzid: str, name: str | None, ttl_minutes: int | None) -> tuple[bytes, bytes]:
    """The VCALENDAR around the events (its properties and the VTIMEZONE), split where the
    events go."""
    body = serialize(calendar((), tzid=tzid, name=name, ttl_minutes=ttl_minutes))
    end = b"END:VCALENDAR\r\n"
    if not body.endswith(end):
        raise Broken("expected: body.endswith(end)")
    return body[: -len(end)], end
