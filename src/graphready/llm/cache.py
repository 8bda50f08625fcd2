"""The LLM response cache: a SQLite file in the data directory, keyed on the model and the whole
prompt (messages, tools, format, limits), so a rebuild, or a build resumed after the LLM went
away, pays nothing for what it already asked. Shared by the server and its build workers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path

from graphready.stores.sqlite.common import SqliteDatabase

from .protocol import ChatModel, ChatReply, LLMStats, Prompt, ToolCall, Usage

CACHE_FILE = "llm-cache.db"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS replies ("
    " key TEXT PRIMARY KEY, model TEXT NOT NULL, purpose TEXT NOT NULL, reply TEXT NOT NULL"
    ") WITHOUT ROWID",
)


def cache_key(model: str, prompt: Prompt) -> str:
    """sha256 of the model and everything the prompt sends (not its ``purpose``)."""
    payload = json.dumps(
        [model, list(prompt.messages), list(prompt.tools), prompt.json_object,
         prompt.max_tokens, prompt.temperature],
        ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _encode(reply: ChatReply) -> str:
    return json.dumps({"content": reply.content,
                       "tool_calls": [[c.id, c.name, c.arguments] for c in reply.tool_calls],
                       "usage": [reply.usage.prompt_tokens, reply.usage.completion_tokens]},
                      ensure_ascii=False, separators=(",", ":"))


def _decode(payload: str) -> ChatReply:
    data = json.loads(payload)
    return ChatReply(data["content"], tuple(ToolCall(*c) for c in data["tool_calls"]),
                     Usage(*data["usage"]), cached=True)


class LLMCache:
    """Replies by :func:`cache_key`."""

    def __init__(self, path: Path) -> None:
        self._db = SqliteDatabase(path, _SCHEMA)

    def get(self, key: str) -> ChatReply | None:
        """The stored reply, or None."""
        with self._db.read() as conn:
            row = conn.execute("SELECT reply FROM replies WHERE key = ?", (key,)).fetchone()
        return _decode(row[0]) if row else None

    def put(self, key: str, model: str, purpose: str, reply: ChatReply) -> None:
        """Store ``reply`` under ``key`` (replacing any earlier one)."""
        with self._db.write() as conn:
            conn.execute("INSERT OR REPLACE INTO replies VALUES (?, ?, ?, ?)",
                         (key, model, purpose, _encode(reply)))

    def count(self) -> int:
        """How many replies are stored."""
        with self._db.read() as conn:
            return int(conn.execute("SELECT count(*) FROM replies").fetchone()[0])

    def close(self) -> None:
        self._db.close()


class CachedChatModel:
    """A chat model that answers from :class:`LLMCache` when it can and stores what the inner
    model answers. Only whole replies are stored: a stream cut short stores nothing."""

    def __init__(self, inner: ChatModel, cache: LLMCache, stats: LLMStats,
                 on_close: Callable[[], None] | None = None) -> None:
        self._inner = inner
        self._cache = cache
        self._on_close = on_close
        self.stats = stats

    @property
    def name(self) -> str:
        return self._inner.name

    def complete(self, prompt: Prompt) -> ChatReply:
        key = cache_key(self.name, prompt)
        hit = self._cache.get(key)
        if hit is not None:
            self.stats.record_hit(prompt.purpose)
            return hit
        reply = self._inner.complete(prompt)
        self._cache.put(key, self.name, prompt.purpose, reply)
        return reply

    def stream(self, prompt: Prompt) -> Iterator[str]:
        key = cache_key(self.name, prompt)
        hit = self._cache.get(key)
        if hit is not None:
            self.stats.record_hit(prompt.purpose)
            yield hit.content
            return
        pieces: list[str] = []
        for piece in self._inner.stream(prompt):
            pieces.append(piece)
            yield piece
        self._cache.put(key, self.name, prompt.purpose, ChatReply("".join(pieces)))

    def close(self) -> None:
        """Close the cache (and whatever ``on_close`` closes: the client)."""
        if self._on_close is not None:
            self._on_close()
        self._cache.close()
