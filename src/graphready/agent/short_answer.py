"""The short answer (pure, given a tagger): the answer itself (a name, place, date, number,
yes/no, or one of two things compared) found in the best sentences of the retrieved passages.

The question says what it wants (:func:`question_kind`): by the wh-word that asks (not a
relative one: "the city *where*") and the noun after it, ``who`` a person, ``where`` a place,
``when`` or "what year" a date, ``how many`` or "what population" a number; a question opening
with a verb ("Is", "Did") yes or no when it asks whether two named things share a nationality,
country or language (any other yes/no question gets no short answer: never a guess), and
"which ... first, A or B" one of its two options (both in ``comparison.py``). The sentences that
best match the question are tagged (the names the graph knows, with spaCy's labels); the typed
span that sits in the best sentences, closest to the question's words and not already named by
the question, is the answer ("where": a place written "town, region" whole, "Winnipeg, Manitoba";
"what state": the place alone). A question that reaches a person through a relation of a thing it
names ("the director of film X") reads that person's passage first; the passages about what the
question's named passages name (the second hop) weigh more. Nothing of the right type: no short
answer."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

from graphready.retrieval.text import terms, words

from .answer import Answer
from .comparison import agree, choose, options_of, subject
from .reading import LABELS, Source, closeness, sentences_of
from .tagging import Span, Tagger

__all__ = ["Kind", "Source", "lead_with", "options_of", "question_kind", "sentences_of",
           "short_answer"]

Kind = Literal["person", "place", "date", "number", "nationality", "organisation", "work",
               "yesno", "choice", "thing"]

MAX_SENTENCES = 10
TITLE_BONUS = 0.5
HOP_WEIGHT = 8.0
LINK_WEIGHT = 3.0
_AUXILIARIES = frozenset({"is", "are", "was", "were", "do", "does", "did", "can", "could", "has",
                          "have", "had", "will", "would", "should"})
_PLACE_NOUNS = frozenset({"country", "city", "state", "place", "town", "county", "province",
                          "region", "island", "located", "location", "village"})
_DATE_NOUNS = frozenset({"year", "date", "day", "century", "decade", "month"})
_HEADS: dict[str, Kind] = {
    **dict.fromkeys(("man", "woman", "person", "actor", "actress", "singer", "player", "author",
                     "writer", "director", "king", "queen", "president", "champion", "musician",
                     "artist", "composer", "politician", "footballer", "heir", "founder",
                     "producer", "poet", "painter", "architect", "people", "leader", "coach"),
                    "person"),
    **dict.fromkeys(("organization", "organisation", "company", "team", "club", "school",
                     "university", "college", "group", "band", "party", "league", "network",
                     "airline", "newspaper", "channel", "label", "institution", "agency",
                     "brand", "firm", "corporation", "station"), "organisation"),
    **dict.fromkeys(("country", "city", "state", "town", "county", "province", "region",
                     "island", "river", "mountain", "village", "location", "place", "area",
                     "district", "part", "continent"), "place"),
    **dict.fromkeys(("play", "film", "movie", "song", "album", "book", "novel", "show", "series",
                     "opera", "game", "title", "musical", "magazine", "event", "award"), "work"),
    **dict.fromkeys(("year", "date", "day", "century", "month", "decade"), "date"),
    **dict.fromkeys(("citizen", "nationality", "ethnicity", "religion", "language"),
                    "nationality"),
    **dict.fromkeys(("population", "percentage", "percent", "amount", "number", "height",
                     "length", "size", "age", "capacity"), "number"),
    **dict.fromkeys(("character", "role", "spouse", "wife", "husband", "mother", "father"),
                    "person"),
    **dict.fromkeys(("seat", "capital", "body", "range", "bridge", "airport", "lake", "sea",
                     "ocean", "stadium", "venue", "territory", "neighborhood", "park",
                     "peninsula"), "place"),
}
_RELATIONS = frozenset({"mother", "father", "wife", "husband", "spouse", "son", "daughter",
                        "child", "director", "composer", "performer", "founder", "producer",
                        "author", "creator", "sibling", "brother", "sister", "grandfather",
                        "grandmother", "paternal", "maternal", "successor", "predecessor"})
_CUES = {"die": ("died", "death", "d."), "died": ("died", "death", "d."),
         "death": ("died", "death", "d."), "born": ("born", "birth", "b."),
         "birth": ("born", "birth", "b.")}


def question_kind(question: str) -> Kind:
    """What kind of answer ``question`` asks for: by its interrogative word (not a relative one:
    "the state *where* X is") and the noun that follows it ("what *year*", "which *county*")."""
    lowered = [w.casefold() for w in words(question)]
    if not lowered:
        return "thing"
    if options_of(question) is not None:
        return "choice"
    if lowered[0] in _AUXILIARIES:
        return "yesno"
    joined = " ".join(lowered)
    if any(p in joined for p in ("how many", "how much", "number of", "how old", "how long",
                                  "how tall", "how far", "how big", "how large")):
        return "number"
    at = _interrogative(question)
    if at is not None:
        wh = lowered[at]
        if wh in _WH_KINDS:
            return _WH_KINDS[wh]
        following = lowered[at + 1:at + 9]
        while following and (following[0] in _COPULAS | _DETERMINERS | _WRAPPERS
                             or following[0] == "of"):  # "what is the name of the airport"
            following = following[1:]
        for word in following[:3]:  # "what mountain range", not "what did the singer"
            if word in _AUXILIARIES:
                break
            if word in _HEADS:
                return _HEADS[word]
            if word.endswith("ist") and len(word) > 5:  # "what English essayist"
                return "person"
        return "thing"
    return _fallback_kind(lowered, joined)


_COPULAS = frozenset({"is", "was", "are", "were"})
_WRAPPERS = frozenset({"name", "kind", "type", "sort"})
_DETERMINERS = frozenset({"the", "a", "an"})
_WH_KINDS: dict[str, Kind] = {"who": "person", "whom": "person", "whose": "person",
                              "when": "date", "where": "place"}
_OPENERS = frozenset({"in", "on", "at", "of", "for", "by", "to", "from", "with", "during",
                      "since", "until", "as", "and", "is", "was", "are", "were", "into"})
"""Words after which a wh-word asks ("in *what* year", "is part of *what*"), not relates."""


def _interrogative(question: str) -> int | None:
    """The position (in :func:`words`) of the wh-word that asks: the first word, or one after a
    comma or a preposition; a wh-word right after a noun ("the city where") relates."""
    index = 0
    previous = ""
    after_comma: int | None = None
    for raw in question.split():
        found = words(raw)
        if not found:
            continue
        word = found[0].casefold()
        if word in ("what", "which", "who", "whom", "whose", "when", "where"):
            if index == 0 or previous.casefold().strip(",") in _OPENERS:
                return index
            if previous.endswith(",") and after_comma is None:
                after_comma = index  # ", who ...": asks, unless a later one does ("on which")
        index += len(found)
        previous = raw
    return after_comma


def _fallback_kind(lowered: list[str], joined: str) -> Kind:
    """The kind of a question whose asking wh-word is not found (kept from the first rules)."""
    if "nationality" in lowered:
        return "nationality"
    if "when" in lowered or any(w in _DATE_NOUNS for w in lowered[:4]) \
            or "date of" in joined:
        return "date"
    if "where" in lowered or "place of" in joined or any(w in _PLACE_NOUNS
                                                          for w in lowered[:3]):
        return "place"
    if lowered[0] in ("who", "whom", "whose") or "who" in lowered[:3]:
        return "person"
    for i, word in enumerate(lowered):
        if word in ("which", "what"):
            head = next((_HEADS[w] for w in lowered[i + 1:i + 4] if w in _HEADS), None)
            if head is not None:
                return head
    return "thing"


def _cue_words(question_terms: set[str]) -> tuple[str, ...]:
    return tuple(c for t in question_terms for c in _CUES.get(t, ()))


def _scored_sentences(question: str, sources: Sequence[Source]) -> list[tuple[float, int, str]]:
    """``(score, passage rank, sentence)`` best first: question terms weighted by how rare
    they are among these sentences, plus a share for the passage's rank."""
    wanted = set(terms(question))
    cues = _cue_words(wanted)
    rows = [(r, s) for r, src in enumerate(sources) for s in sentences_of(src)]
    df: Counter[str] = Counter()
    for _, sentence in rows:
        df.update(set(terms(sentence)))
    n = max(len(rows), 1)
    out = []
    for rank, sentence in rows:
        present = set(terms(sentence)) | set(terms(sources[rank].title))
        overlap = sum(math.log(1 + n / max(df[t], 1)) for t in wanted if t in present)
        if cues and any(c in sentence.casefold() for c in cues):
            overlap += 2.0
        out.append((overlap / math.sqrt(1 + 0.05 * len(present)) + 1.5 / (rank + 1), rank,
                    sentence))
    out.sort(key=lambda row: -row[0])
    return out


