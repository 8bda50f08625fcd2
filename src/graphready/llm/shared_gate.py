"""Questions first, across machines: the questions each process answers with a model server,
kept on the queue's Redis-protocol server (``GRAPHREADY_QUEUE_URL``), so that build calls to
that model wait, wherever they are made, while any process answers a question.

Each process that answers questions writes its count in the hash
``graphready:questions:<model>:counts`` and its hold's end (the queue server's clock plus
``hold_s``, the queue's lease ``GRAPHREADY_QUEUE_LEASE_S``) in the sorted set
``graphready:questions:<model>:holds``, in one script: while the count is above zero a thread
writes it again every third of ``hold_s`` (at most every 5 s), and removes it when it falls to
zero. A server that dies with questions in flight stops renewing, and its hold lapses after
``hold_s`` (the reading script drops lapsed holds): a dead server never holds the build back
for ever. ``<model>`` is a hash of the model server's URL and model name: questions hold back
the build calls to the same model only.

Every change is announced on the channel ``graphready:questions:<model>``. Each process follows
it with a thread that, on an announcement and at least every third of ``hold_s``, adds up the
other processes' live holds and gives the sum to its :class:`~graphready.llm.gate.ModelGate`
(``set_shared_questions``), which holds build calls back while it is above zero and preempts
those in flight when it rises from zero, as it does for questions of its own process. A
question arriving on one machine thus cancels a build call in flight on another within a round
trip of the announcement.

The queue server not answering never holds a question: the count is written in the
background, and a process that cannot read the others' counts takes them as zero (logged).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable

from redis import Redis
from redis.client import PubSub
from redis.exceptions import RedisError

log = logging.getLogger("graphready.llm")

PREFIX = "graphready:questions:"
CONNECT_TIMEOUT_S = 5.0
SOCKET_TIMEOUT_S = 10.0
RENEW_MAX_S = 5.0
"""The longest time between two writes of a count above zero."""

_NOW_MS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""
_WRITE = _NOW_MS + """
if tonumber(ARGV[2]) > 0 then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
else
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
end
return 1
"""
_SUM = _NOW_MS + """
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #lapsed > 0 then
  redis.call('ZREM', KEYS[1], unpack(lapsed))
  redis.call('HDEL', KEYS[2], unpack(lapsed))
end
local total = 0
for _, who in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if who ~= ARGV[1] then total = total + tonumber(redis.call('HGET', KEYS[2], who) or '0') end
end
return total
"""


def model_scope(base_url: str, model: str) -> str:
    """The key part that names one model on one model server (a hash: no URL in key names)."""
    return hashlib.sha256(f"{base_url.rstrip('/')}\n{model}".encode()).hexdigest()[:16]


def renew_every(hold_s: float) -> float:
    """How often a count above zero is written again, and the others' counts read."""
    return min(RENEW_MAX_S, hold_s / 3)


class SharedQuestions:
    """This process's questions on the queue server at ``url``, and the other processes' sum
    (see the module docstring); ``scope`` names the model (:func:`model_scope`). Nothing is
    sent before :meth:`follow`, which starts the two threads; :meth:`close` stops them and
    withdraws this process's count."""

    def __init__(self, url: str, scope: str, hold_s: float) -> None:
        self._client: Redis = Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S,
                                             socket_timeout=SOCKET_TIMEOUT_S)
        self._channel = f"{PREFIX}{scope}"
        self._keys = [f"{PREFIX}{scope}:holds", f"{PREFIX}{scope}:counts"]
        self._owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._write = self._client.register_script(_WRITE)
        self._read = self._client.register_script(_SUM)
        self._hold_ms = max(1, int(hold_s * 1000))
        self._every = renew_every(hold_s)
        self._count = 0
        self._lock = threading.Lock()
        self._changed = threading.Event()
        self._stop = threading.Event()
        self._writer: threading.Thread | None = None
        self._reader: threading.Thread | None = None
        self._others = 0

    def publish(self, count: int) -> None:
        """This process now answers ``count`` questions (written in the background: never
        waits on the queue server)."""
        with self._lock:
            self._count = max(0, count)
        self._changed.set()

    def follow(self, changed: Callable[[int], None]) -> None:
        """Start writing this process's count and reading the others' sum, which is given to
        ``changed`` each time it changes (and once, at first)."""
        self._writer = threading.Thread(target=self._write_loop, name="questions-write",
                                        daemon=True)
        self._reader = threading.Thread(target=self._read_loop, args=(changed,),
                                        name="questions-read", daemon=True)
        self._writer.start()
        self._reader.start()

    def others(self) -> int:
        """The questions the other processes answer, as last read."""
        return self._others

    def close(self) -> None:
        """Stop both threads and withdraw this process's count (so that it holds nothing);
        the announcement of it wakes this process's reader too."""
        self._stop.set()
        self._changed.set()
        if self._writer is not None:
            self._writer.join(timeout=SOCKET_TIMEOUT_S)
        try:
            self._write(self._keys, [self._owner, 0, self._hold_ms])
            self._client.publish(self._channel, "0")
        except (RedisError, OSError) as exc:
            log.debug("cannot withdraw this process's question count: %s", exc)
        if self._reader is not None:
            self._reader.join(timeout=SOCKET_TIMEOUT_S)
        self._client.close()

    # -- the threads ---------------------------------------------------------------------------

    def _write_loop(self) -> None:
        written: int | None = None
        while not self._stop.is_set():
            self._changed.wait(self._every)
            self._changed.clear()
            if self._stop.is_set():
                return
            with self._lock:
                count = self._count
            try:
                if count > 0 or written != 0:
                    self._write(self._keys, [self._owner, count, self._hold_ms])
                if count != written:
                    self._client.publish(self._channel, str(count))
                written = count
            except (RedisError, OSError) as exc:
                log.warning("cannot share this process's question count on the queue "
                            "server: %s", exc)
                written = None
                self._stop.wait(self._every)
                self._changed.set()  # write it again

    def _read_loop(self, changed: Callable[[int], None]) -> None:
        listening: PubSub | None = None
        last: int | None = None
        while not self._stop.is_set():
            try:
                if listening is None:
                    listening = self._client.pubsub(ignore_subscribe_messages=True)
                    listening.subscribe(self._channel)
                total = self._sum()
            except (RedisError, OSError) as exc:
                if last != 0:
                    log.warning("cannot read the questions of the other processes on the "
                                "queue server (taken as none): %s", exc)
                total, listening = 0, self._drop(listening)
            if total != last:
                self._others = total
                changed(total)
                last = total
            if listening is None:
                self._stop.wait(self._every)
                continue
            try:
                listening.get_message(timeout=self._every)
            except (RedisError, OSError):
                listening = self._drop(listening)
        self._drop(listening)

    @staticmethod
    def _drop(listening: PubSub | None) -> None:
        if listening is not None:
            with contextlib.suppress(RedisError, OSError):
                listening.close()

    def _sum(self) -> int:
        """The counts of the other processes whose hold has not lapsed."""
        return int(self._read(self._keys, [self._owner]))
