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


def terms(text: str) -> list[str]:
    """Lower-cased content words of ``text``: stop words and one-letter tokens dropped, a plural
    ``s`` folded so that "films" meets "film"."""
    out = []
    for word in words(text):
        w = word.casefold().replace("’", "'")
        if w.endswith("'s"):
            w = w[:-2]
        if len(w) < 2 or w in STOPWORDS:
            continue
        out.append(fold(w))
    return out


def fold(term: str) -> str:
    """A light stemmer: drop a plural ending."""
    if len(term) > 4 and term.endswith("ies"):
        return term[:-3] + "y"
    if len(term) > 3 and term.endswith("s") and not term.endswith(("ss", "us", "is")):
        return term[:-1]
    return term
