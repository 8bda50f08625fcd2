"""The short answer (pure, given a tagger): the answer itself (a name, place, date, number,
yes/no, or one of two things compared) found in the best sentences of the retrieved passages.

The question says what it wants (:func:`question_kind`): ``who`` a person, ``where`` a place,
``when`` a date, ``how many`` a number, a question opening with a verb ("Is", "Did") yes or no
when it asks whether two named things share a nationality, country or language (any other yes/no
question gets no short answer: never a guess), and "which ... first, A or B" one of its two
options. The few sentences that best match the question are tagged (the names the graph knows,
with spaCy's labels); the typed span that sits in the best sentences, closest to the question's
words and not already named by the question, is the answer.
Comparisons take the first date (or number) of the passage about each option and keep the
earlier or the later one, as the question asks. Nothing of the right type: no short answer."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from graphready.documents.chunking import chunk_sentences
from graphready.documents.markdown import plain
from graphready.retrieval.text import terms, words

from .answer import Answer
from .tagging import Span, Tagger, date_key, number_value

Kind = Literal["person", "place", "date", "number", "nationality", "organisation", "work",
               "yesno", "choice", "thing"]

LABELS: dict[str, frozenset[str]] = {
    "person": frozenset({"PERSON"}),
    "place": frozenset({"GPE", "LOC", "FAC"}),
    "date": frozenset({"DATE"}),
    "number": frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"}),
    "nationality": frozenset({"NORP", "GPE", "LANGUAGE"}),
    "organisation": frozenset({"ORG"}),
    "work": frozenset({"WORK_OF_ART", "ORG", "PRODUCT", "EVENT"}),
    "thing": frozenset({"PERSON", "ORG", "GPE", "LOC", "FAC", "NORP", "WORK_OF_ART", "EVENT",
                        "PRODUCT", "LANGUAGE", "LAW"}),
}
MAX_SENTENCES = 10
TITLE_BONUS = 0.5
_AUXILIARIES = frozenset({"is", "are", "was", "were", "do", "does", "did", "can", "could", "has",
                          "have", "had", "will", "would", "should"})
_EARLIER = frozenset({"first", "earlier", "earliest", "older", "oldest", "before", "sooner"})
_LATER = frozenset({"later", "last", "latest", "younger", "youngest", "recently", "recent",
                    "newer", "newest", "after"})
_MORE = frozenset({"more", "most", "larger", "largest", "bigger", "biggest", "higher",
                   "highest", "longer", "longest", "taller", "tallest"})
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
    **dict.fromkeys(("body", "range", "bridge", "airport", "lake", "sea", "ocean", "stadium",
                     "venue", "territory", "neighborhood", "park", "peninsula"), "place"),
}
_RELATIONS = frozenset({"mother", "father", "wife", "husband", "spouse", "son", "daughter",
                        "child", "director", "composer", "performer", "founder", "producer",
                        "author", "creator", "sibling", "brother", "sister", "grandfather",
                        "grandmother", "paternal", "maternal", "successor", "predecessor"})
_CUES = {"die": ("died", "death", "d."), "died": ("died", "death", "d."),
         "death": ("died", "death", "d."), "born": ("born", "birth", "b."),
         "birth": ("born", "birth", "b.")}


@dataclass(frozen=True, slots=True)
class Source:
    """A retrieved passage, as the short answer reads it."""

    title: str
    text: str


def sentences_of(source: Source) -> list[str]:
    """The sentences of ``source`` as an answer quotes them (:func:`chunk_sentences`: a title
    line is never glued to the sentence after it; headings left out; Markdown syntax removed)."""
    return [text for s in chunk_sentences(source.text, source.title)
            if not s.heading and (text := plain(s.text))]


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
        following = lowered[at + 1:at + 6]
        while following and following[0] in _COPULAS | _DETERMINERS:  # "what is the population"
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


def options_of(question: str) -> tuple[str, str] | None:
    """The two things a comparison question names ("..., A or B?", "... out of A and B?"),
    else ``None``."""
    text = question.strip().rstrip("?").strip()
    for joiner, leads in ((" or ", (",", ":")), (" and ", (" out of ", " between "))):
        if joiner not in text:
            continue
        left, right = text.rsplit(joiner, 1)
        left = left.rstrip(" ,")
        cut = max(left.rfind(lead) + len(lead) if left.rfind(lead) >= 0 else -1
                  for lead in leads)
        if cut <= 0:
            continue
        first, second = left[cut:].strip(" ,:"), right.strip(" ,:")
        if first and second and len(first.split()) <= 12 and len(second.split()) <= 12:
            return first, second
    return None


def _direction(question: str) -> int | None:
    """-1 for the earlier/older option, 1 for the later/larger one, ``None`` when unsaid."""
    lowered = {w.casefold() for w in words(question)}
    if lowered & _EARLIER:
        return -1
    if lowered & _LATER or lowered & _MORE:
        return 1
    return None


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


def _closeness(sentence: str, span: Span, question_terms: set[str], cues: Sequence[str]) -> float:
    """1 when a question word (or a cue like "died") is next to the span, less further off."""
    folded = sentence.casefold()
    positions = [i for t in list(question_terms) + list(cues)
                 if len(t) > 2 and (i := folded.find(t)) >= 0]
    if not positions:
        return 0.0
    distance = min(abs(p - span.start) for p in positions)
    return 1.0 / (1.0 + distance / 30.0)


def _best_typed(question: str, kind: Kind, sources: Sequence[Source], tagger: Tagger) -> (
        str | None):
    scored = _scored_sentences(question, sources)[:MAX_SENTENCES]
    if not scored:
        return None
    labels = LABELS.get(kind, LABELS["thing"])
    question_terms = set(terms(question))
    if kind == "thing" and not question_terms & (_RELATIONS | {"name", "named"}):
        labels = labels - LABELS["person"]  # "what did X build": not a person
    folded = question.casefold()
    cues = _cue_words(question_terms)
    bridged = bool(question_terms & _RELATIONS) and kind not in ("person", "thing")
    named = {r for r, src in enumerate(sources)
             if src.title and _in_question(src.title, question_terms, folded)}
    totals: dict[str, float] = {}
    shown: dict[str, str] = {}
    titles = {" ".join(terms(src.title)) for src in sources if src.title}
    for (score, rank, sentence), spans in zip(scored, tagger.tag([s for _, _, s in scored]),
                                              strict=True):
        weight = score * (0.4 if bridged and rank in named and len(named) < len(sources)
                          else 1.0)
        for span in spans:
            if span.label not in labels or _in_question(span.text, question_terms, folded):
                continue
            key = span.text.casefold()
            totals[key] = totals.get(key, 0.0) + weight * (
                1.0 + _closeness(sentence, span, question_terms, cues)
                + TITLE_BONUS * (" ".join(terms(span.text)) in titles))
            shown.setdefault(key, span.text)
    if not totals:
        return None
    return shown[max(totals, key=lambda k: totals[k])]


def _option_value(option: str, sources: Sequence[Source], tagger: Tagger, numeric: bool,
                  cues: Sequence[str]) -> float | tuple[int, int, int] | None:
    """What the passage about ``option`` (the one whose title is the option, else the first that
    names it) says of it: the number nearest the question's words (``cues``) when ``numeric``,
    the years between its first two dates for a life's length, else its first date."""
    for source in _about(option, sources)[:1]:
        sentences = sentences_of(source)
        if numeric:
            best: tuple[float, float] | None = None
            for position, (sentence, spans) in enumerate(zip(sentences, tagger.tag(sentences),
                                                              strict=True)):
                for span in spans:
                    value = number_value(span.text) if span.label in LABELS["number"] else None
                    if value is not None:
                        near = _closeness(sentence, span, set(cues), ()) - 0.1 * position
                        if best is None or near > best[0]:
                            best = (near, value)
            return best[1] if best is not None else None
        dates = [d for spans in tagger.tag(sentences[:2]) for span in spans
                 if span.label == "DATE" and (d := date_key(span.text)) is not None]
        if "life" in cues or "lived" in cues:
            return float(dates[1][0] - dates[0][0]) if len(dates) >= 2 else None
        return dates[0] if dates else None
    return None


