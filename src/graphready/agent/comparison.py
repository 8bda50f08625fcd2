"""Comparison and yes/no short answers (pure, given a tagger): which of two named things ("...,
A or B?") is earlier, later, larger or lived longer, and whether two named things share a
nationality, country or language ("Are A and B both American?").

A choice that compares nothing ("Which is a comedy film, A or B?": no word says earlier,
later, more or longer) is the option whose passage holds more of the question's other words;
only when both hold as many is it compared by dates. Each side is read in the passage about it
(the one whose title is its name). A question about
a thing's relation ("Which film has the director who died first, A or B?") reads the passage
about the person that thing's passage names (its director) instead. Dates: a person's first
date is their birth, the second their death; numbers: the one nearest the question's words.
Nations are compared by country ("American" = "United States"). Either side unread: the first
option for a choice (the reader sees the passages), no answer for yes/no (never a guess)."""

from __future__ import annotations

from collections.abc import Sequence

from graphready.retrieval.text import terms, words

from .reading import LABELS, Source, about, closeness, sentences_of
from .tagging import Tagger, date_key, number_value

_AUXILIARIES = frozenset({"is", "are", "was", "were", "do", "does", "did", "can", "could", "has",
                          "have", "had", "will", "would", "should"})
_EARLIER = frozenset({"first", "earlier", "earliest", "older", "oldest", "before", "sooner"})
_LATER = frozenset({"later", "last", "latest", "younger", "youngest", "recently", "recent",
                    "newer", "newest", "after"})
_MORE = frozenset({"more", "most", "larger", "largest", "bigger", "biggest", "higher",
                   "highest", "longer", "longest", "taller", "tallest"})
_LIFE = frozenset({"life", "lived"})
_DEATH = frozenset({"died", "die", "death", "dead"})
_MEASURES = {"higher": ("elevation", "height", "metres", "meters", "feet"),
             "taller": ("height", "tall", "metres", "meters", "feet", "floors"),
             "larger": ("area", "population", "km"), "bigger": ("area", "population", "km")}
_RELATED = frozenset({"director", "directors", "composer", "author", "performer", "producer",
                      "creator", "founder", "father", "mother", "spouse", "husband", "wife"})
"""A question about one of these of each thing compares the person, not the thing."""
_NAME_WORDS = frozenset({"of", "de", "the", "and", "la", "le", "von", "van", "da", "di", "del",
                         "du", "der", "den", "y", "al", "el", "bin", "ibn"})
_SAME = frozenset({"both", "same"})
_ATTRIBUTES = frozenset({"NORP", "GPE", "LANGUAGE"})
"""What two things are compared on in "Are A and B both American?", "... the same country?"."""
_COUNTRIES = {
    **dict.fromkeys(("american", "u.s.", "us", "usa", "america", "united states of america"),
                    "united states"),
    **dict.fromkeys(("british", "english", "uk", "england", "u.k.", "great britain", "britain"),
                    "united kingdom"),
    **dict.fromkeys(("soviet", "soviet union", "ussr", "russian"), "russia"),
    **dict.fromkeys(("hindi", "tamil", "telugu", "malayalam", "kannada", "marathi", "indian"),
                    "india"),
    "french": "france", "german": "germany", "italian": "italy", "japanese": "japan",
    "canadian": "canada", "spanish": "spain", "mexican": "mexico", "australian": "australia",
    "chinese": "china", "swedish": "sweden", "polish": "poland", "dutch": "netherlands",
    "greek": "greece", "irish": "ireland", "brazilian": "brazil", "argentine": "argentina",
    "turkish": "turkey", "egyptian": "egypt", "filipino": "philippines", "danish": "denmark",
    "norwegian": "norway", "finnish": "finland", "hungarian": "hungary", "austrian": "austria",
    "swiss": "switzerland", "belgian": "belgium", "portuguese": "portugal", "iranian": "iran",
    "pakistani": "pakistan", "israeli": "israel", "korean": "south korea",
    "south korean": "south korea", "czech": "czech republic", "nigerian": "nigeria",
}
"""Nationalities, a few languages and other names of a country, folded to the country's name."""


def options_of(question: str) -> tuple[str, str] | None:
    """The two things a comparison question names ("..., A or B?", "... out of A and B?", "Was
    A or B born first?"), else ``None``."""
    text = question.strip().rstrip("?").strip()
    for joiner, leads in ((" or ", (",", ":")), (" and ", (" out of ", " between "))):
        if joiner not in text:
            continue
        left, right = text.rsplit(joiner, 1)
        left = left.rstrip(" ,")
        cut = max(left.rfind(lead) + len(lead) if left.rfind(lead) >= 0 else -1
                  for lead in leads)
        if cut <= 0:
            if joiner == " or " and left.split(" ", 1)[0].casefold() in _AUXILIARIES:
                return _named_pair(left.split(" ", 1)[-1], right)
            continue
        first, second = left[cut:].strip(" ,:"), right.strip(" ,:")
        if first and second and len(first.split()) <= 12 and len(second.split()) <= 12:
            return first, second
    return None


def _named_pair(left: str, right: str) -> tuple[str, str] | None:
    """"Jorge Ledezma" and "Yuliya Baraley" from "Jorge Ledezma", "Yuliya Baraley born first":
    the left part whole when it is a name, the right part's leading name."""
    taken: list[str] = []
    for word in right.split():
        if not (word[:1].isupper() or word[:1].isdigit() or word in _NAME_WORDS):
            break
        taken.append(word)
    while taken and taken[-1] in _NAME_WORDS:
        taken.pop()
    first = left.strip(" ,")
    if not taken or not first[:1].isupper() or len(first.split()) > 8:
        return None
    return first, " ".join(taken)


