"""Text from outside is checked once: lone surrogates become U+FFFD, nesting is bounded, for
request bodies and documents alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graphready.documents.loaders import load_source, scan_folder
from graphready.text import MAX_JSON_DEPTH, clean_text, loads_json


def test_valid_text_is_returned_as_it_is() -> None:
    text = "Zephyr Lighthouse \u00e9\U0001f600 \ufffd"
    assert clean_text(text) is text


@pytest.mark.parametrize(("raw", "expected"), [
    ("\ud800", "\ufffd"),
    ("a\udfffb", "a\ufffdb"),
    ("\ud83d\ude00", "\U0001f600"),  # a pair that arrived as two code points is joined
    ("x\ud83d", "x\ufffd"),
])
def test_lone_surrogates_become_the_replacement_character(raw: str, expected: str) -> None:
    cleaned = clean_text(raw)
    assert cleaned == expected
    cleaned.encode("utf-8")  # valid Unicode now


def test_json_strings_and_keys_are_cleaned_at_every_depth() -> None:
    data = loads_json('{"message": "\\ud800", "history": [{"\\udfff": ["\\ud800x"]}],'
                      ' "emoji": "\\ud83d\\ude00", "n": 1}')
    assert data == {"message": "\ufffd", "history": [{"\ufffd": ["\ufffdx"]}],
                    "emoji": "\U0001f600", "n": 1}
    assert loads_json('"\\ud800"') == "\ufffd"


def test_nesting_is_bounded() -> None:
    assert loads_json("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None
    too_deep = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
    with pytest.raises(ValueError, match=f"deeper than {MAX_JSON_DEPTH}"):
        loads_json(too_deep)
    with pytest.raises(ValueError, match="deeper than"):
        loads_json('{"a": ' * 5000 + "1" + "}" * 5000)
    with pytest.raises(ValueError, match="deeper than"):
        loads_json("[" * 5000 + "]" * 5000)  # past the decoder's own recursion limit


def test_bad_json_is_still_a_decode_error() -> None:
    with pytest.raises(json.JSONDecodeError):
        loads_json("{bad")


def test_documents_with_lone_surrogates_load_as_valid_text(tmp_path: Path) -> None:
    line = json.dumps({"id": "p1", "title": "T\ud800", "text": "Broken \udfff text."})
    (tmp_path / "c.jsonl").write_text(line + "\n\n" + "[" * 5000 + "\n", "utf-8")
    [source] = scan_folder(tmp_path)
    result = load_source(tmp_path, source)
    [doc] = result.documents
    assert doc.title == "T\ufffd" and doc.text == "Broken \ufffd text."
    assert [s.path for s in result.skipped] == ["c.jsonl:3"]
    assert "deeper than" in result.skipped[0].reason
