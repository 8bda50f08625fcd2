"""The string patterns of the request models (`server/patterns.py`) and the cursors
(`server/cursors.py`) accept exactly what the server's own checks accept: a pattern is what the
OpenAPI document tells clients and fuzzers, so a string it allows must pass, and one it refuses
must be refused. Checked with Python's `re` (as Hypothesis and Schemathesis read a pattern) and
through the pydantic model (Rust's `regex`, what validates requests)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError

from graphready.documents.intake import JsonDocument, check_id, from_json
from graphready.errors import InvalidRequest
from graphready.server.cursors import (
    KEY_CURSOR,
    OFFSET_CURSOR,
    decode_key,
    decode_offset,
    encode_key,
)
from graphready.server.documents import DocumentItem
from graphready.server.patterns import DOCUMENT_ID, NOT_BLANK, SPACE, TEXT
from graphready.server.schemas import ChatRequest

# Text rich in what the patterns are about: every kind of white space, control characters.
EDGES = "".join(chr(c) for c in range(0x21)) + "\x7f\x85\xa0\u1680\u2000\u200b\u2028\u3000"
texts = st.text(st.one_of(st.sampled_from(EDGES), st.characters(codec="utf-8")), max_size=12)


def accepted_id(value: str) -> bool:
    try:
        check_id(value, "id")
    except InvalidRequest:
        return False
    return True


def accepted_text(value: str) -> bool:
    try:
        from_json([JsonDocument(value, None, None)], 0.0)
    except InvalidRequest:
        return False
    return True


def model_accepts(value: str, field: str) -> bool:
    try:
        DocumentItem.model_validate({"text": "x", field: value} if field == "id"
                                    else {"text": value})
    except ValidationError:
        return False
    return True


def test_space_is_what_strip_removes() -> None:
    spaces = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
    assert re.fullmatch(f"[{SPACE}]*", spaces)
    assert all(not re.fullmatch(f"[{SPACE}]", chr(c))
               for c in range(0x110000) if not chr(c).isspace())


@pytest.mark.parametrize(("pattern", "accepted", "field"), [
    (DOCUMENT_ID, accepted_id, "id"), (TEXT, accepted_text, "text")])
@given(value=texts)
@example(value="\x1c a \x1f")
@example(value="a\nb")
@example(value="\x00x")
def test_a_pattern_is_the_server_check(pattern: str, accepted: Callable[[str], bool],
                                       field: str, value: str) -> None:
    expected = accepted(value)
    assert bool(re.search(pattern, value)) == expected
    assert model_accepts(value, field) == expected


@pytest.mark.parametrize("length", [510, 511, 512, 513])
def test_the_id_pattern_counts_characters_as_the_check(length: int) -> None:
    value = " \t" + "a" * length + "\n"
    assert bool(re.search(DOCUMENT_ID, value)) == accepted_id(value) == (length <= 512)


@given(texts)
def test_a_message_is_refused_exactly_when_blank(message: str) -> None:
    assert bool(re.search(NOT_BLANK, message)) == bool(message.strip())
    try:
        ChatRequest.model_validate({"message": message})
        accepted = True
    except ValidationError:
        accepted = False
    assert accepted == bool(message.strip())


def test_a_long_adversarial_line_is_refused() -> None:
    """No pattern backtracks: each repeat is over characters the next element cannot take."""
    for pattern, line in ((TEXT, " " * 200_000 + "\x00"), (DOCUMENT_ID, " " * 200_000 + "\n"),
                          (KEY_CURSOR, "A" * 200_001)):
        assert re.search(pattern, line) is None


@given(st.text(max_size=20), st.sampled_from(["folder", "upload"]), st.text(max_size=20))
def test_a_key_cursor_gives_back_its_key(doc_id: str, source: str, path: str) -> None:
    doc_id = doc_id.replace("\x1f", "")
    cursor = encode_key((doc_id, source, path))
    assert re.fullmatch(KEY_CURSOR, cursor)
    assert decode_key(cursor) == (doc_id, source, path)


@given(st.from_regex(KEY_CURSOR, fullmatch=True))
def test_every_key_cursor_the_pattern_allows_is_a_position(cursor: str) -> None:
    key = decode_key(cursor)
    assert len(key) == 3 and all(isinstance(part, str) for part in key)


@given(st.from_regex(OFFSET_CURSOR, fullmatch=True))
def test_every_offset_cursor_the_pattern_allows_is_an_offset(cursor: str) -> None:
    assert decode_offset(cursor) == (int(cursor) if cursor else 0)


@pytest.mark.parametrize(("top_k", "accepted"), [
    (5, True), (5.0, True), (4.5, False), ("5", False), (True, False), (0, False)])
def test_top_k_is_an_integer_as_json_schema_reads_it(top_k: object, accepted: bool) -> None:
    """JSON Schema's `integer` holds 5.0 (the same number as 5); a string or a boolean is not."""
    try:
        ChatRequest.model_validate({"message": "hi", "top_k": top_k})
    except ValidationError:
        assert not accepted
    else:
        assert accepted
