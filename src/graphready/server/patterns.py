"""The string patterns of the request models, so that the OpenAPI document states what the
server accepts: each is a regular expression that pydantic checks (Rust's ``regex``, linear
time) and the document carries, with the words an error uses when a value does not match
(``errors.py``). White space is what Python's ``str.strip()`` removes (``str.isspace``), so a
pattern and the server's stripping agree on every character."""

from __future__ import annotations

from graphready.documents.loaders import MAX_ID_CHARS

from .cursors import KEY_CURSOR, OFFSET_CURSOR

SPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
"""What ``str.isspace`` holds, as the inside of a character class."""
CONTROL = r"\x00-\x1f\x7f"

NOT_BLANK = f"[^{SPACE}]"
"""Holds something besides white space (a pattern is searched for, not matched whole)."""
TEXT = f"^[{SPACE}]*[^{SPACE}\\x00][^\\x00]*$"
"""Not blank, and no NUL character anywhere."""
DOCUMENT_ID = (f"^[{SPACE}]*[^{SPACE}{CONTROL}](?:[^{CONTROL}]{{0,{MAX_ID_CHARS - 2}}}"
               f"[^{SPACE}{CONTROL}])?[{SPACE}]*$")
"""1 to ``MAX_ID_CHARS`` characters once stripped, none of them a control character."""

MEANINGS = {
    NOT_BLANK: "must not be empty or only white space",
    TEXT: "must not be empty or only white space, and holds no NUL characters",
    DOCUMENT_ID: f"an id needs 1 to {MAX_ID_CHARS} characters once stripped of white space, "
                 "and no control characters",
    KEY_CURSOR: "not a cursor this server gave (pass `next_cursor` as it is)",
    OFFSET_CURSOR: "not a cursor this server gave (pass `next_cursor` as it is)",
}
"""What a value that does not match each pattern is told."""
