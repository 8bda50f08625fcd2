"""Sentence splitting and chunk packing."""

from __future__ import annotations

import itertools

import pytest

from graphready.documents.chunking import chunk_document, split_sentences
from graphready.documents.hashing import chunk_id, document_hash
from graphready.documents.types import Document


def doc(text: str, doc_id: str = "d1", title: str = "Title") -> Document:
    return Document(doc_id, title, text, "src.txt", document_hash(title, text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One. Two! Three? Four", ["One.", "Two!", "Three?", "Four"]),
        ("Dr. Smith met Mr. Jones. They talked.",
         ["Dr. Smith met Mr. Jones.", "They talked."]),
        ("The U.S. Army grew. It was 1942.", ["The U.S. Army grew.", "It was 1942."]),
        ("J. R. R. Tolkien wrote. He died.", ["J. R. R. Tolkien wrote.", "He died."]),
        ("Pi is 3.14159 roughly. Yes.", ["Pi is 3.14159 roughly.", "Yes."]),
        ("Use tools, e.g. hammers. Done.", ["Use tools, e.g. hammers.", "Done."]),
        ('He said "Stop." Then left.', ['He said "Stop."', "Then left."]),
        ("Yahoo! is a company. Fine.", ["Yahoo! is a company.", "Fine."]),
        ("It ended in 1999. The next year began.", ["It ended in 1999.", "The next year began."]),
        ("See No. 5 here. Ok.", ["See No. 5 here.", "Ok."]),
        ("", []),
        ("   \n\n  ", []),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_split_sentences_paragraphs_headings_and_lists() -> None:
    text = "# Heading\nBody text\nwrapped here. Next.\n\nNew para\n- item one\n- item two"
    assert split_sentences(text) == [
        "# Heading", "Body text wrapped here.", "Next.", "New para", "- item one", "- item two",
    ]


def test_split_sentences_normalises_whitespace() -> None:
    assert split_sentences("  a   b\tcd.  \r\n  D  e.") == ["a b cd.", "D e."]


def test_empty_document_gives_no_chunk() -> None:
    assert chunk_document(doc(""), 100, 1) == []
    assert chunk_document(doc(" \n\t "), 100, 1) == []


def test_short_document_is_one_chunk_of_its_normalised_text() -> None:
    d = doc("  Hello   world.\n\nSecond  line. ")
    chunks = chunk_document(d, 100, 1)
    assert len(chunks) == 1
    c = chunks[0]
    assert c.text == "Hello world.\nSecond line."  # paragraphs stay apart
    assert (c.doc_id, c.ordinal, c.title) == ("d1", 0, "Title")
    assert c.id == chunk_id("d1", 0, c.text)


def sentences(n: int) -> list[str]:
    return [f"Sentence number {i} talks about topic {i * 7}." for i in range(n)]


def test_long_document_packs_whole_sentences_within_limit() -> None:
    sents = sentences(40)
    chunks = chunk_document(doc(" ".join(sents)), 200, 0)
    assert len(chunks) > 1
    assert all(len(c.text) <= 200 for c in chunks)
    assert " ".join(c.text for c in chunks) == " ".join(sents)
    for c in chunks:
        assert split_sentences(c.text) == [s for s in sents if s in c.text]
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert len({c.id for c in chunks}) == len(chunks)


@pytest.mark.parametrize("overlap", [1, 2])
def test_consecutive_chunks_share_overlap_sentences(overlap: int) -> None:
    sents = sentences(40)
    chunks = chunk_document(doc(" ".join(sents)), 250, overlap)
    assert all(len(c.text) <= 250 for c in chunks)
    for a, b in itertools.pairwise(chunks):
        assert split_sentences(a.text)[-overlap:] == split_sentences(b.text)[:overlap]
    covered = {s for c in chunks for s in split_sentences(c.text)}
    assert covered == set(sents)


def test_overlap_never_stalls_progress() -> None:
    sents = ["x" * 90 + ".", "Y" + "y" * 90 + ".", "Z" + "z" * 90 + "."]
    chunks = chunk_document(doc(" ".join(sents)), 100, 5)
    assert [c.text for c in chunks] == sents


def test_over_long_sentence_splits_at_word_boundaries() -> None:
    words = [f"word{i}" for i in range(200)]
    text = " ".join(words) + "."
    chunks = chunk_document(doc(text), 100, 0)
    assert all(len(c.text) <= 100 for c in chunks)
    assert " ".join(c.text for c in chunks).split() == text.split()


def test_word_longer_than_limit_is_cut() -> None:
    chunks = chunk_document(doc("a" * 250 + " tail."), 100, 0)
    assert [len(c.text) for c in chunks] == [100, 100, 56]
    assert "".join(c.text for c in chunks).replace(" ", "") == "a" * 250 + "tail."


def test_chunk_ids_are_stable_when_text_is_appended() -> None:
    sents = sentences(30)
    before = chunk_document(doc(" ".join(sents)), 200, 1)
    after = chunk_document(doc(" ".join([*sents, "A new closing sentence."])), 200, 1)
    assert [c.id for c in before[:-1]] == [c.id for c in after[: len(before) - 1]]
    assert chunk_document(doc(" ".join(sents)), 200, 1) == before


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError):
        chunk_document(doc("text"), 0, 0)
    with pytest.raises(ValueError):
        chunk_document(doc("text"), 10, -1)


def test_a_long_document_is_chunked_whole_and_in_order() -> None:
    # its speed is measured by benchmarks/build_stages.py (the documents stage), not here: no
    # timed assertions on these shared machines
    text = " ".join(sentences(20_000))
    chunks = chunk_document(doc(text), 1200, 1)
    assert len(chunks) > 100
    assert all(len(c.text) <= 1200 for c in chunks)
    assert chunks[0].text.startswith(text[:50]) and text.endswith(chunks[-1].text[-50:])


def test_headings_stay_apart_from_the_sentences_after_them() -> None:
    d = doc("# Title\n\nFirst sentence here. Second one.\n\n## Part\nThird sentence. " + "x " * 60)
    whole = chunk_document(d, 1000, 0)[0].text
    assert whole.startswith("# Title\nFirst sentence here. Second one.\n## Part\nThird")
    parts = chunk_document(d, 60, 0)
    assert parts[0].text == "# Title\nFirst sentence here. Second one.\n## Part"
    assert all("Title First" not in p.text and "Part Third" not in p.text for p in parts)
