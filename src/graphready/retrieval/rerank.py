"""An optional reranker over the fused candidates: a cross-encoder behind a Cohere- or
Jina-compatible rerank endpoint (``GRAPHREADY_RERANK_URL``), the interface that Cohere, Jina,
vLLM, llama.cpp's server and TEI expose.

The request is Cohere's v2 and Jina's: ``POST {model, query, documents: [str], top_n}`` (TEI's
native ``/rerank`` wants ``texts`` instead: a 422 that asks for ``texts`` is answered by sending
them, and remembered). Replies accepted: ``{"results": [{"index", "relevance_score"}]}`` (Cohere,
Jina, vLLM, llama.cpp; extra fields such as ``document`` ignored, any order) and TEI's bare list
``[{"index", "score"}]``.

Retrieval runs in worker threads; the HTTP call is async and runs on the server's event loop
(:class:`Reranker` hands it over and waits in its own thread), so a slow reranker holds a
worker thread, never the loop. Each call is bounded: at most ``candidates`` documents (a
request's ``top_k`` when larger), each cut to :data:`MAX_DOCUMENT_CHARS`, the question to
:data:`MAX_QUERY_CHARS`, the reply to :data:`MAX_REPLY_BYTES`, the whole exchange to the timeout.

A reranker that fails, times out or answers anything but scores for the documents sent
(:class:`RerankFailed`, which never leaves this module) does not fail the question: the fused
order stands, the passages keep their fused scores, ``tools_used`` lacks :data:`RERANK`, and
``/status``'s ``reranker`` part counts the skip and says why (:meth:`Reranker.status`). With
``GRAPHREADY_RERANK_MIN_SCORE``, passages scored below it are dropped: none left, and the
answer is that the documents don't say.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import math
import threading
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

import httpx2

from graphready.config import Settings
from graphready.redact import redact, redact_url
from graphready.settings_spec import env_name
from graphready.stores.base import Catalog, Hit

from .pipeline import Retrieval

log = logging.getLogger("graphready.retrieval")

RERANK = "rerank"
"""The name in a retrieval's ``tools_used`` when the reranker ordered its passages."""
MAX_DOCUMENT_CHARS = 2000
"""Characters of one passage (its title, a newline, its text) sent: about 500 tokens, what
small cross-encoders read (longer passages are cut by the server anyway)."""
MAX_QUERY_CHARS = 1000
MAX_REPLY_BYTES = 1 << 20
"""The largest reply read (scores for 200 documents take a few KiB)."""
GRACE_S = 1.0
"""How much longer than the timeout a retrieval thread waits for the event loop's answer."""
Shape = Literal["documents", "texts"]


class RerankFailed(Exception):
    """The reranker gave no usable scores; the message says why (no URL credentials)."""


def request_body(query: str, documents: Sequence[str], model: str | None,
                 shape: Shape = "documents") -> dict[str, Any]:
    """The JSON of one rerank request: Cohere's and Jina's (``documents``, ``top_n``), or
    TEI's native one (``texts``). Every document is asked for, so each gets a score."""
    body: dict[str, Any] = {"query": query[:MAX_QUERY_CHARS]}
    cut = [d[:MAX_DOCUMENT_CHARS] for d in documents]
    if shape == "texts":
        body["texts"] = cut
        return body
    if model is not None:
        body["model"] = model
    body.update(documents=cut, top_n=len(cut), return_documents=False)
    return body


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def parse_scores(body: Any, count: int) -> list[float | None]:
    """Each of the ``count`` documents' score from a reply's JSON (``None``: the reply left it
    out); :class:`RerankFailed` for anything else than scores of those documents."""
    results = body.get("results") if isinstance(body, dict) else body
    if not isinstance(results, list):
        raise RerankFailed("malformed reply: no list of results")
    scores: list[float | None] = [None] * count
    for item in results:
        if not isinstance(item, dict):
            raise RerankFailed("malformed reply: a result is not an object")
        index = item.get("index")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < count:
            raise RerankFailed(f"malformed reply: index {str(index)[:20]!r} is not one of the "
                               f"{count} documents sent")
        score = _number(item.get("relevance_score", item.get("score")))
        if score is None:
            raise RerankFailed(f"malformed reply: document {index} has no numeric score")
        if scores[index] is not None:
            raise RerankFailed(f"malformed reply: document {index} is scored twice")
        scores[index] = score
    if count and all(s is None for s in scores):
        raise RerankFailed("malformed reply: no document was scored")
    return scores


