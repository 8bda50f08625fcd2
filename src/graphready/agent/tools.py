"""The retrieval tools an LLM agent can call (OpenAI function specs), built from the tools that
exist now, and how a call runs: arguments checked, the retrieval path ``/chat`` uses, passages
numbered in the order the agent first saw them."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from graphready.llm.protocol import ToolSpec
from graphready.retrieval.pipeline import (
    GRAPH_GLOBAL,
    GRAPH_LOCAL,
    KEYWORD,
    VECTOR,
    Retrieval,
    Toolset,
    retrieve,
)
from graphready.stores.base import Hit

SEARCH = "search_documents"
MAX_QUERY_CHARS = 500

_DESCRIPTIONS: Mapping[str, str] = MappingProxyType({
    SEARCH: "Search the documents with every retriever fused (keywords, meaning, and the "
            "knowledge graph when it is ready). The best first choice.",
    KEYWORD: "Search the documents by exact words (BM25): names, codes, rare terms.",
    VECTOR: "Search the documents by meaning (dense embeddings): paraphrases, descriptions.",
    GRAPH_LOCAL: "Search the knowledge graph around the entities named in the query: "
                 "passages about those entities and the entities related to them (multi-hop).",
    GRAPH_GLOBAL: "Search the summaries of the knowledge graph's communities: themes and "
                  "overviews across all documents.",
})


def available(tools: Toolset) -> list[str]:
    """The tool names an agent may call now: the fused search and each ready retriever."""
    return [SEARCH, *[name for name in tools.names() if name in _DESCRIPTIONS]]


def specs(names: list[str]) -> tuple[ToolSpec, ...]:
    """OpenAI ``tools`` entries for ``names`` (each takes one ``query`` string)."""
    return tuple({
        "type": "function",
        "function": {
            "name": name, "description": _DESCRIPTIONS[name],
            "parameters": {"type": "object", "additionalProperties": False,
                           "required": ["query"],
                           "properties": {"query": {"type": "string",
                                                    "description": "What to search for."}}},
        },
    } for name in names)


class ToolArgumentError(ValueError):
    """A tool call the agent cannot run; the message is sent back to the model."""


def query_of(arguments: str) -> str:
    """The ``query`` of a call's JSON arguments."""
    try:
        data = json.loads(arguments or "{}")
    except json.JSONDecodeError as exc:
        raise ToolArgumentError(f"arguments are not JSON ({exc.msg}); send "
                                '{"query": "..."}') from None
    query = data.get("query") if isinstance(data, dict) else None
    if not isinstance(query, str) or not query.strip():
        raise ToolArgumentError('arguments need a non-empty string "query"')
    return query.strip()[:MAX_QUERY_CHARS]


@dataclass(frozen=True, slots=True)
class ToolRun:
    """What one tool call found, and the retrievers it used."""

    hits: list[Hit]
    used: tuple[str, ...]
    retrieval: Retrieval | None = None


def _run(tools: Toolset, name: str, query: str, k: int) -> ToolRun:
    """Run tool ``name``, one of :func:`available` (checked by the caller)."""
    runners: dict[str, Callable[[], ToolRun]] = {
        SEARCH: lambda: _from(retrieve(tools, query, "retrieval" if tools.graph is None
                                       else "auto", k)),
        GRAPH_LOCAL: lambda: _from(retrieve(tools, query, "graph_local", k)),
        GRAPH_GLOBAL: lambda: _from(retrieve(tools, query, "graph_global", k)),
    }
    if tools.keyword is not None:
        keyword = tools.keyword
        runners[KEYWORD] = lambda: ToolRun(keyword.search(query, k), (KEYWORD,))
    if tools.vectors is not None:
        vectors = tools.vectors
        runners[VECTOR] = lambda: ToolRun(vectors.search(query, k), (VECTOR,))
    return runners[name]()


def _from(found: Retrieval) -> ToolRun:
    return ToolRun(found.hits, found.tools_used, found)


def run_tool(tools: Toolset, name: str, arguments: str, k: int) -> ToolRun:
    """Run the call ``name(arguments)`` with ``tools``; a call that cannot run raises
    :class:`ToolArgumentError`."""
    if name not in available(tools):
        raise ToolArgumentError(f"no tool {name!r} now; available: {', '.join(available(tools))}")
    return _run(tools, name, query_of(arguments), k)
