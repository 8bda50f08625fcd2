"""Global answers without a language model (pure): the knowledge graph's communities as themes.

Each theme is named by what sets it apart from the others: its most central entities (the
community report's ``Key entities`` line, most central first) and the words that weigh most in
its passages by class-based TF-IDF (each community's passages one class, the communities of the
answer the classes: a word frequent in one theme and rare in the rest ranks high). Each theme
then quotes its one or two most representative sentences, those that name the community's most
central entities, with their citations. A one-line overview of the themes comes first.

Licence boilerplate is no theme: a passage that names the Project Gutenberg licence its ebook
is wrapped in (:data:`LICENCE_MARKERS`, however the lines break them) is not read, neither
quoted nor counted; a community whose passages are all such, or whose most central entity is
one of the markers ("Project Gutenberg Literary Archive Foundation"), is left out."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from graphready.retrieval.text import STOPWORDS, fold, words

from .answer import Answer, Passage, Quote, Quoting, quotes

KEY_LINE = "\nKey entities:"
NAMED_ENTITIES = 2
NAMED_TERMS = 3
QUOTES_PER_THEME = 2
MAX_QUOTE_CHARS = 400
MIN_QUOTE_WORDS = 5
MAX_NAME_WORDS = 5
"""An entity with a longer name (a document's title taken as an entity) does not name a theme."""
LICENCE_MARKERS = ("project gutenberg", "gutenberg.org", "gutenberg™", "gutenberg-tm")
"""What names the licence text Project Gutenberg wraps its ebooks in (header, footer, and the
"Full Project Gutenberg License" after the book): every part of it a theme would quote names
the project."""
_GENERIC = frozenset("""
    first second third one two three later early long new old set left ran run met led made
    became become found used took began went came gave held kept got number part time times
    year years day days work worked well still several known called since though including
    """.split())
"""Words frequent in any story that name no theme (besides ``STOPWORDS``)."""


@dataclass(frozen=True, slots=True)
class Report:
    """A community report as an answer reads it: its title, its summary (ending in a ``Key
    entities:`` line, most central first) and the passages the summary was drawn from."""

    title: str
    summary: str
    passages: Sequence[Passage]


@dataclass(frozen=True, slots=True)
class _Theme:
    name: str
    quotes: list[Quote]


def boilerplate(text: str) -> bool:
    """Whether ``text`` names the Project Gutenberg licence (:data:`LICENCE_MARKERS`)."""
    folded = " ".join(text.split()).casefold()
    return any(marker in folded for marker in LICENCE_MARKERS)


def without_boilerplate(reports: Sequence[Report]) -> list[Report]:
    """``reports`` with their licence passages left out, and without the communities that
    are all licence, or centred on it. Where licence passages went, the community's central
    entities are those the passages left still name (the ebook's header names the cities of
    its publisher); none left: the community is left out too."""
    out = []
    for report in reports:
        kept = [p for p in report.passages if not boilerplate(p.text)]
        central = key_entities(report)
        if not kept or (central and boilerplate(central[0])):
            continue
        if len(kept) < len(report.passages):
            held = " ".join(" ".join(p.text.split()).casefold() for p in kept)
            central = [name for name in central if name.casefold() in held]
            if not central:
                continue
            head = report.summary.rpartition(KEY_LINE)[0] or report.summary
            report = Report(report.title, f"{head}{KEY_LINE} {', '.join(central)}", kept)
        out.append(report)
    return out


def key_entities(report: Report) -> list[str]:
    """The community's entity names, most central first: its ``Key entities:`` line, or else
    its title's names. The names are joined by commas; a passage's title (an entity too) may
    hold commas of its own, so it is found whole first."""
    _, found, line = report.summary.rpartition(KEY_LINE)
    line = line if found else report.title
    titles = sorted({p.title for p in report.passages if ", " in p.title}, key=len, reverse=True)
    whole: dict[int, str] = {}
    for title in titles:
        at = line.find(title)
        while at >= 0:
            whole[at] = title
            line = line[:at] + "\0" * len(title) + line[at + len(title):]
            at = line.find(title)
    names = []
    at = 0
    for piece in line.split(", "):
        names.append(whole.get(at, piece).strip())
        at += len(piece) + 2
    return [n for n in names if n and "\0" not in n]


def _word_key(word: str) -> str | None:
    """The key a word is counted under (a plural folded), or None for a word that names
    nothing (a stop word, a number, a short word)."""
    w = word.casefold().replace("’", "'").removesuffix("'s")
    if len(w) < 3 or w in STOPWORDS or not w[0].isalpha():
        return None
    return fold(w)


def _counts(quoted: Sequence[Quote]) -> tuple[Counter[str], dict[str, str]]:
    """The counts of the common words (written in lower case: names are the entities' part)
    of ``quoted`` by key, and the form each key is written in most."""
    counts: Counter[str] = Counter()
    forms: dict[str, Counter[str]] = {}
    for quote in quoted:
        for word in words(quote.text):
            key = _word_key(word)
            if key is not None:
                counts[key] += 1
                forms.setdefault(key, Counter())[word.removesuffix("'s")] += 1
    written = {key: seen.most_common(1)[0][0] for key, seen in forms.items()}
    common = Counter({key: n for key, n in counts.items() if written[key].islower()
                      and key not in _GENERIC and not written[key].endswith("ed")})
    return common, written


def distinctive_terms(classes: Sequence[Counter[str]]) -> list[list[tuple[str, float]]]:
    """Class-based TF-IDF: for each class (a theme's word counts), its words by weight
    ``tf(t, c) / |c| * log(1 + A / f(t))``, ``f(t)`` the word's count over all classes and ``A``
    the mean number of words in a class; a word seen once in its class is left out when the
    class has words seen more often."""
    total: Counter[str] = Counter()
    for counts in classes:
        total.update(counts)
    mean = sum(total.values()) / max(len(classes), 1)
    out = []
    for counts in classes:
        size = max(sum(counts.values()), 1)
        floor = 2 if any(c >= 2 for c in counts.values()) else 1
        ranked = [(t, c / size * math.log(1 + mean / total[t]))
                  for t, c in counts.items() if c >= floor]
        ranked.sort(key=lambda item: (-item[1], item[0]))
        out.append(ranked)
    return out


def _is_name(entity: str) -> bool:
    """Whether ``entity`` is a name rather than a document's title taken as an entity."""
    return ":" not in entity and len(entity.split()) <= MAX_NAME_WORDS


def _representative(quoted: Sequence[Quote], central: Sequence[str], distinct: dict[str, float],
                    taken: set[str]) -> list[Quote]:
    """The sentences that name the most central entities (the first counts most), then hold
    the theme's distinctive words; complete sentences of a readable length, none quoted yet."""
    names = [" " + " ".join(w.casefold() for w in words(n)) + " " for n in central
             if _is_name(n)]
    scored = []
    for order, quote in enumerate(quoted):
        text = quote.text
        if (text.casefold() in taken or len(text) > MAX_QUOTE_CHARS
                or len(text.split()) < MIN_QUOTE_WORDS or not text.endswith((".", "!", "?"))):
            continue
        padded = " " + " ".join(w.casefold() for w in words(text)) + " "
        centrality = sum(1 / (1 + rank) for rank, name in enumerate(names) if name in padded)
        keys = {k for k in map(_word_key, words(text)) if k is not None}
        score = centrality + sum(distinct.get(k, 0.0) for k in keys) / math.sqrt(len(keys) + 1)
        if centrality > 0:
            scored.append((-score, order, quote))
    scored.sort(key=lambda item: item[:2])
    chosen: list[Quote] = []
    for _, _, quote in scored:
        if quote.passage.chunk_id in {q.passage.chunk_id for q in chosen} and len(scored) > 2:
            continue
        chosen.append(quote)
        if len(chosen) == QUOTES_PER_THEME:
            break
    return chosen


def _name(central: Sequence[str], ranked: Sequence[tuple[str, float]],
          forms: dict[str, str]) -> str:
    """``Entity A and Entity B: term, term, term`` (terms not in the entities' names)."""
    people = [n for n in central if _is_name(n)][:NAMED_ENTITIES]
    named = {_word_key(w) for n in central for w in words(n)}
    picked = [forms[t] for t, _ in ranked if t not in named][:NAMED_TERMS]
    head = " and ".join(people)
    if not picked:
        return head or "Other"
    return f"{head}: {', '.join(picked)}" if head else ", ".join(picked)


def _themes(reports: Sequence[Report]) -> list[_Theme]:
    quoted = []
    for report in reports:
        seen: set[str] = set()
        mine = []
        for passage in report.passages:
            for quote in quotes(passage):
                if quote.text.casefold() not in seen:
                    seen.add(quote.text.casefold())
                    mine.append(quote)
        quoted.append(mine)
    counted = [_counts(q) for q in quoted]
    ranked = distinctive_terms([counts for counts, _ in counted])
    taken: set[str] = set()
    themes = []
    for report, mine, (_, forms), weights in zip(reports, quoted, counted, ranked, strict=True):
        central = key_entities(report)
        chosen = _representative(mine, central, dict(weights), taken)
        taken.update(q.text.casefold() for q in chosen)
        themes.append(_Theme(_name(central, weights, forms), chosen))
    return themes


def community_answer(reports: Sequence[Report], intro: str) -> Answer:
    """Themes from community reports: ``intro`` and the themes' names on one line, then one
    line per theme with its name and its representative sentences, each cited."""
    reports = without_boilerplate(reports)
    if not reports:
        return Answer("The knowledge graph has no community that matches.", [])
    themes = _themes(reports)
    names = [t.name.split(":", 1)[0] for t in themes]
    lines = [f"{intro} {'; '.join(dict.fromkeys(names))}."]
    quoting = Quoting()
    for theme in themes:
        said = " ".join(quoting.cite(q) for q in theme.quotes)
        lines.append(f"- {theme.name}." + (f" {said}" if said else ""))
    return quoting.answer("\n".join(lines))
