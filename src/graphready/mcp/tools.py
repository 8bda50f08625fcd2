"""The tools, declared once: each one's name, title, description, arguments (``arguments.py``),
what it does (``calls.py``), the role a key needs to call it, and the protocol's annotations
derived from that: a tool that needs only ``read`` is ``readOnlyHint``; the others say whether
they destroy anything (``destructiveHint``) and whether calling again with the same arguments
changes nothing more (``idempotentHint``). No tool reaches outside the server's documents
(``openWorldHint`` false)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import mcp.types as types

from graphready.config import Settings
from graphready.server.keys import Role

from . import arguments as args
from . import calls
from .arguments import Arguments, input_schema
from .caller import Caller

Run = Callable[[Caller, Any], Awaitable[calls.Result]]


@dataclass(frozen=True, slots=True)
class Tool:
    """One tool (see the module's docstring)."""

    name: str
    title: str
    description: str
    arguments: type[Arguments]
    run: Run
    role: Role = "read"
    destructive: bool = False
    idempotent: bool = True

    def declaration(self, settings: Settings) -> types.Tool:
        """The tool as ``tools/list`` declares it, with the bounds of ``settings``."""
        return types.Tool(
            name=self.name, title=self.title, description=self.description,
            input_schema=input_schema(self.arguments, settings),
            annotations=types.ToolAnnotations(
                title=self.title, read_only_hint=self.role == "read",
                destructive_hint=self.destructive, idempotent_hint=self.idempotent,
                open_world_hint=False))


GRAPH_NOTE = (" Needs the knowledge graph: while it is being built, the call fails with "
              "`not_ready` (the status tool shows the build's progress).")

TOOLS: tuple[Tool, ...] = (
    Tool("search_passages", "Search passages",
         "Search the documents and return the best passages, whole, with their document, "
         "title and score, best first; no answer is written. Use it to read what the "
         "documents say about something. The result says whether the knowledge graph was used "
         "(`graph_used`) and, while it is still being built, that it was not (`graph.note`).",
         args.SearchPassages, calls.search_passages),
    Tool("ask", "Ask the documents",
         "Answer a question from the documents, with numbered citations ([1] in the answer is "
         "the citation whose `number` is 1: its document, passage and span). `found` is false "
         "when the documents do not answer it: the answer then says so, and the citations are "
         "the closest passages, not support. While the knowledge graph is being built the "
         "answer comes from keyword and vector search, and `graph.note` says so.",
         args.Ask, calls.ask),
    Tool("find_entities", "Find entities",
         "Find entities of the knowledge graph (people, places, organisations, ...) by name: "
         "exact names first, then by how connected they are. Returns each entity's `id` (for "
         "get_entity and neighbourhood), name, type, degree and passage count; paged with "
         "`cursor`." + GRAPH_NOTE,
         args.FindEntities, calls.find_entities),
    Tool("get_entity", "Get an entity",
         "One entity of the knowledge graph: its description, aliases, the passages and "
         "documents that mention it (with snippets), its strongest relations, and its community "
         "at every level." + GRAPH_NOTE,
         args.GetEntity, calls.get_entity),
    Tool("neighbourhood", "Entity neighbourhood",
         "The entities within `hops` relations of an entity (strongest relations first, at "
         "most `limit`), the relations among them, and the communities they belong to: the "
         "entity's context in the graph." + GRAPH_NOTE,
         args.Neighbourhood, calls.neighbourhood),
    Tool("community_summaries", "Community summaries",
         "The knowledge graph's communities (groups of closely related entities), largest "
         "first, each with its summary: an overview of the themes of the whole corpus. Level 0 "
         "is the broadest; paged with `cursor`." + GRAPH_NOTE,
         args.CommunitySummaries, calls.community_summaries),
    Tool("list_documents", "List documents",
         "The documents, in id order, with their title, source (a file of the served folder, "
         "or added), size, chunks and state in every index (keyword, vectors, graph); paged "
         "with `cursor`.",
         args.ListDocuments, calls.list_documents),
    Tool("add_document", "Add a document",
         "Add a document (a title and its text). Its id is a hash of its text: the same text "
         "again is the same document, nothing else is changed or removed. It is searchable as "
         "soon as the build that follows has indexed it (list_documents shows its state). "
         "Needs a key of role write.",
         args.AddDocument, calls.add_document, role="write"),
    Tool("delete_document", "Delete a document",
         "Delete an added document: no answer cites it from the moment this returns, and every "
         "index drops it in the build that follows. A file of the served folder cannot be "
         "deleted this way (`conflict`: remove the file). With `dry_run`, nothing changes: "
         "the result says what the delete would remove or change in every index and the "
         "graph. Needs a key of role write.",
         args.DeleteDocument, calls.delete_document, role="write", destructive=True),
    Tool("status", "Index status",
         "What is ready now: whether questions can be answered, each index (keyword, vectors, "
         "knowledge graph) ready or being built, the build's progress, counts and errors.",
         args.NoArguments, calls.status),
)
"""Every tool, in the order ``tools/list`` gives them."""

BY_NAME: Mapping[str, Tool] = MappingProxyType({tool.name: tool for tool in TOOLS})
