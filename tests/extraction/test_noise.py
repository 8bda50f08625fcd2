"""Tests of the rules that keep mentions that are not names out of the offline graph
(``extraction/noise.py``): each rule on real text through the packaged spaCy model, in both
pipelines, and the pure parts alone."""

from __future__ import annotations

import pytest

from graphready.documents.types import Chunk
from graphready.extraction.noise import CommonWords, is_file_name
from graphready.extraction.spacy_nlp import CONCEPT, ENTITIES, FULL, SpacyExtractor


@pytest.fixture(scope="module", params=[ENTITIES, FULL])
def extractor(request: pytest.FixtureRequest) -> SpacyExtractor:
    return SpacyExtractor(batch_size=8, pipeline=request.param)


def named(extractor: SpacyExtractor, text: str, title: str = "") -> dict[str, str]:
    """Key -> name of the named (not CONCEPT, not TITLE) mentions of ``text``."""
    (extraction,) = extractor.extract([Chunk("c", "d", 0, title, text)])
    return {m.key: m.name for m in extraction.mentions if m.type not in (CONCEPT, "TITLE")}


def recognised(extractor: SpacyExtractor, text: str) -> set[str]:
    """What the recogniser itself tags in ``text``, before any rule."""
    nlp, _ = extractor._pipeline()
    return {ent.text for ent in nlp(text).ents}


@pytest.mark.parametrize("text", [
    "'Here's Martha, mother!' cried the two young Cratchits. 'Hurrah! There's such a goose!'",
    "Then, with a rapidity of transition. Halloo! Scrooge ran.",
])
def test_exclamations_are_not_names(extractor: SpacyExtractor, text: str) -> None:
    word = "Hurrah" if "Hurrah" in text else "Halloo"
    assert word in recognised(extractor, text)
    keys = named(extractor, text)
    assert word.lower() not in keys
    assert "martha" in keys or "scrooge" in keys


def test_a_sentence_initial_word_that_is_no_noun_is_not_a_name(
        extractor: SpacyExtractor) -> None:
    text = "Heartily, Tom greeted Mary. Ovarian cancer starts in the ovaries."
    assert {"Heartily", "Ovarian"} <= recognised(extractor, text)
    keys = named(extractor, text)
    assert not {"heartily", "ovarian"} & set(keys)
    assert {"tom", "mary"} <= set(keys)


def test_a_word_that_names_the_document_is_kept(extractor: SpacyExtractor) -> None:
    text = "Heartily is a 1988 American mystery film directed by Roman Polanski."
    assert "Heartily" in recognised(extractor, text)
    assert "heartily" in named(extractor, text, title="Heartily (film)")
    assert "heartily" not in named(extractor, text, title="Films of 1988")


def test_headings_degrees_and_honorifics_are_not_names(extractor: SpacyExtractor) -> None:
    text = ("Chapter 8: Giant cell tumor of bone discusses the options. She completed a PhD "
            "under Alonzo Church at Princeton University in 1938.")
    assert {"Chapter 8", "PhD"} <= recognised(extractor, text)
    keys = set(named(extractor, text))
    assert not any(k.startswith("chapter") for k in keys)
    assert "phd" not in keys
    assert {"alonzo church", "princeton university"} <= keys


def test_lowercase_mentions_are_concepts_not_names() -> None:
    extractor = SpacyExtractor(pipeline=ENTITIES)
    text = ("The patient was given talazoparib at Memorial Hospital in Boston. The doctor "
            "said talazoparib works.")
    assert "talazoparib" in recognised(extractor, text)
    (extraction,) = extractor.extract([Chunk("c", "d", 0, "", text)])
    types = {m.key: m.type for m in extraction.mentions}
    assert types["talazoparib"] == CONCEPT
    assert types["boston"] == "GPE"
    assert all("talazoparib" not in (r.source, r.target) for r in extraction.relations)


def test_a_lowercase_text_keeps_its_names() -> None:
    """The lowercase rule reads capitals only in a text that has some."""
    extractor = SpacyExtractor(pipeline=ENTITIES)
    text = "barack obama visited berlin and met angela merkel in germany last week."
    assert {"berlin", "germany"} <= recognised(extractor, text)
    assert {"berlin", "germany"} <= set(named(extractor, text))
    cased = named(extractor, text.replace("berlin", "Berlin"))
    assert "berlin" in cased and "germany" not in cased


def test_file_names() -> None:
    assert is_file_name(["Scott_Podcast_with_Rana.txt"])
    assert not is_file_name(["Institute", "for", "Advanced", "Study"])


def test_common_words_by_class() -> None:
    common = CommonWords.of({"adj": {"merry", "frank"}, "adv": {"sometimes"},
                             "verb": {"halloo", "ford"},
                             "noun": {"frank", "halloo", "ford", "london"}})
    assert common.is_not_noun("merry") and common.is_not_noun("sometimes")
    assert not common.is_not_noun("frank") and not common.is_not_noun("london")
    assert common.is_not_only_noun("halloo") and common.is_not_only_noun("frank")
    assert not common.is_not_only_noun("london") and not common.is_not_only_noun("tris")