def _direction(asked: set[str]) -> int | None:
    """-1 for the earlier/older option, 1 for the later/larger one, ``None`` when unsaid."""
    if asked & _EARLIER:
        return -1
    if asked & _LATER or asked & _MORE:
        return 1
    return None


def choose(question: str, options: tuple[str, str], sources: Sequence[Source],
           tagger: Tagger) -> str:
    """The option the comparison ``question`` asks for, by what the passages say of each."""
    asked = {w.casefold() for w in words(question)}
    numeric = bool(asked & _MORE) and not asked & _LIFE
    named = set(terms(" ".join(options)))
    cues = [t for t in terms(question) if t not in named] + [
        c for w in asked for c in _MEASURES.get(w, ())]
    if _direction(asked) is None and not asked & _LIFE:
        described = _described(options, cues, sources)
        if described is not None:
            return described
    subjects = [subject(o, asked, sources, tagger) for o in options]
    if any(s == o for s, o in zip(subjects, options, strict=True)):
        subjects = list(options)  # one director unread: the films' own dates (a fair proxy)
    people = subjects != list(options) or question.split(" ", 1)[0].casefold() in ("who", "was")
    values = [_value(s, sources, tagger, numeric, cues, asked if people else asked - _DEATH)
              for s in subjects]
    first, second = values
    if first is None or second is None or first == second:
        return options[0]
    earlier = 0 if first < second else 1  # type: ignore[operator]
    direction = _direction(asked) or (1 if asked & _LIFE else -1)
    return options[earlier if direction < 0 else 1 - earlier]


def _described(options: tuple[str, str], cues: Sequence[str],
               sources: Sequence[Source]) -> str | None:
    """The option whose passage says what the question asks ("Which is a comedy film, A or
    B?": the one whose passage holds more of the question's other words), or ``None`` when
    both hold as many or either is unread."""
    wanted = set(cues) - _GENERIC_CUES
    held = []
    for option in options:
        found = about(option, sources)[:1]
        if not found or not wanted:
            return None
        text = set(terms(f"{found[0].title} {found[0].text}"))
        held.append(len(wanted & text))
    if held[0] == held[1]:
        return None
    return options[0] if held[0] > held[1] else options[1]


_GENERIC_CUES = frozenset({"which", "one", "two", "both", "these", "following"})


def subject(thing: str, asked: set[str], sources: Sequence[Source], tagger: Tagger) -> str:
    """Whom the question compares for ``thing``: the first person its passage names who has a
    passage of their own, when it asks about a relation (a film's director); else ``thing``."""
    if not asked & _RELATED:
        return thing
    for source in about(thing, sources)[:1]:
        sentences = sentences_of(source)
        for spans in tagger.tag(sentences):
            for span in spans:
                if span.label == "PERSON" and span.text.casefold() != thing.casefold() and any(
                        " ".join(terms(s.title)) == " ".join(terms(span.text))
                        for s in sources):
                    return span.text
    return thing


def _value(thing: str, sources: Sequence[Source], tagger: Tagger, numeric: bool,
           cues: Sequence[str], asked: set[str]) -> float | tuple[int, int, int] | None:
    """What the passage about ``thing`` says of it: the number nearest the question's words
    (``cues``) when ``numeric``, the years between its first two dates for a life's length, its
    second date (a death) when the question asks who died first, else its first date."""
    for source in about(thing, sources)[:1]:
        sentences = sentences_of(source)
        if numeric:
            best: tuple[float, float] | None = None
            for position, (sentence, spans) in enumerate(zip(sentences, tagger.tag(sentences),
                                                              strict=True)):
                for span in spans:
                    value = number_value(span.text) if span.label in LABELS["number"] else None
                    if value is not None:
                        near = closeness(sentence, span, cues) - 0.1 * position
                        if best is None or near > best[0]:
                            best = (near, value)
            return best[1] if best is not None else None
        dates = [d for spans in tagger.tag(sentences[:2]) for span in spans
                 if span.label == "DATE" and (d := date_key(span.text)) is not None]
        if asked & _LIFE:
            return float(dates[1][0] - dates[0][0]) if len(dates) >= 2 else None
        if asked & _DEATH and len(dates) >= 2:
            return dates[1]
        return dates[0] if dates else None
    return None


def agree(question: str, sources: Sequence[Source], tagger: Tagger) -> str | None:
    """"yes" or "no" to a question that asks whether two named things share an attribute
    (nationality, country, language: "Are A and B both American?", "Were A and B from the same
    country?"), by the attributes of the passage about each (or about each one's director,
    when asked); ``None`` for any other yes/no question or when either side's attribute is not
    found (no guess)."""
    asked = {w.casefold() for w in words(question)}
    if not asked & _SAME:
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
    subjects = [subject(thing, asked, sources, tagger) for thing in things]
    if any(s == t for s, t in zip(subjects, things, strict=True)):
        subjects = things
    found = [_attributes(s, sources, tagger) for s in subjects]
    if not found[0] or not found[1]:
        return None
    return "yes" if found[0] & found[1] else "no"


def _attributes(thing: str, sources: Sequence[Source], tagger: Tagger) -> set[str]:
    """The countries the first two sentences of the passage about ``thing`` name, or whose
    people or language they name (folded: "American" is "united states")."""
    for source in about(thing, sources)[:1]:
        head = sentences_of(source)[:2]
        named = {span.text.casefold() for spans in tagger.tag(head) for span in spans
                 if span.label in _ATTRIBUTES}
        return {_COUNTRIES.get(n.removeprefix("the "), n.removeprefix("the ")) for n in named}
    return set()