_MEASURES = {"higher": ("elevation", "height", "metres", "meters", "feet"),
             "taller": ("height", "tall", "metres", "meters", "feet", "floors"),
             "larger": ("area", "population", "km"), "bigger": ("area", "population", "km")}


def _choose(question: str, options: tuple[str, str], sources: Sequence[Source],
            tagger: Tagger) -> str:
    direction = _direction(question) or -1
    asked = {w.casefold() for w in words(question)}
    numeric = bool(asked & _MORE) and not asked & {"life", "lived"}
    named = set(terms(" ".join(options)))
    cues = [t for t in terms(question) if t not in named] + [
        c for w in asked for c in _MEASURES.get(w, ())] + sorted(asked & {"life", "lived"})
    values = [_option_value(o, sources, tagger, numeric, cues) for o in options]
    first, second = values
    if first is not None and second is not None and first != second:
        earlier = 0 if first < second else 1  # type: ignore[operator]
        if asked & {"life", "lived"}:
            direction = _direction(question) or 1
        return options[earlier if direction < 0 else 1 - earlier]
    return options[0]


def short_answer(question: str, sources: Sequence[Source], tagger: Tagger) -> str | None:
    """The answer itself, from ``sources`` (retrieved passages, best first), or ``None`` when
    no span of the kind the question asks for is found."""
    if not sources:
        return None
    kind = question_kind(question)
    if kind == "choice":
        options = options_of(question)
        assert options is not None
        return _choose(question, options, sources, tagger)
    if kind == "yesno":
        return _agreement(question, sources, tagger)
    return _best_typed(question, kind, sources, tagger)


