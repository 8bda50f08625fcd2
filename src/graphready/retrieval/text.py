"""Word-level text helpers shared by retrieval and answering (pure)."""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+(?:[-'’]\w+)*", re.UNICODE)

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    tell give show find list name describe explain does did also many much""".split()
)


def words(text: str) -> list[str]:
    """The word tokens of ``text``, as written."""
    return _WORD.findall(text)


def terms(text: str, verbs: bool = True) -> list[str]:
    """Lower-cased content words of ``text``: stop words and one-letter tokens dropped, each
    word's inflection folded (:func:`fold`) so that "films" meets "film" and "died" "die"; a
    capitalised word (a name: "Turing", "Reading") only loses a plural ``s``, and so does
    every word with ``verbs=False`` (the words nearly as written)."""
    out = []
    for word in words(text):
        w = word.casefold().replace("’", "'")
        if w.endswith("'s"):
            w = w[:-2]
        if len(w) < 2 or w in STOPWORDS:
            continue
        out.append(fold(w, verb=verbs and not word[:1].isupper()))
    return out


_VOWELS = frozenset("aeiouy")
_KEEP_DOUBLE = frozenset("lsz")
"""Doubled letters that stay doubled when an ending goes ("falling": "fall", "missed": "miss";
but "stopped": "stop")."""


def fold(term: str, verb: bool = True) -> str:
    """A light stemmer for English inflections, by a few fixed endings (no pattern, linear in
    the word): a plural ``s``, a past ``ed``, a participle ``ing``, so that the forms of a word
    meet: "die", "dies", "died" and "dying" are "die"; "design", "designs", "designed" and
    "designing" are "design"; "studies" and "studied" are "study"; "stopped" is "stop". A word
    is never cut below three letters, nor to a stem without a vowel ("thing", "bred" stay). A
    final silent ``e`` is kept, so "named" ("nam") does not meet "name": dropping it everywhere
    lowered short F1 and abstention on all three evaluation sets. ``verb=False``: a plural
    ending only."""
    if term.isdigit() or len(term) < 4:
        return term
    if term.endswith("ies") or (verb and term.endswith("ied")):
        # "dies", "died": "die"; "studies", "studied": "study"
        return term[:-1] if len(term) == 4 else term[:-3] + "y"
    if verb and term.endswith("ying") and len(term) == 5:
        return term[:-4] + "ie"  # "dying", "lying", "tying"
    if term.endswith("s") and not term.endswith(("ss", "us", "is")):
        term = term[:-1]
    elif term.endswith("eed") or not verb:
        return term  # "agreed", "speed", "need": no past ending to take off; a name
    else:
        for ending in ("ed", "ing"):
            stem = term[: -len(ending)]
            if term.endswith(ending) and len(stem) >= 3 and _VOWELS & set(stem):
                if stem[-1] == stem[-2] and stem[-1] not in _KEEP_DOUBLE | _VOWELS:
                    stem = stem[:-1]  # "stopped", "running"
                return stem
    return term
