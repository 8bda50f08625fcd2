"""Pure, sentence-aware chunking: split text into sentences with regular expressions (fast, no
language model), then pack whole sentences into chunks of at most ``max_chars`` characters."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from graphready.documents.hashing import chunk_id
from graphready.documents.types import Chunk, Document

_ABBREVIATIONS_TEXT = """
    mr mrs ms dr prof sr jr st mt ft rev hon gen col lt sgt capt cmdr adm gov sen rep pres
    vs etc al approx ca cf esp fig figs no nos vol vols ed eds pp p op repr trans
    inc ltd co corp bros dept univ assn est
    jan feb mar apr jun jul aug sep sept oct nov dec
    e.g i.e a.m p.m
    """
_ABBREVIATIONS = frozenset(_ABBREVIATIONS_TEXT.split())
"""Words that end in a period without ending a sentence (compared lower-cased, no final dot)."""

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
_BLOCK_LINE = re.compile(r"\n(?=[ \t]*(?:#{1,6}\s|[-*+>|]\s|\d{1,3}[.)]\s))")
_HEADING_LINE = re.compile(r"^[ \t]*#{1,6}\s[^\n]*\n", re.MULTILINE)
_CANDIDATE_END = re.compile(r"(?<![.!?…。！？])[.!?…。！？]+[\"'”’»)\]]*\s+")
"""Sentence-ending punctuation, closing quotes and the space after; it starts only at the first
mark of a run (the lookbehind), so a long run of dots is scanned once, not once per dot."""
_OPENERS = "\"'“‘«([¿¡"
_HEADING_MARK = re.compile(r"(?<![ \t])[ \t]*#{1,6}\s")
_LIST_MARK = re.compile(r"(?<![ \t])[ \t]*(?:[-*+>|]\s|\d{1,3}[.)]\s)")
"""Used with ``match`` (at a line's start, where the lookbehind always holds); the lookbehind
lets a search start only at the first blank of a run, so it stays linear too."""
_CLOSING = (".", "!", "?", "…", ":", ";", '"', "'", "”", "’", "»", ")", "]", "。", "！", "？")
TITLE_WORDS = 12
"""A line of at most this many words without closing punctuation is a title or a heading."""
_DOTTED_ABBREVIATION = re.compile(r"^(?:[^\W\d_]\.)+[^\W\d_]?$")


def _normalise(text: str) -> str:
    return " ".join(text.split())


def _blocks(text: str) -> list[str]:
    """Paragraphs, headings and list items: units that always end a sentence."""
    text = _HEADING_LINE.sub(lambda m: m.group(0) + "\n", text.replace("\r\n", "\n"))
    blocks: list[str] = []
    for paragraph in _PARAGRAPH_BREAK.split(text):
        blocks.extend(_BLOCK_LINE.split(paragraph))
    return [b for b in (_normalise(b) for b in blocks) if b]


def _is_abbreviation(before: str) -> bool:
    """Whether the word just before a period (``before`` ends at the period) is an
    abbreviation or an initial rather than the end of a sentence."""
    words = before.rsplit(None, 1)
    word = words[-1].lstrip(_OPENERS) if words else ""
    if not word:
        return False
    if len(word) == 1 and word.isalpha():
        return True
    return word.lower() in _ABBREVIATIONS or bool(_DOTTED_ABBREVIATION.match(word))


def _next_starts_sentence(text: str, pos: int) -> bool:
    """Whether the text at ``pos`` looks like the start of a sentence (not a lower-case word)."""
    i = pos
    while i < len(text) and text[i] in _OPENERS:
        i += 1
    return i < len(text) and not text[i].islower()


def _stripped(block: str, start: int, end: int) -> tuple[int, int] | None:
    """The span ``start:end`` of ``block`` without its surrounding whitespace (None if blank)."""
    piece = block[start:end]
    text = piece.strip()
    if not text:
        return None
    first = start + len(piece) - len(piece.lstrip())
    return first, first + len(text)


def _sentence_spans(block: str) -> list[tuple[int, int]]:
    """Where the sentences of one block are: ``(start, end)`` offsets into ``block``."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _CANDIDATE_END.finditer(block):
        punct = match.group(0).rstrip()
        if not _next_starts_sentence(block, match.end()):
            continue
        if punct.startswith(".") and len(punct.rstrip("\"'”’»)]")) == 1 and _is_abbreviation(
            block[start:match.start()]
        ):
            continue
        span = _stripped(block, start, match.end())
        if span is not None:
            spans.append(span)
        start = match.end()
    tail = _stripped(block, start, len(block))
    if tail is not None:
        spans.append(tail)
    return spans


def _split_block(block: str) -> list[str]:
    return [block[start:end] for start, end in _sentence_spans(block)]


def _block_sentences(text: str) -> list[tuple[str, bool]]:
    """Sentences, each flagged when it starts a block (paragraph, heading, list item)."""
    return [(sentence, i == 0) for block in _blocks(text)
            for i, sentence in enumerate(_split_block(block))]


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence of a chunk's text, ``text`` being ``chunk_text[start:end]``. ``heading`` marks
    a line that names a part of the text rather than saying something (a Markdown heading, the
    passage's title, a short line without closing punctuation that is not a list item): it is
    not a sentence to quote."""

    start: int
    end: int
    text: str
    heading: bool


def _is_heading(line: str, spans: Sequence[tuple[int, int]], title: str) -> bool:
    if _HEADING_MARK.match(line):
        return True
    if len(spans) != 1 or _LIST_MARK.match(line):
        return False
    words = line.split()
    if title and [w.casefold() for w in words] == [w.casefold() for w in title.split()]:
        return True
    return len(words) <= TITLE_WORDS and not line.rstrip().endswith(_CLOSING)


def chunk_sentences(text: str, title: str = "") -> list[Sentence]:
    """The sentences of a chunk's text, with where each is in it. A chunk joins the blocks of
    its document (paragraphs, headings, list items) with line breaks (:func:`chunk_document`),
    so each line is a block, split as :func:`split_sentences` splits one; a title line without
    a period is never glued to the sentence after it. ``title`` is the passage's title: a line
    that repeats it is a heading. A list item's first sentence starts after its marker."""
    out: list[Sentence] = []
    offset = 0
    for line in text.split("\n"):
        spans = _sentence_spans(line)
        heading = _is_heading(line, spans, title)
        marker = _LIST_MARK.match(line)
        if marker and spans and marker.end() < spans[0][1]:
            spans[0] = (marker.end(), spans[0][1])  # a list item's sentence, not its marker
        out.extend(Sentence(offset + start, offset + end, line[start:end], heading)
                   for start, end in spans)
        offset += len(line) + 1
    return out


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences, each with its whitespace normalised.

    Paragraph breaks, Markdown headings and list items always end a sentence. Inside a
    paragraph a sentence ends at ``.``, ``!`` or ``?`` (plus closing quotes or brackets)
    followed by whitespace and a character that is not a lower-case letter, unless the word
    before a single period is a known abbreviation ("Dr."), an initial ("J.") or a dotted
    abbreviation ("U.S.", "e.g."). Decimals ("3.14") never split because no space follows.
    """
    return [s for block in _blocks(text) for s in _split_block(block)]


def _split_long(sentence: str, max_chars: int) -> list[str]:
    """Split one over-long sentence at word boundaries (a word longer than ``max_chars`` is
    cut) into pieces of at most ``max_chars`` characters."""
    pieces: list[str] = []
    current = ""
    for word in sentence.split(" "):
        while len(word) > max_chars:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(word[:max_chars])
            word = word[max_chars:]
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= max_chars:
            current = f"{current} {word}"
        else:
            pieces.append(current)
            current = word
    if current:
        pieces.append(current)
    return pieces


def _joined_len(units: Sequence[str], start: int, end: int) -> int:
    return sum(len(u) for u in units[start:end]) + max(0, end - start - 1)


def _join(units: Sequence[str], starts: Sequence[bool]) -> str:
    """Sentences joined by a space, or by a line break where a new block starts."""
    out = units[0] if units else ""
    for unit, new_block in zip(units[1:], starts[1:], strict=True):
        out += ("\n" if new_block else " ") + unit
    return out


def _pack(units: Sequence[str], max_chars: int, overlap: int,
          starts: Sequence[bool] | None = None) -> list[str]:
    """Greedily pack ``units`` (each at most ``max_chars``) into texts of at most ``max_chars``;
    consecutive texts share up to ``overlap`` units, fewer where the overlap would leave no room
    for a new unit, so every text makes progress."""
    texts: list[str] = []
    start = 0
    while start < len(units):
        end = start + 1
        while end < len(units) and _joined_len(units, start, end + 1) <= max_chars:
            end += 1
        flags = starts[start:end] if starts is not None else [False] * (end - start)
        texts.append(_join(units[start:end], flags))
        if end >= len(units):
            break
        nxt = max(end - overlap, start + 1)
        while nxt < end and _joined_len(units, nxt, end + 1) > max_chars:
            nxt += 1
        start = nxt
    return texts


def chunk_document(doc: Document, max_chars: int, overlap_sentences: int) -> list[Chunk]:
    """Cut ``doc`` into chunks of whole sentences, each at most ``max_chars`` characters.

    A document whose normalised text fits in ``max_chars`` gives exactly one chunk with that
    text; empty text gives none. A sentence longer than ``max_chars`` is split at word
    boundaries. Consecutive chunks share ``overlap_sentences`` sentences (fewer when sharing
    them would leave no room). A document with pages (a PDF) is chunked page by page, so each
    chunk is on one page (``Chunk.page``). Chunk ids come from ``hashing.chunk_id``.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be positive, got {max_chars}")
    if overlap_sentences < 0:
        raise ValueError(f"overlap_sentences must be >= 0, got {overlap_sentences}")
    ends = [at for at, _ in doc.pages[1:]] + [len(doc.text)]
    parts: list[tuple[int | None, str]] = [
        (page, doc.text[at:end]) for (at, page), end in zip(doc.pages, ends, strict=True)
    ] if doc.pages else [(None, doc.text)]
    texts = [(page, text) for page, part in parts
             for text in _chunk_texts(part, max_chars, overlap_sentences)]
    return [
        Chunk(id=chunk_id(doc.id, i, text), doc_id=doc.id, ordinal=i, title=doc.title,
              text=text, page=page)
        for i, (page, text) in enumerate(texts)
    ]


def _chunk_texts(text: str, max_chars: int, overlap_sentences: int) -> list[str]:
    whole = "\n".join(_blocks(text))
    if not whole:
        return []
    if len(whole) <= max_chars:
        return [whole]
    pieces = [(p, new_block and j == 0) for s, new_block in _block_sentences(text)
              for j, p in enumerate(_split_long(s, max_chars))]
    return _pack([p for p, _ in pieces], max_chars, overlap_sentences,
                 [flag for _, flag in pieces])
