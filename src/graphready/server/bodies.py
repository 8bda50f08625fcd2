"""Reading a JSON request body into a pydantic model, whatever content type the client
declared: JSON that does not parse (or is nested too deeply) is a 400, JSON of the wrong shape
a 422 naming each problem. Strings are cleaned as ``graphready.text`` says (lone surrogates
become U+FFFD), so no invalid text reaches retrieval, the models or the stores."""

from __future__ import annotations

from typing import TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from graphready.errors import InvalidRequest, MalformedJSON
from graphready.text import loads_json

from .errors import describe_errors

M = TypeVar("M", bound=BaseModel)


async def read_json(request: Request, model: type[M], what: str) -> M:
    """The body of ``request`` as ``model``; ``what`` names the expected object in errors."""
    raw = await request.body()
    if not raw.strip():
        raise InvalidRequest(f"the request body is required: {what}")
    try:
        data = loads_json(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise MalformedJSON("the request body is not valid JSON: it is not UTF-8 text") from None
    except ValueError as exc:
        raise MalformedJSON(f"the request body is not valid JSON: {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequest(describe_errors(exc.errors())) from None
