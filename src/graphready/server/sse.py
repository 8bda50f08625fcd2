"""Server-Sent Events (pure): how answers are cut into streamed pieces and framed."""

from __future__ import annotations

import json
import re
from typing import Any

_PIECE = re.compile(r"\s*\S+")


def pieces(text: str) -> list[str]:
    """``text`` cut into word-sized pieces that join back to exactly ``text``."""
    found = _PIECE.findall(text)
    tail = text[len("".join(found)):]
    if tail:
        found.append(tail)
    return found


def event(data: dict[str, Any] | str, name: str | None = None) -> bytes:
    """One SSE frame: an optional ``event:`` line and one ``data:`` line of JSON (or text)."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {payload}\n\n".encode()
