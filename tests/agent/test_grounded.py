"""Grounded answers: invented citation markers are dropped, real ones become citations, and the
streaming filter does the same across piece boundaries."""

from __future__ import annotations

from graphready.agent.answer import Passage
from graphready.agent.grounded import (
    MarkerFilter,
    answer_messages,
    context_text,
    ground,
    strip_invented,
)

PASSAGES = [Passage(f"c{i}", f"d{i}", f"Title {i}", f"Text of passage {i}.", 1.0 / i)
            for i in range(1, 4)]


def test_invented_markers_are_dropped_and_real_ones_kept() -> None:
    assert strip_invented("A [1]. B [7]. C [2, 9].", 3) == "A [1]. B. C [2]."
    assert strip_invented("no markers", 3) == "no markers"
    assert strip_invented("[0] zero is not a passage", 3) == " zero is not a passage"


def test_ground_cites_exactly_the_passages_named() -> None:
    answer = ground("Paris is the capital [2]. It is old [3][12].", PASSAGES)
    assert answer.text == "Paris is the capital [2]. It is old [3]."
    assert [(c.number, c.chunk_id, c.id, c.title) for c in answer.citations] == [
        (2, "c2", "d2", "Title 2"), (3, "c3", "d3", "Title 3")]
    assert ground("Nothing cited [5].", PASSAGES).citations == []


def test_marker_filter_holds_back_markers_split_across_pieces() -> None:
    filter_ = MarkerFilter(3)
    pieces = ["Pari", "s [", "1", "] and [", "9", "]. Lists [a] ", "stay."]
    out = "".join(filter_.feed(p) for p in pieces) + filter_.finish()
    assert out == "Paris [1] and . Lists [a] stay."


def test_marker_filter_lets_a_lone_bracket_through() -> None:
    filter_ = MarkerFilter(3)
    out = filter_.feed("x [ " + "y" * 40) + filter_.finish()
    assert out == "x [ " + "y" * 40
    tail = MarkerFilter(3)
    assert tail.feed("end [") == "end " and tail.finish() == "["


def test_the_prompt_numbers_the_passages_and_holds_the_question() -> None:
    messages = answer_messages("Where?", PASSAGES, [("Cities", "About cities.")])
    user = messages[-1]["content"]
    assert '<passage id="1" title="Title 1">\nText of passage 1.\n</passage>' in user
    assert '<passage id="3" title="Title 3">' in user
    assert '<report title="Cities">\nAbout cities.\n</report>' in user
    assert user.rstrip().endswith("</passage>\n\nQuestion: Where?")
    long = Passage("c", "d", "", "word " * 1000, 1.0)
    assert len(context_text([long])) < 1600


def test_a_models_sentences_are_claims_with_the_markers_they_carry() -> None:
    answer = ground("## Answer\nParis is the capital [2]. It is old. [3] It has a **river**.",
                    PASSAGES)
    assert [(c.text, c.citations, c.supported) for c in answer.claims] == [
        ("Paris is the capital.", (2,), True), ("It is old.", (3,), True),
        ("It has a river.", (), False)]