def _in_question(span: str, question_terms: set[str], question_folded: str) -> bool:
    found = terms(span)
    return (span.casefold() in question_folded) or (bool(found) and all(
        t in question_terms for t in found))


def _best_typed(question: str, kind: Kind, sources: Sequence[Source], tagger: Tagger,
                bridge: str | None = None) -> str | None:
    ranked = _scored_sentences(question, sources)
    bridge = bridge or _bridge(question, sources, tagger)
    hop = {r for r, src in enumerate(sources) if bridge and _same_name(src.title, bridge)}
    folded = question.casefold()
    named_text = " ".join(src.text.casefold() for src in sources
                          if src.title and src.title.casefold() in folded)
    linked = {r for r, src in enumerate(sources) if src.title and r not in hop
              and src.title.casefold() not in folded and src.title.casefold() in named_text}
    # the bridge's passage is read first: the answer is there, though it names little of the
    # question ("Where was the director of film X born?": the director's birthplace); the
    # passages about what the question's named passages name weigh more (the second hop)
    scored = [row for row in ranked if row[1] in hop][:MAX_SENTENCES] + [
        row for row in ranked if row[1] not in hop][:MAX_SENTENCES]
    if not scored:
        return None
    labels = LABELS.get(kind, LABELS["thing"])
    question_terms = set(terms(question))
    if kind == "thing" and not question_terms & (_RELATIONS | {"name", "named"}):
        labels = labels - LABELS["person"]  # "what did X build": not a person
    cues = _cue_words(question_terms)
    bridged = bool(question_terms & _RELATIONS) and kind not in ("person", "thing")
    named = {r for r, src in enumerate(sources)
             if src.title and _in_question(src.title, question_terms, folded)}
    full_date = kind == "date" and bool({"date", "day"} & question_terms)
    things = _named_things(question, tagger) if kind == "person" else []
    totals: dict[str, float] = {}
    shown: dict[str, str] = {}
    titles = {" ".join(terms(src.title)) for src in sources if src.title}
    # "where": "Winnipeg, Manitoba" whole; "what state": the state alone
    joined = kind == "place" and not question_terms & _PLACE_PARTS
    for (score, rank, sentence), spans in zip(scored, tagger.tag([s for _, _, s in scored]),
                                              strict=True):
        weight = score * (0.4 if bridged and rank in named and len(named) < len(sources)
                          else 1.0) * (HOP_WEIGHT if rank in hop else 1.0) * (
                              LINK_WEIGHT if rank in linked else 1.0)
        here: dict[str, float] = {}  # a name written twice in a sentence counts once
        for span in (_joined_places(sentence, spans) if joined else spans):
            fit = _fit(labels, span, full_date)
            if not fit or _in_question(span.text, question_terms, folded) or (
                    bridge and _same_name(span.text, bridge)) or any(
                        _version_of(span.text, thing) for thing in things):
                continue
            key = span.text.casefold()
            here[key] = max(here.get(key, 0.0), fit * weight * (
                1.0 + closeness(sentence, span, [*question_terms, *cues])
                + TITLE_BONUS * (" ".join(terms(span.text)) in titles)))
            shown.setdefault(key, span.text)
        for key, value in here.items():
            totals[key] = totals.get(key, 0.0) + value
    if not totals:
        return None
    return shown[max(totals, key=lambda k: totals[k])]


