"""Runs questions through the retrieval path that ``/chat`` uses, per mode, and scores them:
passage recall, the offline answer (EM/F1 of the whole text and of its short answer), the share
of its claims that the passages they cite support (:mod:`graphready.agent.support`), and how
often it says the documents don't answer, on answerable questions and, given, on questions the
corpus does not hold (there every abstention is right).

Modes: ``keyword``, ``vector`` and ``hybrid`` restrict the toolset to those retrievers (and use
the ``retrieval`` mode); ``graph_local`` and ``auto`` are the chat modes of the same names."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from graphready.agent.agent import ChatResult, OfflineAgent
from graphready.agent.support import support
from graphready.errors import ConfigError, NotReady
from graphready.retrieval.pipeline import Mode, Retrieval, Toolset, retrieve
from graphready.stores.base import Catalog

from .metrics import answer_in_texts, exact_match, percentile, recall_at_k, token_f1
from .questions import Question

ToolFilter = Callable[[Toolset], Toolset]

EVAL_MODES: Mapping[str, tuple[ToolFilter, Mode]] = MappingProxyType({
    "keyword": (lambda t: Toolset(keyword=t.keyword), "retrieval"),
    "vector": (lambda t: Toolset(vectors=t.vectors), "retrieval"),
    "hybrid": (lambda t: Toolset(keyword=t.keyword, vectors=t.vectors), "retrieval"),
    "graph_local": (lambda t: t, "graph_local"),
    "auto": (lambda t: t, "auto"),
})


@dataclass(slots=True)
class ModeResult:
    """Scores of one mode over the questions."""

    mode: str
    questions: int = 0
    recall: dict[int, float] = field(default_factory=dict)
    exact_match: float = 0.0
    f1: float = 0.0
    answer_in_citations: float = 0.0
    short_em: float = 0.0
    short_f1: float = 0.0
    abstained: float = 0.0
    """Share of the answerable questions answered "the documents don't say" (in %)."""
    claims: int = 0
    """The claims (sentences) of the answers to the answerable questions."""
    claims_supported: int = 0
    """Those of ``claims`` that the passages they cite support."""
    unanswerable: int = 0
    unanswerable_abstained: float = 0.0
    """Share of the questions the corpus does not hold that were answered so (in %)."""
    latencies_ms: list[float] = field(default_factory=list)
    answer_ms: list[float] = field(default_factory=list)
    """Time to compose each answer from what retrieval found (short answer and decision
    included), over retrieval."""

    @property
    def mean_ms(self) -> float:
        """Mean retrieval latency."""
        return sum(self.latencies_ms) / len(self.latencies_ms) if self.latencies_ms else 0.0

    @property
    def p95_ms(self) -> float:
        """95th percentile retrieval latency."""
        return percentile(self.latencies_ms, 95)

    @property
    def supported(self) -> float:
        """Share of the answers' claims that the passages they cite support (in %; 0 without
        claims)."""
        return 100 * self.claims_supported / self.claims if self.claims else 0.0

    @property
    def answer_p95_ms(self) -> float:
        """95th percentile of the answer's time over retrieval."""
        return percentile(self.answer_ms, 95)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready numbers."""
        return {"mode": self.mode, "questions": self.questions,
                "recall": {str(k): round(v, 4) for k, v in self.recall.items()},
                "exact_match": round(self.exact_match, 4), "f1": round(self.f1, 4),
                "answer_in_citations": round(self.answer_in_citations, 4),
                "short_exact_match": round(self.short_em, 4),
                "short_f1": round(self.short_f1, 4),
                "abstained": round(self.abstained, 4), "claims": self.claims,
                "supported_claims": round(self.supported, 4), "unanswerable": self.unanswerable,
                "unanswerable_abstained": round(self.unanswerable_abstained, 4),
                "mean_ms": round(self.mean_ms, 2), "p95_ms": round(self.p95_ms, 2),
                "answer_p95_ms": round(self.answer_p95_ms, 2)}


def check_modes(modes: Sequence[str]) -> None:
    """Raise a ``ConfigError`` naming any unknown mode."""
    unknown = [m for m in modes if m not in EVAL_MODES]
    if unknown:
        raise ConfigError("--modes", f"unknown mode(s) {', '.join(unknown)}; choose from "
                          f"{', '.join(EVAL_MODES)}")


def supported_claims(reply: ChatResult, texts: Mapping[str, str]) -> tuple[int, int]:
    """``(supported, claims)``: how many of ``reply``'s claims the passages they cite hold
    (:func:`~graphready.agent.support.support`; ``texts``: the cited passages' text by chunk
    id); a claim that cites nothing, or only passages not found, is unsupported."""
    by_number = {c.number: c.chunk_id for c in reply.citations}
    supported = 0
    for claim in reply.claims:
        cited = [texts[by_number[n]] for n in claim.citations
                 if n in by_number and by_number[n] in texts]
        supported += bool(cited) and support(claim.text, cited).supported
    return supported, len(reply.claims)


def _document_ranking(catalog: Catalog, chunk_ids: Sequence[str]) -> list[str]:
    docs = [c.doc_id for c in catalog.get_chunks(list(chunk_ids))]
    return list(dict.fromkeys(docs))


def evaluate_mode(
    tools: Toolset, catalog: Catalog, questions: Sequence[Question], mode: str,
    ks: Sequence[int], answer_k: int, unanswerable: Sequence[Question] = (),
    agent: OfflineAgent | None = None,
) -> ModeResult:
    """Score one mode over ``questions`` (and how often it abstains on ``unanswerable``)."""
    restrict, chat_mode = EVAL_MODES[mode]
    subset = restrict(tools)
    agent = agent or OfflineAgent(catalog)
    result = ModeResult(mode)

    def answer(question: str, found: Retrieval) -> ChatResult:
        started = time.perf_counter()
        reply = agent.answer(question, replace(found, hits=found.hits[:answer_k]), subset)
        result.answer_ms.append(1000 * (time.perf_counter() - started))
        return reply

    sums = dict.fromkeys(ks, 0.0)
    depth = 2 * max(ks)
    for question in questions:
        started = time.perf_counter()
        try:
            found = retrieve(subset, question.question, chat_mode, depth)
        except NotReady as exc:
            raise ConfigError("--modes", f"mode {mode!r} cannot run: {exc}") from None
        result.latencies_ms.append(1000 * (time.perf_counter() - started))
        ranking = _document_ranking(catalog, [h.chunk_id for h in found.hits])
        for k in ks:
            sums[k] += recall_at_k(ranking, question.supporting_ids, k)
        if question.answers:
            reply = answer(question.question, found)
            result.abstained += not reply.found
            result.short_em += exact_match(reply.short_answer or "", question.answers)
            result.short_f1 += token_f1(reply.short_answer or "", question.answers)
            result.exact_match += exact_match(reply.answer, question.answers)
            result.f1 += token_f1(reply.answer, question.answers)
            cited = catalog.get_chunks([c.chunk_id for c in reply.citations])
            result.answer_in_citations += answer_in_texts(question.answers,
                                                          [c.text for c in cited])
            held, claims = supported_claims(reply, {c.id: c.text for c in cited})
            result.claims_supported += held
            result.claims += claims
        result.questions += 1
    for question in unanswerable:
        found = retrieve(subset, question.question, chat_mode, answer_k)
        result.unanswerable_abstained += not answer(question.question, found).found
    result.unanswerable = len(unanswerable)
    n = max(result.questions, 1)
    result.recall = {k: 100 * sums[k] / n for k in ks}
    for name in ("exact_match", "f1", "answer_in_citations", "short_em", "short_f1",
                 "abstained"):
        setattr(result, name, 100 * getattr(result, name) / n)
    result.unanswerable_abstained *= 100 / max(result.unanswerable, 1)
    return result


def format_table(results: Sequence[ModeResult], ks: Sequence[int]) -> str:
    """A plain-text table of the results."""
    unanswerable = any(r.unanswerable for r in results)
    head = (["mode"] + [f"R@{k}" for k in ks]
            + ["EM", "F1", "ans-in-cit", "short EM", "short F1", "supported", "abstain"]
            + (["abstain-unans"] if unanswerable else [])
            + ["mean ms", "p95 ms", "answer p95 ms"])
    rows = [[r.mode] + [f"{r.recall[k]:.1f}" for k in ks]
            + [f"{r.exact_match:.1f}", f"{r.f1:.1f}", f"{r.answer_in_citations:.1f}",
               f"{r.short_em:.1f}", f"{r.short_f1:.1f}", f"{r.supported:.1f}",
               f"{r.abstained:.1f}"]
            + ([f"{r.unanswerable_abstained:.1f}"] if unanswerable else [])
            + [f"{r.mean_ms:.1f}", f"{r.p95_ms:.1f}", f"{r.answer_p95_ms:.1f}"]
            for r in results]
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in
                       enumerate(zip(row, widths, strict=True))) for row in [head, *rows]]
    return "\n".join(lines)
