"""Tests of the spaCy extractor, with the real packaged model, in both pipelines (``entities``,
the default, and ``full``) unless a test is about what only one of them does."""

from __future__ import annotations

import pytest

from graphready.documents.types import Chunk
from graphready.extraction.spacy_nlp import ENTITIES, FULL, MENTIONS, RELATED_TO, SpacyExtractor
from graphready.knowledge import ChunkExtraction

TEXT = (
    "Marie Curie was born in Warsaw on 7 November 1867. She married Pierre Curie in 1895. "
    "Marie Curie and Pierre Curie worked at the University of Paris for 12 years, earning "
    "50 percent of their income there. Barack Obama visited Berlin and met Angela Merkel."
)


@pytest.fixture(scope="module", params=[ENTITIES, FULL])
def extractor(request: pytest.FixtureRequest) -> SpacyExtractor:
    return SpacyExtractor(batch_size=8, pipeline=request.param)


@pytest.fixture(scope="module")
def full_extraction() -> ChunkExtraction:
    extractor = SpacyExtractor(batch_size=8, pipeline=FULL)
    return extractor.extract([Chunk("c1", "d1", 0, "Polish physicists", TEXT)])[0]


@pytest.fixture(scope="module")
def extraction(extractor: SpacyExtractor) -> ChunkExtraction:
    return extractor.extract([Chunk("c1", "d1", 0, "Polish physicists", TEXT)])[0]


def _types(extraction: ChunkExtraction) -> dict[str, str]:
    return {m.key: m.type for m in extraction.mentions}


def test_named_entities_found(extraction: ChunkExtraction) -> None:
    types = _types(extraction)
    assert types["marie curie"] == "PERSON"
    assert types["pierre curie"] == "PERSON"
    assert types["barack obama"] == "PERSON"
    assert types["warsaw"] == "GPE"
    assert types["berlin"] == "GPE"
    assert types["university of paris"] == "ORG"


def test_dates_and_numbers_dropped(extraction: ChunkExtraction) -> None:
    keys = set(_types(extraction))
    for dropped in ("1867", "7 november 1867", "november", "1895", "12 years", "years",
                    "50 percent", "percent"):
        assert dropped not in keys


def test_pronouns_not_mentions(extraction: ChunkExtraction) -> None:
    assert not {"she", "their", "they"} & set(_types(extraction))


def test_mentions_are_unique_by_key(extraction: ChunkExtraction) -> None:
    keys = [m.key for m in extraction.mentions]
    assert len(keys) == len(set(keys))


def test_relations_between_people_in_a_sentence(extraction: ChunkExtraction) -> None:
    pairs = {frozenset((r.source, r.target)): r.label for r in extraction.relations}
    assert frozenset(("marie curie", "pierre curie")) in pairs
    assert frozenset(("marie curie", "warsaw")) in pairs
    assert frozenset(("barack obama", "angela merkel")) in pairs
    assert frozenset(("marie curie", "barack obama")) not in pairs


def test_full_pipeline_labels_relations_by_verb_and_finds_concepts(
        full_extraction: ChunkExtraction) -> None:
    pairs = {frozenset((r.source, r.target)): r.label for r in full_extraction.relations}
    assert pairs[frozenset(("marie curie", "warsaw"))] == "born"
    assert "CONCEPT" in {m.type for m in full_extraction.mentions}


def test_entities_pipeline_has_no_verb_labels() -> None:
    extractor = SpacyExtractor(batch_size=8, pipeline=ENTITIES)
    (extraction,) = extractor.extract([Chunk("c1", "d1", 0, "Polish physicists", TEXT)])
    assert {r.label for r in extraction.relations} == {RELATED_TO, MENTIONS}


def test_entities_pipeline_finds_the_full_pipelines_entities(
        full_extraction: ChunkExtraction) -> None:
    (fast,) = SpacyExtractor(pipeline=ENTITIES).extract(
        [Chunk("c1", "d1", 0, "Polish physicists", TEXT)])
    named = {(m.key, m.name, m.type) for m in full_extraction.mentions if m.type != "CONCEPT"}
    assert {(m.key, m.name, m.type) for m in fast.mentions if m.type != "CONCEPT"} == named


