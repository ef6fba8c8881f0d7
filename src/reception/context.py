"""What a service needs to know about the world it runs in: the settings and the clock.

Passed down from the request (or the command line), never read from a module-level cache, so a
test sets "today" and the settings explicitly and an app built with other settings obeys them.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from litestar.di import NamedDependency

from reception.config import Settings
from reception.crypto import Keyring, load_keyring


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock that stands still (tests), or moves only when told to."""

    instant: datetime

    def __post_init__(self) -> None:
        if self.instant.tzinfo is None:
            raise ValueError("a clock's instant carries its UTC offset")
        self.instant = self.instant.astimezone(UTC)

    def now(self) -> datetime:
        return self.instant

    def set(self, instant: datetime) -> None:
        self.instant = instant.astimezone(UTC)


@dataclass
class ShiftedClock:
    """Starts at a chosen instant and runs on in real time (RECEPTION_NOW: training systems,
    and tests that drive a real server process)."""

    start: datetime
    _started: float = field(default_factory=time.monotonic)

    def now(self) -> datetime:
        from datetime import timedelta

        return self.start.astimezone(UTC) + timedelta(seconds=time.monotonic() - self._started)


def clock_for(settings: Settings) -> Clock:
    if settings.now:
        return ShiftedClock(datetime.fromisoformat(settings.now))
    return SystemClock()


def keyring_for(settings: Settings) -> Keyring:
    """The data keys, or a clear start-up error (a note is printed when a key file is new)."""
    keys, note = load_keyring(
        env_value=settings.data_keys,
        data_dir=settings.data_dir,
        embedded=settings.is_sqlite,
        suite=settings.cipher_suite,
    )
    if note:
        print(note, file=sys.stderr)
    return keys


@dataclass(frozen=True)
class Context:
    settings: Settings
    clock: Clock
    keys: Keyring

    @classmethod
    def of(
        cls, settings: Settings, clock: Clock | None = None, keys: Keyring | None = None
    ) -> Context:
        return cls(settings, clock or clock_for(settings), keys or keyring_for(settings))

    def with_clock(self, clock: Clock) -> Context:
        """The same settings and keys at another time (e.g. a booking made days before)."""
        return Context(self.settings, clock, self.keys)

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.tz

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        """Today where people are (Asia/Shanghai unless configured otherwise)."""
        return self.clock.now().astimezone(self.tz).date()

    def local(self, value: datetime) -> datetime:
        return value.astimezone(self.tz)


# The per-request context, as handlers declare it (provided by the app from its state).
Ctx = NamedDependency[Context]
