"""Whether what retrieval found answers the question (pure): a tiny logistic model over a few
features of the question and the best passages.

Features (each in [0, 1]), over the words nearly as written (a plural folded, not a verb's
ending: with "died" meeting "die", questions the passages do not answer shared more words with
them, and fewer of those abstained at the same cut):

- ``terms``: the share of the question's content words found in the best passages (text or
  title), each weighted by its length (long words are the rare ones);
- ``names``: the share of the question's names (capitalised words past its first, and numbers)
  found there; 1 when the question names nothing;
- ``all_names``: 1 when every one of those names is found;
- ``sentence``: the largest share of the question's content words that one sentence (with its
  passage's title) holds;
- ``passage``: the largest share of them that one passage (with its title) holds;
- ``typed``: 1 when a short answer of the kind the question asks for was found;
- ``bigrams``: the share of the question's pairs of consecutive content words found next to
  each other in the best passages ("Eiffel Tower", "born in Paris" as "born Paris"): a question
  about something else shares words with them, seldom their pairs;
- ``passage_bigrams``: the largest share of those pairs that one passage holds;
- ``titled``: 1 when one of the question's names is written in the title of one of the best
  passages (the thing it asks about has a passage of its own), or when it names nothing: a
  question about something the corpus lacks names it in passages about other things, seldom in
  their titles.

The weights were fitted offline by ``benchmarks/calibrate_abstention.py`` on the development
halves (answerable) and on questions of the other corpora asked against each one (not
answerable; a question whose reference answer occurs in the corpus left out); see that script
for the command and the figures it printed."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from graphready.retrieval.text import terms, words

from .answer import Answer
from .short_answer import Source, sentences_of

FEATURES = ("terms", "names", "all_names", "sentence", "passage", "typed", "bigrams",
            "passage_bigrams", "titled")
WEIGHTS = (5.934, -0.830, 1.554, 4.396, -1.342, 0.551, 7.823, 6.241, 1.957)
BIAS = -7.057
# fitted on the MuSiQue, HotpotQA and 2Wiki dev halves and the other sets' questions asked of them
# (short answers typed by the names the graph knows, as the server does):
# python benchmarks/calibrate_abstention.py (data dirs built by graphready eval); the cut that
# keeps at most 5% of each set's answerable questions abstaining is folded into BIAS
THRESHOLD = 0.5
"""Answer when the model's probability that the passages answer is at least this."""
BEST_PASSAGES = 5


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether to answer, the probability the model gave, and the features it saw."""

    found: bool
    probability: float
    features: tuple[float, ...]


def _names(question: str) -> list[str]:
    """The question's names: runs of capitalised words (past the first word) and numbers."""
    out: list[str] = []
    run: list[str] = []
    for i, token in enumerate([*words(question), ""]):
        if token and (token.isdigit() or (i > 0 and token[:1].isupper())):
            run.append(token.casefold())
            continue
        if run and (len(run) > 1 or len(run[0]) > 1):
            out.append(" ".join(run))
        run = []
    return list(dict.fromkeys(out))


def _terms(text: str) -> list[str]:
    return terms(text, verbs=False)


def features(question: str, sources: Sequence[Source], typed: bool) -> tuple[float, ...]:
    """The features of :data:`FEATURES`, in order."""
    best = sources[:BEST_PASSAGES]
    asked = _terms(question)
    wanted = list(dict.fromkeys(asked))
    pairs = set(pairwise(asked))
    pairs_seen: set[tuple[str, str]] = set()
    pair_share = 0.0
    present: set[str] = set()
    raw = ""
    passage_share = 0.0
    sentence_share = 0.0
    for source in best:
        title_terms, text_terms = _terms(source.title), _terms(source.text)
        title = set(title_terms)
        held_here = title | set(text_terms)
        present |= held_here
        raw += " " + " ".join(words(f"{source.title} {source.text}")).casefold() + " "
        pairs_here = set(pairwise([*title_terms, "", *text_terms]))  # "": no pair across
        pairs_seen |= pairs_here
        if pairs:
            pair_share = max(pair_share, len(pairs & pairs_here) / len(pairs))
        if wanted:
            passage_share = max(passage_share,
                                sum(1 for t in wanted if t in held_here) / len(wanted))
            for sentence in sentences_of(source):
                held = title | set(_terms(sentence))
                sentence_share = max(sentence_share,
                                     sum(1 for t in wanted if t in held) / len(wanted))
    total = sum(len(t) for t in wanted)
    term_share = sum(len(t) for t in wanted if t in present) / total if total else 0.0
    names = _names(question)
    covered = sum(1 for n in names if f" {n} " in raw)
    name_share = covered / len(names) if names else 1.0
    titles = [" " + " ".join(words(source.title)).casefold() + " " for source in best]
    titled = not names or any(f" {n} " in title for n in names for title in titles)
    return (term_share, name_share, float(covered == len(names)), sentence_share,
            passage_share, float(typed),
            len(pairs & pairs_seen) / len(pairs) if pairs else 1.0, pair_share if pairs else 1.0,
            float(titled))


def probability(values: Sequence[float]) -> float:
    """The model's probability that the passages answer."""
    z = BIAS + sum(w * v for w, v in zip(WEIGHTS, values, strict=True))
    return 1.0 / (1.0 + math.exp(-z))


def decide(question: str, sources: Sequence[Source], typed: bool) -> Decision:
    """Answer or abstain; no passages always abstains."""
    if not sources:
        return Decision(False, 0.0, (0.0,) * len(FEATURES))
    values = features(question, sources, typed)
    p = probability(values)
    return Decision(p >= THRESHOLD, p, values)


NOT_FOUND = "The documents don't say."


def closest_only(answer: Answer) -> Answer:
    """What is said when the documents do not answer: that they don't, and the passages
    ``answer`` cited named as the closest ones (its citations kept, as closest, not as
    support; no claims)."""
    if not answer.citations:
        return Answer(NOT_FOUND, [], ())
    first = {c.chunk_id: c for c in reversed(answer.citations)}  # each passage once
    closest = "; ".join(f"{c.title or c.id} [{c.number}]"
                        for c in sorted(first.values(), key=lambda c: c.number))
    return Answer(f"{NOT_FOUND} Closest passages: {closest}.", answer.citations, ())