def reorder(hits: Sequence[Hit], scores: Sequence[float | None],
            min_score: float | None) -> tuple[list[Hit], int]:
    """``hits`` by descending score (ties, and hits the reply left out, in their fused order,
    after the scored ones), each with its score; and how many were dropped: those below
    ``min_score`` (and, with it, those left unscored)."""
    scored = sorted(((s, i) for i, s in enumerate(scores) if s is not None),
                    key=lambda pair: -pair[0])
    kept = [Hit(hits[i].chunk_id, s) for s, i in scored if min_score is None or s >= min_score]
    if min_score is None:
        kept += [hit for hit, s in zip(hits, scores, strict=True) if s is None]
    return kept, len(hits) - len(kept)


class RerankClient:
    """The async HTTP client of one rerank endpoint. Use it on one event loop (the server's)."""

    def __init__(self, url: str, model: str | None, api_key: str | None,
                 timeout_s: float) -> None:
        self.url = url
        self.model = model
        self.timeout_s = timeout_s
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx2.AsyncClient(timeout=httpx2.Timeout(timeout_s), headers=headers)
        self._shape: Shape = "documents"
        self._secrets = (url,)

    async def scores(self, query: str, documents: Sequence[str]) -> list[float | None]:
        """The documents' scores for ``query``; :class:`RerankFailed` with the reason when the
        endpoint gives none within the timeout."""
        try:
            async with asyncio.timeout(self.timeout_s):
                status, raw = await self._post(request_body(query, documents, self.model,
                                                            self._shape))
                if status == 422 and self._shape == "documents" and b"texts" in raw:
                    self._shape = "texts"  # TEI's native /rerank: remembered
                    status, raw = await self._post(request_body(query, documents, None,
                                                                "texts"))
        except (TimeoutError, httpx2.TimeoutException):
            raise RerankFailed(f"timed out after {self.timeout_s * 1000:g} ms "
                               f"({env_name('rerank_timeout_ms')})") from None
        except httpx2.HTTPError as exc:
            text = redact(str(exc), self._secrets)[:200]
            raise RerankFailed(f"unreachable ({type(exc).__name__}: {text})") from None
        if status != 200:
            detail = redact(raw[:200].decode("utf-8", "replace"), self._secrets)
            raise RerankFailed(f"answered HTTP {status}: {' '.join(detail.split())}")
        try:
            body = json.loads(raw)
        except ValueError:
            raise RerankFailed("malformed reply: not JSON") from None
        return parse_scores(body, len(documents))

    async def _post(self, body: dict[str, Any]) -> tuple[int, bytes]:
        async with self._http.stream("POST", self.url, json=body) as response:
            raw = bytearray()
            async for chunk in response.aiter_bytes():
                raw += chunk
                if len(raw) > MAX_REPLY_BYTES:
                    raise RerankFailed(f"malformed reply: longer than {MAX_REPLY_BYTES} bytes")
            return response.status_code, bytes(raw)

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()


@dataclass
class _Counts:
    reranked: int = 0
    skipped: int = 0
    dropped: int = 0
    last_reason: str | None = None
    last_skipped_at: str | None = None
    last_ok: bool = True
    seconds: float = 0.0


