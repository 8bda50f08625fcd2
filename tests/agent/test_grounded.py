"""Grounded answers: invented citation markers are dropped, real ones become citations, and the
streaming filter does the same across piece boundaries; each sentence is checked against the
passages it cites, and a reply that says the passages do not hold the answer is told apart."""

from __future__ import annotations

from graphready.agent.answer import Passage, snippet
from graphready.agent.grounded import (
    MarkerFilter,
    abstaining,
    abstains,
    answer_messages,
    context_text,
    ground,
    invented,
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


CITY = [Passage("c1", "d1", "Paris", "Paris is the capital of France.", 1.0),
        Passage("c2", "d2", "Old Paris", "The city of Paris is old: it was founded in 250 BC.",
                0.5)]


def test_a_models_sentences_are_claims_with_the_markers_they_carry() -> None:
    answer = ground("## Answer\nParis is the capital [1]. Paris is old. [2] It has a **river**.",
                    CITY)
    assert [(c.text, c.citations, c.supported) for c in answer.claims] == [
        ("Paris is the capital.", (1,), True), ("Paris is old.", (2,), True),
        ("It has a river.", (), False)]


def test_a_sentence_its_passages_do_not_hold_is_unsupported() -> None:
    answer = ground("Paris is the capital of France [1]. Paris was founded by Napoleon [2]. "
                    "It was founded in 1850 [2]. It was founded in 250 BC [2].", CITY)
    assert [c.supported for c in answer.claims] == [True, False, False, True]
    # a true sentence cited to the wrong passage is not supported by it
    assert [c.supported for c in ground("Paris is the capital of France [2].", CITY).claims] \
        == [False]


def test_a_reply_that_says_the_passages_do_not_answer_abstains_and_is_no_claim() -> None:
    for reply in ("The documents do not say who designed it.", "The passages don't say.",
                  "I can't answer that from the passages [1].",
                  "That is not mentioned in the documents."):
        assert abstains(reply), reply
        assert ground(reply, CITY).claims == ()
    assert not abstaining("He did not find the ring.")
    assert not abstains("Paris is the capital of France [1].")
    partly = ground("Paris is the capital [1]. The documents do not say who founded it.", CITY)
    assert [c.text for c in partly.claims] == ["Paris is the capital."]


def test_invented_citation_numbers_are_named() -> None:
    assert invented("A [1]. B [7]. C [2, 9]. D [7].", 3) == (7, 9)
    assert invented("A [1].", 3) == ()


def test_a_models_citation_names_the_sentence_that_holds_what_cites_it() -> None:
    text = "Paris is old [2]. The capital of France is Paris [1]."
    by_number = {c.number: c for c in ground(text, CITY).citations}
    founded = CITY[1].text
    cited = by_number[2]
    assert founded[cited.start:cited.end] == founded and cited.snippet == founded
    two = Passage("c3", "d3", "Paris facts", "Paris has a river. It was founded in 250 BC. "
                  "The Seine crosses it.", 0.4)
    year = ground("Paris was founded in 250 BC [1].", [two]).citations[0]
    assert two.text[year.start:year.end] == "It was founded in 250 BC."
    nothing = ground("Rome is elsewhere [1].", [two]).citations[0]
    assert nothing.start is None and nothing.snippet == snippet(two.text)