def _joined_places(sentence: str, spans: Sequence[Span]) -> list[Span]:
    """``spans`` with each place written as "town, region" taken whole ("Winnipeg, Manitoba",
    not "Manitoba"): a place span followed by a comma and another place span."""
    out: list[Span] = []
    for span in spans:
        last = out[-1] if out else None
        if last is not None and last.label in _PLACE_LABELS and span.label in _PLACE_LABELS \
                and "," not in last.text and last.text != span.text \
                and sentence[last.start + len(last.text):span.start] == ", ":
            out[-1] = Span(sentence[last.start:span.start + len(span.text)], last.label,
                           last.start)
        else:
            out.append(span)
    return out


_PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})
_PLACE_PARTS = frozenset(w for w, k in _HEADS.items() if k == "place") - {
    "city", "town", "village", "place", "location"}
"""What a question asks for when it wants a place itself ("what state", "which airport"), not
"town, region"."""


def _named_things(question: str, tagger: Tagger) -> list[str]:
    """The names ``question`` holds that are not people's (by the tagger's labels)."""
    [spans] = tagger.tag([question])
    return [span.text for span in spans if span.label not in LABELS["person"]]


def _version_of(name: str, thing: str) -> bool:
    """Whether ``name`` is another version of ``thing`` ("Mark III" of "Harvard Mark I", "Z4"
    of "Zuse Z3"): it carries a numeral (a number, a Roman one, or a letter and digits) and
    its other words are all words of ``thing``. A version of a thing is no answer to "who",
    whatever label the tagger gave it."""
    marks = [w for w in words(name) if _numeral(w)]
    rest = [w.casefold() for w in words(name) if not _numeral(w)]
    held = {w.casefold() for w in words(thing)}
    return bool(marks) and all(w in held for w in rest) and (
        bool(rest) or any(_numeral(w) and w != m for w in words(thing) for m in marks))