class Reranker:
    """Reorders the passages of a retrieval with ``client``, reading their text from
    ``catalog``; called from retrieval's worker threads, it runs the HTTP call on ``loop``
    (the server's event loop). Keeps ``candidates`` and ``min_score``
    (``GRAPHREADY_RERANK_CANDIDATES``, ``GRAPHREADY_RERANK_MIN_SCORE``) and counts its calls
    for ``/status``."""

    def __init__(self, client: RerankClient, catalog: Catalog,
                 loop: asyncio.AbstractEventLoop, candidates: int,
                 min_score: float | None = None) -> None:
        self.client = client
        self.candidates = candidates
        self.min_score = min_score
        self._catalog = catalog
        self._loop = loop
        self._lock = threading.Lock()
        self._counts = _Counts()

    def apply(self, question: str, found: Retrieval, k: int) -> Retrieval:
        """``found`` (retrieved ``candidates`` deep) with its passages reordered by the
        reranker and cut to ``k``; community summaries (a global search) are only cut to
        ``k``; on any failure, the fused order cut to ``k``, the reason counted."""
        if found.communities or not found.hits:
            return replace(found, hits=found.hits[:k], communities=found.communities[:k])
        started = time.monotonic()
        try:
            hits, dropped = self._rerank(question, found.hits)
        except RerankFailed as exc:
            self._skipped(str(exc))
            return replace(found, hits=found.hits[:k])
        with self._lock:
            counts = self._counts
            counts.reranked += 1
            counts.dropped += dropped
            counts.last_ok = True
            counts.seconds += time.monotonic() - started
        return replace(found, hits=hits[:k], tools_used=(*found.tools_used, RERANK))

    def _rerank(self, question: str, hits: list[Hit]) -> tuple[list[Hit], int]:
        chunks = {c.id: c for c in self._catalog.get_chunks([h.chunk_id for h in hits])}
        known = [h for h in hits if h.chunk_id in chunks]
        if not known:
            raise RerankFailed("none of the passages could be read from the catalog")
        texts = [f"{chunks[h.chunk_id].title}\n{chunks[h.chunk_id].text}".lstrip("\n")
                 for h in known]
        scores = self._wait(self.client.scores(question, texts))
        return reorder(known, scores, self.min_score)

    def _wait(self, call: Coroutine[Any, Any, list[float | None]]) -> list[float | None]:
        """The result of coroutine ``call`` run on the event loop, waited for in this thread
        (never on the loop itself, which would stop it)."""
        try:
            on_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            on_loop = False
        if on_loop or self._loop.is_closed():
            call.close()
            raise RerankFailed("called on the event loop itself, which waiting would block"
                               if on_loop else "the server's event loop is closed")
        future = asyncio.run_coroutine_threadsafe(call, self._loop)
        try:
            result: list[float | None] = future.result(self.client.timeout_s + GRACE_S)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise RerankFailed(f"timed out after {self.client.timeout_s * 1000:g} ms "
                               "(the server's event loop was busy)") from None
        except concurrent.futures.CancelledError:
            raise RerankFailed("cancelled: the server is stopping") from None
        return result

    def _skipped(self, reason: str) -> None:
        log.warning("reranker skipped, the fused order stands: %s", reason)
        with self._lock:
            counts = self._counts
            counts.skipped += 1
            counts.last_ok = False
            counts.last_reason = reason
            counts.last_skipped_at = datetime.now(UTC).isoformat(timespec="seconds")

    def status(self) -> dict[str, Any]:
        """``/status``'s ``reranker`` part: where it is, how it is used, and how it went:
        ``available`` (its last call gave scores), the calls that ``reranked`` and those
        ``skipped`` (with the last reason and when), the passages it ``dropped`` below the
        minimum score, and its mean latency."""
        with self._lock:
            c = self._counts
            mean = c.seconds / c.reranked if c.reranked else None
            return {
                "url": redact_url(self.client.url), "model": self.client.model,
                "candidates": self.candidates, "timeout_ms": round(self.client.timeout_s * 1000),
                "min_score": self.min_score, "available": c.last_ok, "reranked": c.reranked,
                "skipped": c.skipped, "dropped": c.dropped,
                "mean_ms": None if mean is None else round(mean * 1000, 1),
                "last_skipped": None if c.last_reason is None else {
                    "reason": c.last_reason, "at": c.last_skipped_at},
            }

    async def aclose(self) -> None:
        """Close the HTTP client (the lifespan does, on the loop it ran on)."""
        await self.client.aclose()


def open_reranker(settings: Settings, catalog: Catalog,
                  loop: asyncio.AbstractEventLoop) -> Reranker | None:
    """The configured reranker over ``catalog``'s passages, calling out on ``loop``; None when
    ``GRAPHREADY_RERANK_URL`` is not set."""
    if settings.rerank_url is None:
        return None
    client = RerankClient(settings.rerank_url, settings.rerank_model, settings.rerank_api_key,
                          settings.rerank_timeout_ms / 1000)
    return Reranker(client, catalog, loop, settings.rerank_candidates, settings.rerank_min_score)
