"""The arguments of each tool, as a pydantic model: its JSON schema is the tool's input schema,
and it checks a call's arguments, with the HTTP API's words for what is wrong
(``server/errors.describe_errors``: ``k: Input should be greater than or equal to 1``).

Bounds that are settings (the most passages a question may ask for, its longest text, the
largest upload) are declared on the field with :class:`FromSetting`: :func:`input_schema` writes
the server's values into the schema, and :func:`parse` fills the defaults and checks the
maximums, naming the setting, as the HTTP API does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from graphready.config import Settings
from graphready.documents.loaders import MAX_TITLE_CHARS
from graphready.errors import InvalidRequest
from graphready.retrieval.modes import Mode
from graphready.server.cursors import KEY_CURSOR, OFFSET_CURSOR
from graphready.server.documents import MAX_PAGE as MAX_DOCUMENTS_PAGE
from graphready.server.documents import IndexState
from graphready.server.errors import describe_errors
from graphready.server.graph_api import MAX_PAGE, MAX_SUBGRAPH
from graphready.server.patterns import DOCUMENT_ID, NOT_BLANK, TEXT
from graphready.settings_spec import env_name

MAX_NAME_CHARS = 200
"""The longest entity name or id a call may send (the graph API's bound)."""
MAX_TYPE_CHARS = 50


@dataclass(frozen=True, slots=True)
class FromSetting:
    """A field's bounds that are settings: ``maximum`` (an integer's largest value, a string's
    most characters) and ``default`` (the value when the call leaves it out)."""

    maximum: str | None = None
    default: str | None = None


class Arguments(BaseModel):
    """A tool's arguments: nothing else, each of its JSON type (no ``"5"`` for ``5``)."""

    model_config = ConfigDict(extra="forbid", strict=True)


MODE = ("Which retrieval to use: `auto` fuses keyword, vector and (once built) knowledge-graph "
        "search, and sends questions about the whole corpus to the community summaries; "
        "`retrieval` uses keyword and vector search only; `graph_local` walks the knowledge "
        "graph from the entities named; `graph_global` reads the community summaries (both "
        "need the knowledge graph)")
K = "How many passages to retrieve (default: the server's default_top_k)"
K_BOUNDS = FromSetting(maximum="max_top_k", default="default_top_k")
CURSOR = "`next_cursor` of the previous page (leave out for the first page)"
ENTITY_ID = "The entity's `id`, as find_entities or another tool gave it"


class SearchPassages(Arguments):
    """``search_passages``."""

    query: Annotated[str, Field(pattern=NOT_BLANK, description="What to search for"),
                     FromSetting(maximum="max_message_chars")]
    mode: Mode = Field("auto", description=MODE)
    k: Annotated[int, Field(ge=1, description=K), K_BOUNDS] = 5


class Ask(Arguments):
    """``ask``."""

    question: Annotated[str, Field(pattern=NOT_BLANK, description="The question"),
                        FromSetting(maximum="max_message_chars")]
    mode: Mode = Field("auto", description=MODE)
    k: Annotated[int, Field(ge=1, description=K), K_BOUNDS] = 5


class FindEntities(Arguments):
    """``find_entities``."""

    query: str = Field("", max_length=MAX_NAME_CHARS, description="A name, or words starting "
                       "the words of a name; case and accents ignored; empty lists every entity")
    type: str | None = Field(None, max_length=MAX_TYPE_CHARS,
                             description="Only entities of this type (PERSON, ORG, ...)")
    limit: int = Field(20, ge=1, le=MAX_PAGE, description="Most entities on this page")
    cursor: str | None = Field(None, pattern=OFFSET_CURSOR, description=CURSOR)


class GetEntity(Arguments):
    """``get_entity``."""

    entity_id: str = Field(min_length=1, max_length=MAX_NAME_CHARS, description=ENTITY_ID)


class Neighbourhood(Arguments):
    """``neighbourhood``."""

    entity_id: str = Field(min_length=1, max_length=MAX_NAME_CHARS, description=ENTITY_ID)
    hops: int = Field(1, ge=1, le=2, description="How many relations away")
    limit: int = Field(50, ge=1, le=MAX_SUBGRAPH, description="Most entities (the centre "
                       "included); the strongest relations are followed first")


class CommunitySummaries(Arguments):
    """``community_summaries``."""

    level: int | None = Field(None, ge=0, le=20, description="Only this level of the hierarchy "
                              "(0: the top level, the broadest communities); leave out for all")
    limit: int = Field(20, ge=1, le=MAX_PAGE, description="Most communities on this page")
    cursor: str | None = Field(None, pattern=OFFSET_CURSOR, description=CURSOR)


class ListDocuments(Arguments):
    """``list_documents``."""

    state: IndexState | None = Field(None, description="Only documents in this state: "
                                     "`pending` (not yet in every index), `indexed`, `failed`")
    limit: int = Field(50, ge=1, le=MAX_DOCUMENTS_PAGE, description="Most documents on this page")
    cursor: str | None = Field(None, pattern=KEY_CURSOR, description=CURSOR)


class AddDocument(Arguments):
    """``add_document``."""

    title: str | None = Field(None, min_length=1, max_length=MAX_TITLE_CHARS,
                              pattern=NOT_BLANK, description="The document's name (default: "
                              "the first line of its text)")
    text: Annotated[str, Field(pattern=TEXT, description="The document's text (plain text or "
                               "Markdown)"), FromSetting(maximum="max_upload_bytes")]


class DeleteDocument(Arguments):
    """``delete_document``."""

    document_id: str = Field(pattern=DOCUMENT_ID, description="The document's `id`, as "
                             "list_documents or add_document gave it")
    dry_run: bool = Field(False, description="Change nothing: say what the delete would remove "
                          "or change (its passages, the graph's entities and relations that "
                          "would go or change, the community summaries to be rewritten); a "
                          "document of the served folder too")


class NoArguments(Arguments):
    """A tool that takes no argument."""


def _bounds(model: type[Arguments]) -> dict[str, FromSetting]:
    return {name: found for name, field in model.model_fields.items()
            for found in field.metadata if isinstance(found, FromSetting)}


def input_schema(model: type[Arguments], settings: Settings) -> dict[str, Any]:
    """The JSON schema of ``model``'s arguments with the bounds of ``settings``."""
    schema = model.model_json_schema()
    schema.pop("title", None)
    schema.pop("description", None)
    properties: dict[str, dict[str, Any]] = schema.setdefault("properties", {})
    for name, bound in _bounds(model).items():
        prop = properties[name]
        prop.pop("title", None)
        if bound.maximum is not None:
            key = "maximum" if prop.get("type") == "integer" else "maxLength"
            prop[key] = getattr(settings, bound.maximum)
        if bound.default is not None:
            prop["default"] = getattr(settings, bound.default)
    for prop in properties.values():
        prop.pop("title", None)
    return schema


A = TypeVar("A", bound=Arguments)


def parse(model: type[A], arguments: dict[str, Any] | None, settings: Settings) -> A:
    """The call's ``arguments`` as ``model``, the defaults of ``settings`` filled in; an
    ``InvalidRequest`` naming each argument that is wrong."""
    bounds = _bounds(model)
    given = dict(arguments or {})
    for name, bound in bounds.items():
        if bound.default is not None and name not in given:
            given[name] = getattr(settings, bound.default)
    try:
        parsed = model.model_validate(given)
    except ValidationError as exc:
        raise InvalidRequest(describe_errors(exc.errors())) from None
    for name, bound in bounds.items():
        if bound.maximum is None:
            continue
        limit: int = getattr(settings, bound.maximum)
        value = getattr(parsed, name)
        size = value if isinstance(value, int) else len(value)
        if size > limit:
            what = "" if isinstance(value, int) else " characters"
            raise InvalidRequest(f"{name}: at most {limit}{what} ({env_name(bound.maximum)})")
    return parsed