def test_entities_pipeline_concepts_are_lowercase_words_after_determiners() -> None:
    text = ("The series was shown on Television. His family met a producer in Paris, "
            "and the television series won.")
    (extraction,) = SpacyExtractor(pipeline=ENTITIES).extract([Chunk("c", "d", 0, "", text)])
    concepts = {m.key for m in extraction.mentions if m.type == "CONCEPT"}
    assert concepts == {"series", "family", "producer", "television"}
    assert not {r.source for r in extraction.relations} & concepts
    assert not {r.target for r in extraction.relations} & concepts


def test_entities_pipeline_trims_determiners_and_possessives() -> None:
    text = "The United Nations' report reached the White House. Their report was late."
    (extraction,) = SpacyExtractor(pipeline=ENTITIES).extract([Chunk("c", "d", 0, "", text)])
    names = {m.name for m in extraction.mentions}
    assert {"United Nations", "White House"} <= names  # NER: "The United Nations'"
    assert not any(n.lower().startswith(("the ", "their ")) or n.endswith("'") for n in names)


def test_unknown_pipeline_is_refused() -> None:
    with pytest.raises(ValueError, match="pipeline"):
        SpacyExtractor(pipeline="parser")


def test_relations_refer_to_mentions(extraction: ChunkExtraction) -> None:
    keys = set(_types(extraction))
    for rel in extraction.relations:
        assert rel.source in keys and rel.target in keys and rel.source != rel.target


def test_title_mention_and_its_relations(extraction: ChunkExtraction) -> None:
    title = [m for m in extraction.mentions if m.type == "TITLE"]
    assert [(m.name, m.key) for m in title] == [("Polish physicists", "polish physicists")]
    mentioned = {r.target for r in extraction.relations
                 if r.source == "polish physicists" and r.label == MENTIONS}
    assert {"marie curie", "pierre curie", "warsaw", "barack obama"} <= mentioned


def test_file_name_and_hash_titles_skipped(extractor: SpacyExtractor) -> None:
    chunks = [Chunk("a", "d", 0, "notes/a1.md", "Barack Obama visited Berlin."),
              Chunk("b", "d", 0, "3f2a9c1e7b6d5a40", "Barack Obama visited Berlin.")]
    for extraction in extractor.extract(chunks):
        assert all(m.type != "TITLE" for m in extraction.mentions)
        assert all(r.label != MENTIONS for r in extraction.relations)


def test_title_equal_to_entity_merges(extractor: SpacyExtractor) -> None:
    (extraction,) = extractor.extract([Chunk("a", "d", 0, "Marie Curie", TEXT)])
    same = [m for m in extraction.mentions if m.key == "marie curie"]
    assert len(same) == 1 and same[0].type == "PERSON"
    assert all(r.source != r.target for r in extraction.relations)


def test_one_extraction_per_chunk_in_order(extractor: SpacyExtractor) -> None:
    chunks = [Chunk(f"c{i}", "d", i, "", text)
              for i, text in enumerate(["", "Paris is in France.", "   ", "It was."])]
    out = extractor.extract(chunks)
    assert [e.chunk_id for e in out] == ["c0", "c1", "c2", "c3"]
    assert out[0].mentions == () and out[0].relations == ()
    assert {"paris", "france"} <= {m.key for m in out[1].mentions}
    assert extractor.extract([]) == []


def test_long_sentence_pairs_are_capped(extractor: SpacyExtractor) -> None:
    names = ["Paris", "London", "Berlin", "Madrid", "Rome", "Vienna", "Prague", "Warsaw",
             "Lisbon", "Dublin", "Oslo", "Athens"]
    text = "John Smith visited " + ", ".join(names[:-1]) + " and " + names[-1] + "."
    (extraction,) = extractor.extract([Chunk("c", "d", 0, "", text)])
    assert len(extraction.mentions) >= 10
    assert len(extraction.relations) <= 8 * 7 // 2
