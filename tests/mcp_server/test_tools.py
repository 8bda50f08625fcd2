"""The tools as declared (names, schemas, the protocol's annotations, bounds from the settings),
their arguments checked with errors that name them, and graphready's errors as MCP errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp.shared.tool_name_validation import validate_tool_name
from mcp.types import INVALID_PARAMS

from graphready.config import load_settings
from graphready.errors import (
    Conflict,
    Forbidden,
    GraphReadyError,
    InvalidRequest,
    NotFound,
    NotReady,
    RateLimited,
    WorkspaceNotFound,
)
from graphready.mcp.arguments import AddDocument, Ask, SearchPassages, parse
from graphready.mcp.errors import mcp_error
from graphready.mcp.tools import BY_NAME, TOOLS
from support.mcp_client import EVERY_TOOL, WRITE_TOOLS


def test_every_tool_is_declared_with_a_schema_and_its_annotations(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path)
    assert set(BY_NAME) == EVERY_TOOL and len(TOOLS) == len(EVERY_TOOL)
    for tool in TOOLS:
        declared = tool.declaration(settings)
        assert validate_tool_name(declared.name).is_valid
        assert declared.title and declared.description and len(declared.description) > 80
        schema = declared.input_schema
        assert schema["type"] == "object" and schema["additionalProperties"] is False
        assert all(p.get("description") for p in schema["properties"].values()), tool.name
        notes = declared.annotations
        assert notes is not None and notes.open_world_hint is False
        assert notes.read_only_hint == (tool.name not in WRITE_TOOLS)
        assert notes.destructive_hint == (tool.name == "delete_document")
        assert notes.idempotent_hint is True
        assert (tool.role == "write") == (tool.name in WRITE_TOOLS)


def test_bounds_that_are_settings_are_in_the_schema_and_checked(tmp_path: Path) -> None:
    settings = load_settings({"GRAPHREADY_MAX_TOP_K": "7", "GRAPHREADY_DEFAULT_TOP_K": "3",
                              "GRAPHREADY_MAX_MESSAGE_CHARS": "40"}, data_dir=tmp_path)
    schema = BY_NAME["search_passages"].declaration(settings).input_schema
    assert schema["required"] == ["query"]
    assert schema["properties"]["k"] == {
        "type": "integer", "minimum": 1, "maximum": 7, "default": 3,
        "description": schema["properties"]["k"]["description"]}
    assert schema["properties"]["query"]["maxLength"] == 40
    assert parse(SearchPassages, {"query": "Curie"}, settings).k == 3
    with pytest.raises(InvalidRequest, match=r"^k: at most 7 \(GRAPHREADY_MAX_TOP_K\)$"):
        parse(Ask, {"question": "Curie", "k": 8}, settings)
    with pytest.raises(InvalidRequest, match=r"^question: at most 40 characters"):
        parse(Ask, {"question": "x" * 41}, settings)


@pytest.mark.parametrize(("arguments", "words"), [
    ({}, "query: Field required"),
    ({"query": "   "}, "query: must not be empty or only white space"),
    ({"query": "Curie", "k": "5"}, "k: Input should be a valid integer"),
    ({"query": "Curie", "mode": "psychic"}, "mode: 'psychic' is not one of"),
    ({"query": "Curie", "top_k": 5}, "unknown field 'top_k'"),
])
def test_a_bad_argument_is_named(tmp_path: Path, arguments: dict[str, object],
                                 words: str) -> None:
    settings = load_settings({}, data_dir=tmp_path)
    with pytest.raises(InvalidRequest) as raised:
        parse(SearchPassages, arguments, settings)
    assert words in str(raised.value)


def test_a_document_text_must_hold_something(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path)
    with pytest.raises(InvalidRequest, match="text: must not be empty"):
        parse(AddDocument, {"text": " \n "}, settings)
    with pytest.raises(InvalidRequest, match="holds no NUL"):
        parse(AddDocument, {"text": "a\x00b"}, settings)


@pytest.mark.parametrize(("error", "code"), [
    (InvalidRequest("k: at most 50"), INVALID_PARAMS),
    (Forbidden("a read-only key cannot"), 403),
    (NotFound("no document with id 'x'"), 404),
    (WorkspaceNotFound("w"), 404),
    (Conflict("comes from the served folder"), 409),
    (RateLimited("too many", retry_after=3), 429),
    (NotReady("not built yet", retry_after=10), 503),
])
def test_an_error_keeps_the_http_apis_code_and_message(error: GraphReadyError,
                                                       code: int) -> None:
    mapped = mcp_error(error)
    assert mapped.code == code and mapped.message == str(error)
    assert mapped.data["code"] == error.code and mapped.data["message"] == str(error)
    assert mapped.data["status"] == error.status_code
    assert mapped.data.get("retry_after") == error.retry_after
