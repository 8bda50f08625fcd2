"""Admission control, so that overload gives clear, quick refusals instead of latency that grows
without limit, and so that no one client can take the server from the others:

- a **chat rate limit per client** (``GRAPHREADY_CHAT_RATE_PER_MINUTE``, 300 by default: more
  than a person types, less than a loop sends; 0 = off): a token bucket per API key when keys
  are configured, else per client address; over it, 429 ``rate_limited`` with ``Retry-After``
  (the seconds until the bucket holds a request again);
- a **bound on chats in flight** (``GRAPHREADY_MAX_CHATS_IN_FLIGHT``) with a **fair share**: a
  chat beyond the bound waits for a slot at most ``GRAPHREADY_CHAT_QUEUE_TIMEOUT_S`` seconds and
  is then shed with 503 ``overloaded`` and ``Retry-After``. One client may use every slot but
  the last ``GRAPHREADY_CHAT_SLOTS_PER_CLIENT`` (a quarter of them by default), which stay for
  clients holding fewer than that; a freed slot goes first to a waiting client under its share.
  A client refused for its share (other slots were free) gets 429 ``rate_limited``. A streamed
  answer holds its slot until its stream ends;
- **graph API and export requests per client** (``GRAPHREADY_GRAPH_REQUESTS_PER_CLIENT``,
  ``GRAPHREADY_EXPORTS_PER_CLIENT``): more wait the same queue timeout, then 429
  ``rate_limited``. An export holds its place until its last byte is sent
  (:class:`GraphShares`, a pure ASGI middleware).

All are per server process. The state lives in :class:`Admission`, which ``AppState`` holds.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import sys
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from graphready.config import Settings
from graphready.errors import Overloaded, RateLimited
from graphready.settings_spec import env_name

from .auth import bearer, keys_required
from .errors import exception_response
from .state import state_of

GRAPH_PREFIXES = ("/graph/", "/passages/")
EXPORT_PATH = "/graph/export"
EXPORT_RETRY_S = 10
"""Retry-After of a refused export: exports take seconds to minutes."""
UNBOUNDED = sys.maxsize

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


class Shares:
    """Places shared among clients: at most ``limit`` held at once and ``cap`` by one client; a
    client already holding ``share`` or more takes another only while more than ``share`` are
    free (the last ``share`` are kept for clients holding fewer). Waiters are served first come
    first served among those a freed place may go to, so a client under its share is never kept
    behind one over it."""

    def __init__(self, limit: int, share: int, cap: int) -> None:
        self.limit, self.share, self.cap = limit, min(share, limit), min(cap, limit)
        self.in_flight = 0
        self.waiting = 0
        self._held: dict[str, int] = {}
        self._waiters: dict[asyncio.Future[None], str] = {}

    def held(self, client: str) -> int:
        """Places ``client`` holds now."""
        return self._held.get(client, 0)

    @property
    def full(self) -> bool:
        """Whether every place is held."""
        return self.in_flight >= self.limit

    def _may_take(self, client: str) -> bool:
        free, held = self.limit - self.in_flight, self.held(client)
        return free > 0 and held < self.cap and (held < self.share or free > self.share)

    def _take(self, client: str) -> None:
        self.in_flight += 1
        self._held[client] = self.held(client) + 1

    def give_back(self, client: str) -> None:
        """Give back a place of ``client``'s, and hand it on to a waiter that may take it."""
        self.in_flight -= 1
        left = self.held(client) - 1
        if left > 0:
            self._held[client] = left
        else:
            self._held.pop(client, None)
        for waiter, who in list(self._waiters.items()):
            if self.full:
                break
            if not waiter.done() and self._may_take(who):
                self._take(who)
                waiter.set_result(None)
                del self._waiters[waiter]

    async def take(self, client: str, timeout_s: float) -> bool:
        """Take a place for ``client``, waiting at most ``timeout_s`` seconds: whether it got
        one (then :meth:`give_back` it)."""
        if self._may_take(client):
            self._take(client)
            return True
        if timeout_s <= 0:
            return False
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[waiter] = client
        self.waiting += 1
        try:
            async with asyncio.timeout(timeout_s):
                await waiter
            return True
        except TimeoutError:
            return waiter.done() and not waiter.cancelled()  # handed over as time ran out
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.give_back(client)
            raise
        finally:
            self.waiting -= 1
            self._waiters.pop(waiter, None)


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
    """The rate limiter, the chat slots and the graph and export places of one server process,
    with counters for ``/status``."""

    def __init__(self, settings: Settings) -> None:
        self.limit = settings.max_chats_in_flight
        self.queue_timeout_s = settings.chat_queue_timeout_s
        self.rate = (RateLimiter(settings.chat_rate_per_minute)
                     if settings.chat_rate_per_minute > 0 else None)
        self._keyed_by_api_key = _api_keys_configured(settings)
        self.chats = Shares(self.limit, settings.chat_share, self.limit)
        self.graph = Shares(UNBOUNDED, settings.graph_requests_per_client,
                            settings.graph_requests_per_client)
        self.exports = Shares(UNBOUNDED, settings.exports_per_client,
                              settings.exports_per_client)
        self.shed = 0
        self.rate_limited = 0
        self.share_refused = 0
        self.graph_refused = 0
        self._mean_chat_s = 1.0

    @property
    def in_flight(self) -> int:
        """Chats in flight."""
        return self.chats.in_flight

    @property
    def waiting(self) -> int:
        """Chats waiting for a slot."""
        return self.chats.waiting

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
                f"({env_name('chat_rate_per_minute')}); retry in {math.ceil(wait)} s",
                retry_after=max(1, math.ceil(wait)))

    def client_key(self, request: Request) -> str:
        """Whose allowance and share a request spends (see :meth:`client_of`)."""
        return self.client_of(request.scope)

    def client_of(self, scope: Scope) -> str:
        """Whose allowance and share a request spends: its API key's (hashed; never kept in
        clear) when keys are configured and it sends one, else its client address's."""
        if self._keyed_by_api_key:
            token = bearer(scope)
            if token is not None:
                digest = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
                return f"key:{digest[:32]}"
        client = scope.get("client")
        return f"addr:{client[0] if client else 'unknown'}"

    @asynccontextmanager
    async def slot(self, request: Request) -> AsyncIterator[Slot]:
        """A slot among the chats in flight for ``request``'s client, waited for at most the
        queue timeout (else :class:`Overloaded`, or :class:`RateLimited` when the client was
        over its share while slots were free). It is given back on leaving the block, unless it
        was handed to a stream with :meth:`Slot.hold_while`, which gives it back when the stream
        ends."""
        client = self.client_key(request)
        if not await self.chats.take(client, self.queue_timeout_s):
            raise self._refusal(client)
        started = time.monotonic()

        def release() -> None:
            self.chats.give_back(client)
            self._mean_chat_s += 0.2 * (time.monotonic() - started - self._mean_chat_s)

        held = Slot(release)
        try:
            yield held
        finally:
            if not held.handed_to_stream:
                held.release()

    def _refusal(self, client: str) -> Overloaded | RateLimited:
        waited = f"within {self.queue_timeout_s} s ({env_name('chat_queue_timeout_s')})"
        if self.chats.full:
            self.shed += 1
            return Overloaded(
                f"the server is at its limit of {self.limit} chats in flight "
                f"({env_name('max_chats_in_flight')}) and none finished {waited}; retry shortly",
                retry_after=self._retry_after())
        self.share_refused += 1
        return RateLimited(
            f"this client already has {self.chats.held(client)} chats in flight; the last "
            f"{self.chats.share} of the {self.limit} chat slots are kept for other clients "
            f"({env_name('chat_slots_per_client')}) and none of its own chats finished {waited}; "
            "retry when one has", retry_after=self._retry_after())

    def _retry_after(self) -> int:
        """Seconds until a slot is likely free: the recent mean chat time (1 to 60)."""
        return min(60, max(1, math.ceil(self._mean_chat_s)))

    def snapshot(self) -> dict[str, Any]:
        """The figures ``/status`` shows under ``chat_admission``."""
        return {"in_flight": self.in_flight, "waiting": self.waiting,
                "max_in_flight": self.limit, "queue_timeout_s": self.queue_timeout_s,
                "shed": self.shed, "rate_per_minute": self.rate.per_minute if self.rate else 0,
                "rate_limited": self.rate_limited, "kept_for_others": self.chats.share,
                "share_refused": self.share_refused,
                "graph_requests_per_client": self.graph.cap,
                "exports_per_client": self.exports.cap, "graph_refused": self.graph_refused}


