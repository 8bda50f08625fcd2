"""Plain text of a line of Markdown (pure): what a reader should see when a sentence of a
document is quoted. Heading marks, block quotes and list markers at the start go; emphasis,
inline code and links keep their text (``[ENIAC](https://...)`` reads "ENIAC"). Every pattern is
linear: no nested or adjacent unbounded repeats over the same characters, so a hostile line
costs time in proportion to its length."""

from __future__ import annotations

import re

_LEADING = re.compile(r"(?<![ \t])[ \t]*(?:#{1,6}[ \t]+|>[ \t]?|[-*+][ \t]+|\d{1,3}[.)][ \t]+)")
"""Used with ``match`` (at a line's start, where the lookbehind always holds); the lookbehind
lets a search start only at the first blank of a run, so it stays linear too."""
_IMAGE_OR_LINK = re.compile(
    r"!?\[([^\[\]\n]{0,500})\]"  # [text] or ![alt], then (url) or (url "title")
    r"\([^()\s]{0,2000}(?:\([^()\s]{0,500}\)[^()\s]{0,500})?(?:[ \t]+\"[^\"\n]{0,500}\")?\)")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^<>\s]{1,2000})>")
_CODE = re.compile(r"`([^`\n]+)`")
_STRONG = re.compile(r"(?<![\w*])\*\*(?=[^\s*])([^*\n]+)(?<=\S)\*\*(?![\w*])"
                     r"|(?<![\w_])__(?=[^\s_])([^_\n]+)(?<=\S)__(?![\w_])")
_EMPHASIS = re.compile(r"(?<![\w*])\*(?=[^\s*])([^*\n]+)(?<=\S)\*(?![\w*])"
                       r"|(?<![\w_])_(?=[^\s_])([^_\n]+)(?<=\S)_(?![\w_])")
_SYNTAX = re.compile(r"[*_`\[<]")
"""A character that inline syntax needs: a line without one (most lines) skips those patterns."""
_MAX_LEADING = 3
"""Leading marks removed at most (``> - ## x`` has three)."""


def _inner(match: re.Match[str]) -> str:
    return next(g for g in match.groups() if g is not None)


def plain(text: str) -> str:
    """``text`` (one line of Markdown, or plain text) without its Markdown syntax, its
    whitespace normalised. Plain text passes unchanged but for the whitespace."""
    for _ in range(_MAX_LEADING):
        lead = _LEADING.match(text)
        if lead is None or not lead.end():
            break
        text = text[lead.end():]
    if _SYNTAX.search(text):
        text = _IMAGE_OR_LINK.sub(r"\1", text)
        text = _AUTOLINK.sub(r"\1", text)
        text = _CODE.sub(r"\1", text)
        text = _STRONG.sub(_inner, text)
        text = _EMPHASIS.sub(_inner, text)
    return " ".join(text.split())
