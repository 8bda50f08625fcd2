"""The cursors of the paged listings. A listing answers ``next_cursor`` and takes it back as
``cursor``; each kind of cursor is a pattern, which the OpenAPI document states (the query
parameter is declared with it), and every string the pattern matches is a position to resume
from, so a request the document allows is never refused for its cursor. An empty cursor is
the first page.

- ``GET /documents`` pages by key (a document added or deleted between two pages moves no
  other): the cursor is the last listed document's sort key (id, source, path), joined by
  U+001F, in unpadded URL-safe base64.
- The graph API pages by offset (the graph changes only when a build swaps it): the cursor is
  the offset in decimal.
"""

from __future__ import annotations

import base64

SortKey = tuple[str, str, str]

KEY_CURSOR = r"^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?$"
"""Unpadded URL-safe base64 (a length of 4n+1 is no base64)."""
OFFSET_CURSOR = r"^[0-9]{0,9}$"
"""An offset, in decimal."""
SEPARATOR = "\x1f"


def encode_key(key: SortKey) -> str:
    """The cursor that resumes a listing after the entry whose sort key is ``key``."""
    raw = SEPARATOR.join(key).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_key(cursor: str) -> SortKey:
    """The sort key ``cursor`` resumes after (any string of ``KEY_CURSOR``: bytes that are not
    UTF-8 read as U+FFFD, missing parts as empty)."""
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8", "replace")
    parts = [*raw.split(SEPARATOR, 2), "", ""]
    return parts[0], parts[1], parts[2]


def encode_offset(offset: int | None) -> str | None:
    """The cursor of the page that starts at ``offset`` (None: there is none)."""
    return None if offset is None else str(offset)


def decode_offset(cursor: str | None) -> int:
    """The offset ``cursor`` (of ``OFFSET_CURSOR``) starts at; 0 without one."""
    return int(cursor) if cursor else 0