_SAME = frozenset({"both", "same"})
_ATTRIBUTES = frozenset({"NORP", "GPE", "LANGUAGE"})
"""What two things are compared on in "Are A and B both American?", "... the same country?"."""


def _agreement(question: str, sources: Sequence[Source], tagger: Tagger) -> str | None:
    """"yes" or "no" to a question that asks whether two named things share an attribute
    (nationality, country, language: "Are A and B both American?", "Were A and B from the same
    country?"), by the attributes of the passage about each; ``None`` for any other yes/no
    question or when either side's attribute is not found (no guess)."""
    if not {w.casefold() for w in words(question)} & _SAME:
        return None
    folded = question.casefold()
    things = list(dict.fromkeys(s.title for s in sources
                                if s.title and s.title.casefold() in folded))
    if len(things) != 2:  # the passages' titles name the things compared, else the tagger
        [named] = tagger.tag([question])
        things = list(dict.fromkeys(span.text for span in named if span.label not in _ATTRIBUTES
                                    and span.label not in LABELS["date"] | LABELS["number"]))
    if len(things) != 2:
        return None
    found = [_attributes(thing, sources, tagger) for thing in things]
    if not found[0] or not found[1]:
        return None
    return "yes" if found[0] & found[1] else "no"


def _attributes(thing: str, sources: Sequence[Source], tagger: Tagger) -> set[str]:
    """The nationalities, countries and languages the first two sentences of the passage
    about ``thing`` name (folded)."""
    for source in _about(thing, sources)[:1]:
        head = sentences_of(source)[:2]
        return {span.text.casefold() for spans in tagger.tag(head) for span in spans
                if span.label in _ATTRIBUTES}
    return set()


def _about(thing: str, sources: Sequence[Source]) -> list[Source]:
    """The passages about ``thing``: those whose title is its name, else those that name it."""
    key = " ".join(terms(thing))
    return [s for s in sources if " ".join(terms(s.title)) == key] or [
        s for s in sources if thing.casefold() in s.text.casefold()]


def lead_with(answer: Answer, short: str | None) -> Answer:
    """``answer`` with the short answer as its first line (unchanged when there is none)."""
    if not short:
        return answer
    return replace(answer, text=f"{short}.\n{answer.text}" if not short.endswith(".")
                   else f"{short}\n{answer.text}")
