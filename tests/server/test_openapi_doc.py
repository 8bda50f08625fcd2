"""`/openapi.json` is valid OpenAPI 3.1 (checked by openapi-spec-validator), every `$ref`
resolves inside it, and every error response of every operation is declared in the one shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from graphready.config import load_settings
from graphready.server.app import create_app
from graphready.server.openapi_doc import ERROR_REF, METHODS, fix

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def document(tmp_path: Path) -> dict[str, Any]:
    app = create_app(load_settings({}, data_dir=tmp_path / "data"), build=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://localhost") as client:
        response = await client.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(f"{method.upper()} {path}", item[method])
            for path, item in document["paths"].items() for method in METHODS if method in item]


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


async def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    validate(document)
    assert "$defs" not in json.dumps(document)
    schemas = document["components"]["schemas"]
    for ref in refs(document):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in schemas, ref


async def test_chat_bodies_refer_to_their_models_in_components(
        document: dict[str, Any]) -> None:
    def body_refs(path: str) -> list[str]:
        return refs(document["paths"][path]["post"]["requestBody"])

    assert "#/components/schemas/Turn" in body_refs("/chat")
    assert "#/components/schemas/Message" in body_refs("/v1/chat/completions")
    assert "ContentPart" in document["components"]["schemas"]
    assert "HTTPValidationError" not in document["components"]["schemas"]


async def test_every_error_response_is_the_one_shape(document: dict[str, Any]) -> None:
    for label, operation in operations(document):
        responses = operation["responses"]
        has_body = "requestBody" in operation
        if has_body:
            assert {"400", "413", "422"} <= set(responses), label
        if operation.get("parameters"):
            assert "422" in responses, label
        if any(p["in"] == "path" for p in operation.get("parameters", [])):
            assert "404" in responses, label
        for status, response in responses.items():
            if int(status) >= 400:
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": ERROR_REF}, (label, status)
                assert response["description"], (label, status)
            if status in ("429", "503"):
                assert "Retry-After" in response["headers"], (label, status)


async def test_api_keys_are_declared(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    for label, operation in operations(document):
        if label == "GET /health":
            assert "401" not in operation["responses"] and "security" not in operation
            continue
        assert "401" in operation["responses"], label
        assert {"apiKey": []} in operation["security"] and {} in operation["security"], label
    assert "403" in document["paths"]["/build"]["post"]["responses"]
    assert "403" not in document["paths"]["/chat"]["post"]["responses"]


async def test_chat_endpoints_declare_limits_and_streams(document: dict[str, Any]) -> None:
    for path in ("/chat", "/v1/chat/completions"):
        responses = document["paths"][path]["post"]["responses"]
        assert {"429", "503"} <= set(responses)
        assert "text/event-stream" in responses["200"]["content"]


def test_two_different_models_of_one_name_are_refused() -> None:
    document: dict[str, Any] = {
        "openapi": "3.1.0", "info": {"title": "t", "version": "1"},
        "components": {"schemas": {"Turn": {"type": "object"}}},
        "paths": {"/x": {"post": {"requestBody": {"content": {"application/json": {"schema": {
            "$ref": "#/$defs/Turn", "$defs": {"Turn": {"type": "string"}}}}}},
            "responses": {"200": {"description": "ok"}}}}},
    }
    with pytest.raises(ValueError, match="'Turn'"):
        fix(document)


async def test_each_error_is_described_by_its_code(document: dict[str, Any]) -> None:
    """A route declares the exceptions its handler raises; the document lists their codes under
    their statuses, as `graphready/errors.py` declares them."""
    one = document["paths"]["/documents/{doc_id}"]
    assert "`not_found`" in one["get"]["responses"]["404"]["description"]
    assert "`conflict`" in one["delete"]["responses"]["409"]["description"]
    upload = document["paths"]["/documents"]["post"]["responses"]
    assert "`unsupported_document`" in upload["415"]["description"]
    assert "`malformed_upload`" in upload["400"]["description"]
    assert "`malformed_json`" in upload["400"]["description"]
    graph = document["paths"]["/graph/entities"]["get"]["responses"]
    assert {"429", "503"} <= set(graph) and "404" not in graph
    assert "`rate_limited`" in graph["429"]["description"]


def schema_of(document: dict[str, Any], path: str) -> dict[str, Any]:
    body: dict[str, Any] = document["paths"][path]["post"]["requestBody"]["content"]
    return body


async def test_the_request_limits_of_the_settings_are_stated(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path / "data", max_message_chars=321, max_top_k=7)
    document = create_app(settings, build=False).openapi()
    chat = schema_of(document, "/chat")["application/json"]["schema"]["properties"]
    assert chat["message"]["maxLength"] == 321
    assert {"type": "integer", "minimum": 1, "maximum": 7} in chat["top_k"]["anyOf"]
    assert chat["message"]["pattern"]  # not blank


async def test_what_a_request_may_hold_is_stated(document: dict[str, Any]) -> None:
    upload = schema_of(document, "/documents")["multipart/form-data"]
    media_types = upload["encoding"]["files"]["contentType"]
    assert "text/plain" in media_types and "application/pdf" in media_types
    assert ".md" in upload["schema"]["properties"]["files"]["description"]
    item = document["components"]["schemas"]["DocumentItem"]["properties"]
    assert item["text"]["pattern"] and item["id"]["anyOf"][0]["pattern"]
    for path in ("/documents", "/graph/entities", "/graph/communities"):
        cursor = next(p for p in document["paths"][path]["get"]["parameters"]
                      if p["name"] == "cursor")
        assert cursor["schema"]["anyOf"][0]["pattern"], path
    completion = schema_of(document, "/v1/chat/completions")["application/json"]["schema"]
    assert completion["properties"]["messages"]["contains"]["properties"]["role"] == {
        "const": "user"}
    model = completion["properties"]["model"]  # a workspace (and mode) or a mode's old name
    assert model["default"] == "graphready" and "workspace" in model["description"]
