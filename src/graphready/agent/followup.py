"""Follow-up questions: a question that refers to an earlier turn ("When did he die?", "What
about its successor?") is searched with what the conversation names.

A question needs its history when the conversation has earlier turns, the question refers with
a pronoun (he, she, it, they and their other forms), and it names nothing of its own (no entity
or document title the graph knows; without the graph, no capitalised word past its first).

Offline, each pronoun is replaced by a name of the earlier turns, most recent exchange first, the
user's question before the answer: "he" or "she" by the first person named (the graph's entity
types) whose passage calls them so, "it" by the first name that is not a person, "they" by the
first name; in an exchange where no name fits, one nothing is known of is taken; possessives
become "Name's".
With a language model, one short call rewrites the question instead (:func:`rewrite_messages`,
:func:`rewritten`); its reply is checked, and the offline rewrite stands in when it is unusable
or the model fails."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from graphready.llm.protocol import Message
from graphready.retrieval.graph_local import link_key
from graphready.retrieval.pipeline import Toolset
from graphready.retrieval.text import STOPWORDS, words
from graphready.stores.base import Catalog

HE, SHE, IT, THEY = "he", "she", "it", "they"
_PRONOUNS = {
    "he": (HE, False), "him": (HE, False), "himself": (HE, False), "his": (HE, True),
    "she": (SHE, False), "herself": (SHE, False), "hers": (SHE, True), "her": (SHE, None),
    "it": (IT, False), "itself": (IT, False), "its": (IT, True),
    "they": (THEY, False), "them": (THEY, False), "their": (THEY, True), "theirs": (THEY, True),
}
"""Pronoun -> (what it refers to, possessive: True, False, or None when the next word says)."""
PERSON_TYPES = frozenset({"PERSON", "PER"})
GENDERED = {"he": HE, "him": HE, "his": HE, "himself": HE,
            "she": SHE, "her": SHE, "hers": SHE, "herself": SHE}
MAX_REWRITE_CHARS = 300
REWRITE_SYSTEM = (
    "You rewrite the user's last question so that it can be understood without the "
    "conversation: replace each pronoun or reference to an earlier turn with the name it refers "
    "to, and change nothing else. Reply with the rewritten question alone, on one line.")
REWRITE_MAX_TOKENS = 80
SOURCES_LINE = "\n\nSources:"
"""Where an answer's list of sources begins (``/v1`` answers end with one)."""

Known = tuple[str | None, str | None]
"""What a passage tells of a name: its entity type (``PERSON``, ``GPE``...) and, for a person,
the pronoun its passage uses (``he``, ``she``); None when unknown."""
Describe = Callable[[str], Known]


def referring(question: str) -> list[str]:
    """The pronouns of ``question`` that refer to something named before, in order."""
    return [w for w in words(question) if w.casefold() in _PRONOUNS]


def _positioned(text: str) -> list[tuple[str, int]]:
    """The words of ``text`` with where each starts."""
    out, position = [], 0
    for token in words(text):
        start = text.find(token, position)
        position = start + len(token)
        out.append((token, start))
    return out


def _capitalised_names(text: str) -> list[str]:
    """Runs of capitalised words, each within one clause; a stop word that opens a sentence
    ("The", "When") is none."""
    names: list[str] = []
    run: list[str] = []
    previous_end = 0
    for token, start in [*_positioned(text), ("", len(text))]:
        gap = text[previous_end:start]
        opens = start == 0 or previous_end == 0 or any(mark in gap for mark in ".?!:\n")
        previous_end = start + len(token)
        if run and gap.strip():  # a run of names does not go on past punctuation
            names.append(" ".join(run))
            run = []
        if token[:1].isupper() and token.casefold() not in _PRONOUNS and token != "I" \
                and not (opens and token.casefold() in STOPWORDS):
            run.append(token)
            continue
        if run:
            names.append(" ".join(run))
        run = []
    return names


def names_in(text: str, tools: Toolset) -> list[str]:
    """The names ``text`` holds, in the order written: the graph's entities when it is loaded
    (runs of capitalised words besides them were measured to mislead more than they help:
    ``benchmarks/followup.py``), else runs of capitalised words."""
    if tools.graph is None:
        return _capitalised_names(text)
    found = [seed.name for seed in tools.graph.seeds(text).values()]
    folded = text.casefold()
    return sorted(found, key=lambda name: (folded.find(name.casefold()) % (len(text) + 1)))


def own_names(question: str, tools: Toolset) -> bool:
    """Whether ``question`` names something of its own."""
    if tools.graph is not None:
        return bool(tools.graph.seeds(question)) or tools.graph.titles_named(question) > 0
    return bool(_capitalised_names(" ".join(words(question)[1:])))


def needs_history(question: str, history: Sequence[Message], tools: Toolset) -> bool:
    """Whether ``question`` must be read with the conversation's earlier turns to be searched."""
    return bool(history) and bool(referring(question)) and not own_names(question, tools)


def _turn_text(message: Message) -> str:
    content = message.get("content")
    text = content if isinstance(content, str) else ""
    return text.split(SOURCES_LINE, 1)[0]


