"""Sentences of a chunk's text, with where each is: every line is a block, so a title line
without a period stays apart from the sentence after it."""

from __future__ import annotations

from graphready.documents.chunking import (
    chunk_document,
    chunk_sentences,
    split_sentences,
)
from graphready.documents.types import Document


def test_a_title_line_is_a_heading_of_its_own() -> None:
    title = "Alan Turing: universal machines, codebreaking and the ACE"
    text = f"{title}\nAlan Mathison Turing was born in London. He studied at Cambridge."
    found = chunk_sentences(text, title)
    assert [(s.text, s.heading) for s in found] == [
        (title, True), ("Alan Mathison Turing was born in London.", False),
        ("He studied at Cambridge.", False)]
    assert all(text[s.start:s.end] == s.text for s in found)
    # split_sentences reads a single line break as a space: the two would be one sentence
    assert split_sentences(text)[0].startswith(title + " Alan")


def test_headings_short_lines_and_list_items() -> None:
    text = ("## The Difference Engine\nA short line\n- Babbage designed it.\n"
            "- a list item without a period\n1. First, the engine ran.\n"
            "This long line has no closing punctuation but says many things about the engine "
            "and its maker")
    found = {s.text: s.heading for s in chunk_sentences(text)}
    assert found["## The Difference Engine"] and found["A short line"]
    assert not found["Babbage designed it."]
    assert not found["a list item without a period"]
    assert not found["First, the engine ran."]
    assert not found[text.rsplit("\n", 1)[1]]


def test_spans_point_into_the_chunk_text_of_a_real_document() -> None:
    text = ("# Grace Hopper\n\nShe was born in 1906. She studied at Vassar.\n\n## Later\n\n"
            "- She wrote the A-0 system.\n- She retired in 1986.\n" + "More text. " * 200)
    doc = Document("d", "Grace Hopper", text, "d.md", "h")
    for chunk in chunk_document(doc, 300, 1):
        found = chunk_sentences(chunk.text, chunk.title)
        assert found and all(chunk.text[s.start:s.end] == s.text for s in found)
        assert [s.text for s in found if s.text.startswith("#")] == [
            s.text for s in found if s.heading]
