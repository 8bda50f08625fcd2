"""Pure text normalisation for extraction: the key that mentions merge on, and the filters that
decide which phrases (and which document titles) are worth keeping as graph entities."""

from __future__ import annotations

import re

MIN_KEY_CHARS = 2
MAX_KEY_CHARS = 80

DETERMINERS = frozenset({"the", "a", "an"})

PRONOUNS = frozenset({
    "i", "me", "my", "mine", "myself", "we", "us", "our", "ours", "ourselves",
    "you", "your", "yours", "yourself", "yourselves", "he", "him", "his", "himself",
    "she", "her", "hers", "herself", "it", "its", "itself", "they", "them", "their",
    "theirs", "themselves", "this", "that", "these", "those", "who", "whom", "whose",
    "which", "what", "whatever", "whoever", "one", "ones", "someone", "somebody",
    "something", "anyone", "anybody", "anything", "everyone", "everybody", "everything",
    "nobody", "nothing", "none", "each", "other", "others", "another", "both", "all",
})

STOPWORDS = PRONOUNS | DETERMINERS | frozenset({
    "and", "or", "but", "nor", "of", "in", "on", "at", "to", "for", "from", "by", "with",
    "as", "into", "onto", "about", "over", "under", "after", "before", "between", "than",
    "then", "there", "here", "when", "where", "why", "how", "some", "any", "many", "much",
    "more", "most", "few", "less", "least", "such", "same", "own", "very", "so", "too",
    "also", "only", "just", "not", "no", "yes", "is", "are", "was", "were", "be", "been",
    "being", "have", "has", "had", "do", "does", "did", "will", "would", "shall", "should",
    "can", "could", "may", "might", "must", "if", "while", "during", "until", "since",
    "up", "down", "out", "off", "again", "once", "first", "last", "time", "times", "way",
    "lot", "lots", "kind", "sort", "part", "thing", "things", "etc", "s", "st",
})

_TRANSLATION = str.maketrans({"’": "'", "‘": "'", "`": "'", "(": " ", ")": " ", "[": " ",
                              "]": " ", "{": " ", "}": " "})
_WHITESPACE = re.compile(r"\s+")
_EDGE_PUNCT = re.compile(r"^[\W_]+|(?<![\W_])[\W_]+$")
"""Punctuation at either end; the lookbehind starts the second branch only at the first mark of
a run, so a long run in mid-text is scanned once, not once per mark (same matches)."""
_POSSESSIVE = re.compile(r"'s$")
_SPACED_APOSTROPHE = re.compile(r"(?<!\s)\s+'(?=s\b)")
"""Spaces before a possessive ``'s``, matched from the first space of a run only."""
_WORD = re.compile(r"[^\W_]+")
_HEX_ID = re.compile(r"^[0-9a-f]{8,}$|^[0-9a-f-]{16,}$", re.IGNORECASE)
_FILE_NAME = re.compile(r"\.[A-Za-z0-9]{1,5}$")


def _strip_edges(text: str) -> str:
    return _EDGE_PUNCT.sub("", text)


def entity_key(name: str) -> str:
    """The normalised form mentions merge on: casefolded, whitespace collapsed, punctuation
    stripped at both ends and brackets removed, a possessive ``'s`` and leading determiners
    (the/a/an) dropped."""
    text = _WHITESPACE.sub(" ", name.translate(_TRANSLATION).casefold()).strip()
    text = _strip_edges(_SPACED_APOSTROPHE.sub("'", text))
    text = _POSSESSIVE.sub("", text)
    text = _strip_edges(text)
    words = text.split(" ")
    while len(words) > 1 and words[0] in DETERMINERS:
        words = words[1:]
    return _strip_edges(" ".join(words))


def strip_determiners(text: str) -> str:
    """``text`` without leading determiners (the/a/an) and surrounding whitespace, case kept."""
    words = _WHITESPACE.sub(" ", text).strip().split(" ")
    while len(words) > 1 and words[0].casefold() in DETERMINERS:
        words = words[1:]
    return " ".join(words)


def is_worth_keeping(key: str) -> bool:
    """Whether a normalised phrase can be an entity: 2 to 80 characters, with at least one
    letter and at least one word that is not a stopword or pronoun."""
    if not MIN_KEY_CHARS <= len(key) <= MAX_KEY_CHARS:
        return False
    if not any(ch.isalpha() for ch in key):
        return False
    words = _WORD.findall(key)
    return any(w not in STOPWORDS and not w.isdigit() for w in words)


def is_meaningful_title(title: str) -> bool:
    """Whether a document title names something (a title like ``Lambert, Margrave of Tuscany``
    or ``Teutberga``), rather than being a file name, a path or an id/hash."""
    text = title.strip()
    if not text or "/" in text or "\\" in text or _HEX_ID.match(text):
        return False
    if _FILE_NAME.search(text) and " " not in text:
        return False
    if not any(ch.isalpha() for ch in text):
        return False
    if " " in text:
        return is_worth_keeping(entity_key(text))
    return text[0].isupper() and text[1:].replace("-", "").isalpha() and len(text) >= 2
