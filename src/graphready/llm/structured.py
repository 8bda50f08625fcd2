"""JSON replies checked against a schema: ask for a JSON object, validate it with a pydantic
model, and on a bad reply ask once more with the validation errors (one repair attempt). Still
bad: None, and the caller falls back to its offline way. Outages are not bad replies: an
:class:`~graphready.errors.LLMError` propagates."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from .protocol import ChatModel, Message, Prompt

M = TypeVar("M", bound=BaseModel)
MAX_ERROR_CHARS = 600


@dataclass(frozen=True, slots=True)
class Structured(Generic[M]):
    """The outcome: ``value`` (None when both attempts were bad), how many calls it took, and
    the last problem."""

    value: M | None
    attempts: int
    problem: str | None = None


def json_text(reply: str) -> str:
    """The JSON object in ``reply``: the text itself, or the part between its first ``{`` and
    its last ``}`` (models wrap JSON in prose or code fences)."""
    text = reply.strip()
    if text.startswith("{") and text.endswith("}"):
        return text
    start, end = text.find("{"), text.rfind("}")
    return text[start:end + 1] if 0 <= start < end else text


def _problem(reply: str, schema: type[BaseModel]) -> str | None:
    try:
        schema.model_validate_json(json_text(reply))
    except ValidationError as exc:
        errors = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'reply'}: {e['msg']}"
            for e in exc.errors(include_url=False)[:8])
        return errors[:MAX_ERROR_CHARS]
    return None


def schema_text(schema: type[BaseModel]) -> str:
    """The JSON schema of ``schema``, compact, for a prompt."""
    return json.dumps(schema.model_json_schema(), separators=(",", ":"))


def ask_structured(model: ChatModel, messages: Sequence[Message], schema: type[M], *,
                   purpose: str, max_tokens: int) -> Structured[M]:
    """Ask ``model`` for a JSON object matching ``schema``, with one repair attempt."""
    prompt = Prompt(tuple(messages), json_object=True, max_tokens=max_tokens, purpose=purpose)
    first = model.complete(prompt).content
    problem = _problem(first, schema)
    if problem is None:
        return Structured(schema.model_validate_json(json_text(first)), 1)
    repair = (*messages, {"role": "assistant", "content": first}, {
        "role": "user",
        "content": f"That reply is not valid: {problem}. Reply again with only one JSON "
                   f"object that matches this JSON schema: {schema_text(schema)}"})
    second = model.complete(Prompt(repair, json_object=True, max_tokens=max_tokens,
                                   purpose=purpose)).content
    problem = _problem(second, schema)
    if problem is None:
        return Structured(schema.model_validate_json(json_text(second)), 2)
    return Structured(None, 2, problem)
