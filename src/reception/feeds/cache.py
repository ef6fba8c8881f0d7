"""The per-process cache of built feed bodies. Never a guard of correctness: each body is
keyed by the feed's version, which every poll reads from the database."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from reception.feeds import ics


class FeedCache:
    """LRU of built bodies keyed by feed version, bounded in bytes; concurrent misses for
    one version in one process build once. `events` keeps each event's serialization, so a
    body rebuilt after a change renders only the events that changed."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self.events = ics.EventCache(max_bytes // 2)
        self._bodies: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._size = 0
        self._building: dict[tuple[Any, ...], asyncio.Future[bytes]] = {}

    def get(self, key: tuple[Any, ...]) -> bytes | None:
        body = self._bodies.get(key)
        if body is not None:
            self._bodies.move_to_end(key)
        return body

    def put(self, key: tuple[Any, ...], body: bytes) -> None:
        if len(body) > self.max_bytes:
            return
        old = self._bodies.pop(key, None)
        if old is not None:
            self._size -= len(old)
        self._bodies[key] = body
        self._size += len(body)
        while self._size > self.max_bytes:
            _, dropped = self._bodies.popitem(last=False)
            self._size -= len(dropped)

    async def get_or_build(
        self, key: tuple[Any, ...], build: Callable[[], Awaitable[bytes]]
    ) -> bytes:
        body = self.get(key)
        if body is not None:
            return body
        pending = self._building.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._building[key] = future
        try:
            body = await build()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiting requests get it, none is left unobserved
            raise
        finally:
            self._building.pop(key, None)
        future.set_result(body)
        self.put(key, body)
        return body

    def __len__(self) -> int:
        return len(self._bodies)
