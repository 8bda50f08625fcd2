"""The MCP server: the SDK's low-level ``Server`` with graphready's tools. ``tools/list`` lists
the tools the caller may call (a read-only key sees only the read tools); ``tools/call`` checks
the caller's role and the arguments, runs the tool and answers its JSON object twice, as
``structuredContent`` and as the text of the result. A refusal or failure is an MCP error
(``errors.py``). Who the caller is comes from ``caller_of`` (the HTTP request's key and
workspace, or the local caller over standard input and output)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import mcp.types as types
from mcp.server import Server, ServerRequestContext

from graphready import __version__
from graphready.config import Settings
from graphready.errors import GraphReadyError, InvalidRequest

from .arguments import parse
from .caller import Caller
from .errors import mcp_error, unexpected_error
from .tools import BY_NAME, TOOLS, Tool

CallerOf = Callable[[ServerRequestContext[Any, Any]], Caller]
"""Who makes the request of a context (raises a ``GraphReadyError`` when that cannot be told)."""

INSTRUCTIONS = (
    "graphready answers from a collection of documents, with citations. Start with ask (an "
    "answer with numbered citations) or search_passages (the passages themselves). The "
    "knowledge graph built from the documents (entities, relations, communities with "
    "summaries) is read with find_entities, get_entity, neighbourhood and community_summaries; "
    "while it is being built those answer not_ready, and ask and search_passages answer "
    "without it (their result's graph.note says so). status tells what is ready now.")


def _text(result: dict[str, Any]) -> list[types.ContentBlock]:
    return [types.TextContent(text=json.dumps(result, ensure_ascii=False))]


def mcp_server(settings: Settings, caller_of: CallerOf) -> Server[Any]:
    """The server of graphready's tools, their bounds those of ``settings``."""
    declared: Mapping[str, types.Tool] = {t.name: t.declaration(settings) for t in TOOLS}

    async def list_tools(ctx: ServerRequestContext[Any, Any],
                         params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        try:
            caller = caller_of(ctx)
        except GraphReadyError as exc:
            raise mcp_error(exc) from None
        return types.ListToolsResult(
            tools=[declared[t.name] for t in TOOLS if caller.may(t.role)],
            ttl_ms=0, cache_scope="private")  # each key has its own list

    async def call_tool(ctx: ServerRequestContext[Any, Any],
                        params: types.CallToolRequestParams) -> types.CallToolResult:
        tool: Tool | None = BY_NAME.get(params.name)
        try:
            if tool is None:
                raise InvalidRequest(f"no tool {params.name!r}; the tools are "
                                     f"{', '.join(t.name for t in TOOLS)}")
            caller = caller_of(ctx)
            caller.check(tool.role, tool.name)
            arguments = parse(tool.arguments, params.arguments, settings)
            result = await tool.run(caller, arguments)
        except GraphReadyError as exc:
            raise mcp_error(exc) from None
        except Exception as exc:
            raise unexpected_error(exc, params.name) from None
        return types.CallToolResult(content=_text(result), structured_content=result)

    def schema_of(name: str) -> dict[str, Any] | None:
        tool = declared.get(name)
        return None if tool is None else tool.input_schema

    return Server("graphready", version=__version__, title="graphready",
                  instructions=INSTRUCTIONS, get_tool_input_schema=schema_of,
                  on_list_tools=list_tools, on_call_tool=call_tool)