def _exchanges(history: Sequence[Message]) -> list[list[str]]:
    """The turns' texts, most recent exchange first, its user turn before its answer."""
    out: list[list[str]] = []
    for message in history:
        if message.get("role") == "user" or not out:
            out.append([])
        out[-1].append(_turn_text(message))
    return out[::-1]


def pronoun_of(text: str) -> str | None:
    """``he`` or ``she``, whichever a passage uses more (None: neither, or as often)."""
    counts = {HE: 0, SHE: 0}
    for word in words(text):
        kind = GENDERED.get(word.casefold())
        if kind is not None:
            counts[kind] += 1
    if counts[HE] == counts[SHE]:
        return None
    return HE if counts[HE] > counts[SHE] else SHE


def describer(tools: Toolset, catalog: Catalog | None) -> Describe:
    """What is known of a name, from a passage that mentions it (the keyword index finds one;
    the graph types the names in it; its pronouns, read from ``catalog``, tell a person's);
    unknown without the graph."""
    graph, keyword = tools.graph, tools.keyword
    if graph is None or keyword is None:
        return lambda name: (None, None)

    def describe(name: str) -> Known:
        key = link_key(name)
        for hit in keyword.search(name, 3):
            for named, kind in graph.typed_names_in(hit.chunk_id):
                if link_key(named) == key:
                    if kind not in PERSON_TYPES or catalog is None:
                        return kind, None
                    chunks = catalog.get_chunks([hit.chunk_id])
                    return kind, pronoun_of(chunks[0].text) if chunks else None
        return None, None
    return describe


def fits(kind: str, known: Known) -> bool | None:
    """Whether a pronoun of ``kind`` can name what is ``known`` (None: cannot tell)."""
    entity_type, pronoun = known
    if kind == THEY:
        return True
    if entity_type is None:
        return None
    if kind == IT:
        return entity_type not in PERSON_TYPES
    if entity_type not in PERSON_TYPES:
        return False
    return None if pronoun is None else pronoun == kind


def referent(kind: str, candidates: Sequence[str], describe: Describe) -> str | None:
    """The first of ``candidates`` that a pronoun of ``kind`` names; failing that, the first
    one it may name (what is known of it does not rule it out). Names are looked up one at a
    time, until one fits."""
    maybe = None
    for name in candidates:
        verdict = fits(kind, describe(name))
        if verdict:
            return name
        if verdict is None and maybe is None:
            maybe = name
    return maybe


def _possessive(word: str, following: str) -> bool:
    flag = _PRONOUNS[word.casefold()][1]
    if flag is not None:
        return flag
    return bool(following) and following.casefold() not in STOPWORDS


def substituted(question: str, names: dict[str, str]) -> str:
    """``question`` with each pronoun of a kind in ``names`` replaced by that name."""
    out, last = [], 0
    tokens = _positioned(question)
    for i, (token, start) in enumerate(tokens):
        kind = _PRONOUNS.get(token.casefold(), (None, False))[0]
        name = names.get(kind) if kind is not None else None
        if name is None:
            continue
        following = tokens[i + 1][0] if i + 1 < len(tokens) else ""
        out.append(question[last:start])
        out.append(f"{name}'s" if _possessive(token, following) else name)
        last = start + len(token)
    out.append(question[last:])
    return "".join(out)


def resolve(question: str, history: Sequence[Message], tools: Toolset,
            catalog: Catalog | None = None) -> str:
    """The question to search: ``question`` itself, or, when it needs its history, with its
    pronouns replaced by the names the earlier turns hold (unchanged when they hold none);
    ``catalog`` holds the passages whose pronouns tell a person's."""
    if not needs_history(question, history, tools):
        return question
    describe = describer(tools, catalog)
    kinds = dict.fromkeys(_PRONOUNS[w.casefold()][0] for w in referring(question))
    chosen: dict[str, str] = {}
    for exchange in _exchanges(history):
        candidates = [name for text in exchange for name in names_in(text, tools)]
        for kind in kinds:
            if kind not in chosen:
                name = referent(kind, candidates, describe)
                if name is not None:
                    chosen[kind] = name
        if len(chosen) == len(kinds):
            break
    return substituted(question, chosen) if chosen else question


def rewrite_messages(question: str, history: Sequence[Message]) -> tuple[Message, ...]:
    """The messages that ask a language model to make ``question`` stand alone."""
    return ({"role": "system", "content": REWRITE_SYSTEM},
            *({"role": m.get("role"), "content": _turn_text(m)} for m in history),
            {"role": "user", "content": question})


def rewritten(reply: str, question: str) -> str | None:
    """The question a model's rewrite ``reply`` holds: its first line, unquoted; None when it
    is empty, too long, or no question at all."""
    line = next((part.strip() for part in reply.strip().splitlines() if part.strip()), "")
    line = line.strip('"“”').strip()
    if not line or len(line) > max(MAX_REWRITE_CHARS, 3 * len(question)):
        return None
    return line
