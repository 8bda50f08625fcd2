"""Where text from outside becomes Python strings, checked once.

Text reaches graphready as bytes (files, request bodies) or as JSON. Bytes are decoded as strict
UTF-8, which can never give an invalid string. JSON can: its ``\\ud800`` escapes decode to lone
UTF-16 surrogates, which are valid JSON but not Unicode text, and which the tokenizer, spaCy,
SQLite and the UTF-8 encoder all refuse. So every JSON document, a request body or a line of a
``.jsonl`` file alike, is decoded by :func:`loads_json`, which

- replaces each lone surrogate with U+FFFD (what browsers and the WHATWG encoders do with them;
  a properly paired escape, such as an emoji, stays as it is), in keys and values alike, and
- refuses JSON nested deeper than :data:`MAX_JSON_DEPTH` (an object or array inside another,
  that many levels down) with a ``ValueError``, rather than letting the decoder run out of
  stack on a body of thousands of nested arrays.
"""

from __future__ import annotations

import json
from typing import Any

MAX_JSON_DEPTH = 64
"""The deepest nesting of JSON objects and arrays accepted (requests and ``.jsonl`` lines)."""


def clean_text(text: str) -> str:
    """``text`` as valid Unicode: each lone surrogate replaced with U+FFFD (a string that
    encodes as UTF-8 is returned as it is, without a copy)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # Surrogate pairs that arrived as two code points are joined; lone ones are replaced.
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def loads_json(text: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads(text)`` with every string cleaned by :func:`clean_text`. A ``ValueError``
    (``json.JSONDecodeError`` for bad syntax) says what is wrong, also for nesting deeper than
    ``max_depth``."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise ValueError(_too_deep(max_depth)) from None
    return _cleaned(data, max_depth)


def _too_deep(max_depth: int) -> str:
    return f"nested deeper than {max_depth} levels of objects and arrays"


def _cleaned(data: Any, max_depth: int) -> Any:
    """``data`` with its strings cleaned, walked without recursion so that depth is measured
    and bounded rather than limited by the stack."""
    if isinstance(data, str):
        return clean_text(data)
    if not isinstance(data, dict | list):
        return data
    # Each entry: a container to clean in place, and its depth.
    stack: list[tuple[dict[str, Any] | list[Any], int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise ValueError(_too_deep(max_depth))
        if isinstance(node, list):
            for i, value in enumerate(node):
                if isinstance(value, str):
                    node[i] = clean_text(value)
                elif isinstance(value, dict | list):
                    stack.append((value, depth + 1))
            continue
        for key in list(node):
            value = node[key]
            fixed = clean_text(key)
            if fixed != key:
                del node[key]
                node[fixed] = value
            if isinstance(value, str):
                node[fixed] = clean_text(value)
            elif isinstance(value, dict | list):
                stack.append((value, depth + 1))
    return data
