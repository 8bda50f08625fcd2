"""Admission control for the chat endpoints (``POST /chat``, ``POST /v1/chat/completions``), so
that overload gives clear, quick refusals instead of latency that grows without limit:

- a **rate limit per client** (``GRAPHREADY_CHAT_RATE_PER_MINUTE``; 0 = off): a token bucket per
  API key when keys are configured, else per client address; over it, 429 ``rate_limited``
  with ``Retry-After`` (the seconds until the bucket holds a request again);
- a **bound on chats in flight** (``GRAPHREADY_MAX_CHATS_IN_FLIGHT``): a chat beyond it waits
  for a slot, first come first served, at most ``GRAPHREADY_CHAT_QUEUE_TIMEOUT_S`` seconds, and
  is then shed with 503 ``overloaded`` and ``Retry-After``. A streamed answer holds its slot
  until its stream ends.

Both are per server process. The state lives in :class:`Admission`, which ``AppState`` holds.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Request

from graphready.config import Settings
from graphready.errors import Overloaded, RateLimited

from .auth import keys_of

MAX_TRACKED_CLIENTS = 10_000
"""Buckets kept at most; beyond it the least recently seen client's is dropped (it starts full
again, which only ever favours that client)."""


class RateLimiter:
    """Token buckets, one per client key: each holds up to ``per_minute`` requests (so a quiet
    client may send a burst of that many) and refills evenly at ``per_minute`` a minute.
    ``clock`` gives seconds (monotonic); tests pass their own."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic,
                 max_clients: int = MAX_TRACKED_CLIENTS) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """Spend one request of ``key``'s allowance: 0.0 when it had one, else the seconds
        until it will (and nothing is spent)."""
        capacity = float(self.per_minute)
        rate = self.per_minute / 60.0
        now = self._clock()
        tokens, stamp = self._buckets.pop(key, (capacity, now))
        tokens = min(capacity, tokens + (now - stamp) * rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / rate
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self._max_clients:
            self._buckets.popitem(last=False)
        return wait


class Slot:
    """A place among the chats in flight; :meth:`release` gives it back (once, whoever calls)."""

    def __init__(self, release: Callable[[], None]) -> None:
        self._release: Callable[[], None] | None = release
        self.handed_to_stream = False

    def release(self) -> None:
        """Give the slot back; later calls do nothing."""
        release, self._release = self._release, None
        if release is not None:
            release()

    def hold_while(self, stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """``stream``, holding this slot until it ends, fails or is closed."""
        self.handed_to_stream = True

        async def guarded() -> AsyncIterator[bytes]:
            try:
                async for chunk in stream:
                    yield chunk
            finally:
                self.release()

        return guarded()


class Admission:
    """The rate limiter and the in-flight bound of one server process, with counters for
    ``/status``."""

    def __init__(self, settings: Settings) -> None:
        self.limit = settings.max_chats_in_flight
        self.queue_timeout_s = settings.chat_queue_timeout_s
        self.rate = (RateLimiter(settings.chat_rate_per_minute)
                     if settings.chat_rate_per_minute > 0 else None)
        self._keyed_by_api_key = _api_keys_configured(settings)
        self._slots = asyncio.Semaphore(self.limit)
        self.in_flight = 0
        self.waiting = 0
        self.shed = 0
        self.rate_limited = 0
        self._mean_chat_s = 1.0

    async def check_rate(self, request: Request) -> None:
        """Spend one request of the client's allowance, or raise :class:`RateLimited`. (A
        refusal sent over an unread body keeps the client's kept-alive connection:
        ``unread_body.py``.)"""
        if self.rate is None:
            return
        wait = self.rate.take(self.client_key(request))
        if wait > 0:
            self.rate_limited += 1
            raise RateLimited(
                f"too many chat requests: at most {self.rate.per_minute} a minute per client "
                f"(GRAPHREADY_CHAT_RATE_PER_MINUTE); retry in {math.ceil(wait)} s",
                retry_after=max(1, math.ceil(wait)))

    def client_key(self, request: Request) -> str:
        """Whose allowance a request spends: its API key's (hashed; never kept in clear) when
        keys are configured and it sends one, else its client address's."""
        if self._keyed_by_api_key:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                digest = hashlib.sha256(token.strip().encode("utf-8", "replace")).hexdigest()
                return f"key:{digest[:32]}"
        client = request.client
        return f"addr:{client.host if client is not None else 'unknown'}"

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[Slot]:
        """A slot among the chats in flight, waited for at most the queue timeout (else
        :class:`Overloaded`). It is given back on leaving the block, unless it was handed to a
        stream with :meth:`Slot.hold_while`, which gives it back when the stream ends."""
        await self._acquire()
        started = time.monotonic()
        self.in_flight += 1

        def release() -> None:
            self.in_flight -= 1
            self._slots.release()
            self._mean_chat_s += 0.2 * (time.monotonic() - started - self._mean_chat_s)

        held = Slot(release)
        try:
            yield held
        finally:
            if not held.handed_to_stream:
                held.release()

    async def _acquire(self) -> None:
        if not self._slots.locked():
            await self._slots.acquire()
            return
        self.waiting += 1
        try:
            if self.queue_timeout_s <= 0:
                raise TimeoutError
            async with asyncio.timeout(self.queue_timeout_s):
                await self._slots.acquire()
        except TimeoutError:
            self.shed += 1
            raise Overloaded(
                f"the server is at its limit of {self.limit} chats in flight "
                f"(GRAPHREADY_MAX_CHATS_IN_FLIGHT) and none finished within "
                f"{self.queue_timeout_s} s (GRAPHREADY_CHAT_QUEUE_TIMEOUT_S); retry shortly",
                retry_after=self._retry_after()) from None
        finally:
            self.waiting -= 1

    def _retry_after(self) -> int:
        """Seconds until a slot is likely free: the recent mean chat time (1 to 60)."""
        return min(60, max(1, math.ceil(self._mean_chat_s)))

    def snapshot(self) -> dict[str, Any]:
        """The figures ``/status`` shows under ``chat_admission``."""
        return {"in_flight": self.in_flight, "waiting": self.waiting,
                "max_in_flight": self.limit, "queue_timeout_s": self.queue_timeout_s,
                "shed": self.shed, "rate_per_minute": self.rate.per_minute if self.rate else 0,
                "rate_limited": self.rate_limited}


def _api_keys_configured(settings: Settings) -> bool:
    """Whether API keys are required (``GRAPHREADY_API_KEY`` or
    ``GRAPHREADY_READ_ONLY_API_KEY``): then every request that reaches a chat endpoint carries
    a valid key (the key middleware saw to it), and the rate limit is per key."""
    return any(keys_of(settings))