def _numeral(word: str) -> bool:
    """A version's numeral: digits ("1944"), a Roman numeral in capitals ("III"), or letters
    and digits ("Z4", "B2")."""
    return any(ch.isdigit() for ch in word) or (
        word.isupper() and all(ch in "IVXLCDM" for ch in word))


_HOPS = frozenset({"director", "composer", "performer", "producer", "screenwriter", "author",
                   "creator", "founder"})
"""Relations that lead from the thing a question names to a person it asks about ("the
director of film X"): their passage holds the answer."""


def _bridge(question: str, sources: Sequence[Source], tagger: Tagger) -> str | None:
    """The person the question reaches through a relation of a thing it names (the director
    of the film it names, when that film's passage names a person with a passage of their
    own), else ``None``."""
    asked = {w.casefold() for w in words(question)}
    if not asked & _HOPS:
        return None
    folded = question.casefold()
    for source in sources:
        if source.title and source.title.casefold() in folded:
            person = subject(source.title, asked, sources, tagger)
            if person != source.title:
                return person
    return None


def _same_name(a: str, b: str) -> bool:
    return " ".join(terms(a)) == " ".join(terms(b))


def _fit(labels: frozenset[str], span: Span, full_date: bool) -> float:
    """How well ``span`` is of the kind asked for: 1 for one of its labels, but a year alone 0.5
    when the question asks for a date or a day ("birth date": "August 10, 1933", not "1933");
    0 for another label (a name of another kind helped no set: the tagger's labels are
    noisy, but so are the candidates)."""
    if span.label not in labels:
        return 0.0
    return 0.5 if full_date and not any(c.isalpha() for c in span.text) else 1.0


def short_answer(question: str, sources: Sequence[Source], tagger: Tagger) -> str | None:
    """The answer itself, from ``sources`` (retrieved passages, best first), or ``None`` when
    no span of the kind the question asks for is found."""
    if not sources:
        return None
    kind = question_kind(question)
    if kind == "choice":
        options = options_of(question)
        assert options is not None
        return choose(question, options, sources, tagger)
    if kind == "yesno":
        return agree(question, sources, tagger)
    found = _best_typed(question, kind, sources, tagger)
    lowered = [w.casefold() for w in words(question)]
    if found and set(lowered) & _KIN and {"who", "that", "whose"} & set(lowered[1:]) and any(
            _same_name(s.title, found) for s in sources):
        # "Who is the child of the person who issued X?": what matches the question best is
        # the person who issued X; the answer is in their passage
        return _best_typed(question, kind, sources, tagger, bridge=found) or found
    return found


_KIN = frozenset({"mother", "father", "wife", "husband", "spouse", "son", "daughter", "child",
                  "sibling", "brother", "sister", "married", "voice"})


def lead_with(answer: Answer, short: str | None) -> Answer:
    """``answer`` with the short answer as its first line (unchanged when there is none)."""
    if not short:
        return answer
    return replace(answer, text=f"{short}.\n{answer.text}" if not short.endswith(".")
                   else f"{short}\n{answer.text}")