class GraphShares:
    """A pure ASGI middleware: each client's graph API requests (``/graph/``, ``/passages/``)
    and exports (``/graph/export``) in flight are bounded (:class:`Shares` of the app's
    :class:`Admission`); a request holds its place until its response is sent."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        state = state_of(scope)
        if scope["type"] != "http" or state is None or not path.startswith(GRAPH_PREFIXES):
            await self._app(scope, receive, send)
            return
        admission: Admission = state.admission
        export = path == EXPORT_PATH
        shares = admission.exports if export else admission.graph
        client = admission.client_of(scope)
        if not await shares.take(client, admission.queue_timeout_s):
            admission.graph_refused += 1
            what, setting = ("exports", env_name("exports_per_client")) if export else \
                ("graph API requests", env_name("graph_requests_per_client"))
            refusal = RateLimited(
                f"this client already has {shares.held(client)} {what} in flight, its limit "
                f"({setting}), and none finished within {admission.queue_timeout_s} s; retry "
                "when one has", retry_after=EXPORT_RETRY_S if export else 1)
            await exception_response(refusal)(scope, receive, send)
            return
        try:
            await self._app(scope, receive, send)
        finally:
            shares.give_back(client)


def _api_keys_configured(settings: Settings) -> bool:
    """Whether API keys are required (``GRAPHREADY_API_KEY``,
    ``GRAPHREADY_READ_ONLY_API_KEY`` or ``GRAPHREADY_KEYS_FILE``): then every request that
    reaches a chat endpoint carries a valid key (the key middleware saw to it), and the rate
    limit is per key."""
    return keys_required(settings)
