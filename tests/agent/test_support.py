"""Whether a model's sentence is supported by the passages it cites: key terms (names weigh
more), numbers written in the passages, words met by their stem."""

from __future__ import annotations

from graphready.agent.support import THRESHOLD, support

TURING = ("Alan Mathison Turing was born in London on 23 June 1912. He designed the Automatic "
          "Computing Engine at the National Physical Laboratory.")


def test_a_sentence_the_passage_states_is_supported() -> None:
    found = support("Alan Turing was born in London in 1912.", [TURING])
    assert found.supported and found.share == 1.0 and found.missing_numbers == ()
    assert support("Turing's design was the Automatic Computing Engine.", [TURING]).supported


def test_a_wrong_name_or_number_is_not_supported() -> None:
    wrong_place = support("Alan Turing was born in Manchester.", [TURING])
    assert not wrong_place.supported and wrong_place.share < THRESHOLD
    wrong_year = support("Alan Turing was born in London in 1921.", [TURING])
    assert not wrong_year.supported and wrong_year.missing_numbers == ("1921",)


def test_a_sentence_about_something_else_is_not_supported() -> None:
    assert not support("Grace Hopper wrote the first COBOL compiler.", [TURING]).supported
    assert support("Grace Hopper wrote the first COBOL compiler.",
                   [TURING, "Grace Hopper wrote the first COBOL compiler in 1959."]).supported


def test_a_sentence_without_key_terms_is_not_held_against_the_passage() -> None:
    assert support("Yes.", [TURING]).supported
