"""Secrets kept out of messages. A URL setting may carry a user name and password
(``http://user:secret@host/v1``) or a key in its query string, and an upstream server's error
may echo the URL it was sent; neither may reach a chat ``note``, ``/status``, an HTTP error or a
log line. :func:`redact_url` shortens one URL to scheme, host, port and path; :func:`redact`
does that to every URL in a text, and also removes the secret parts (password, query,
fragment) of the URLs it is given wherever they appear, so that an echo of a path with its
query (``/v1?key=...``) or of a bare password is caught too. :func:`redact_logs` makes every log
line go through it (the HTTP client logs each request's whole URL).

Linear time on any text: the one pattern has a bounded scheme and one repeat, and the rest is
string scanning.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import unquote

from graphready.config import Settings

HIDDEN = "***"
"""What a removed secret is replaced with (in the text, not in a URL: a URL just loses it)."""
MIN_SECRET_CHARS = 3
"""Shorter pieces of a URL are not searched for in texts (they would match ordinary words and
protect nothing)."""
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,31}://[^\s<>\"'`]*")
_TRAILING = ".,;:!?)]}"


def redact_url(url: str) -> str:
    """``url`` without its user name and password, query and fragment: ``scheme://host[:port]
    /path``. Whatever precedes the last ``@`` before the query is taken as credentials (a
    password may hold an unencoded ``/``)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    cut = len(rest)
    for mark in "?#":
        found = rest.find(mark)
        if 0 <= found < cut:
            cut = found
    rest = rest[:cut]
    return f"{scheme}://{rest.rpartition('@')[2]}"


def _secrets(url: str) -> set[str]:
    """The parts of ``url`` that must not appear in a message: its password (as written and
    decoded), its query and fragment, and each query value."""
    _, sep, rest = url.partition("://")
    if not sep:
        return set()
    pieces: set[str] = set()
    head, mark, tail = rest, "", ""
    for candidate in "?#":
        before, found, after = rest.partition(candidate)
        if found and len(before) < len(head):
            head, mark, tail = before, found, after
    userinfo, at, _ = head.rpartition("@")
    if at:
        user, colon, password = userinfo.partition(":")
        pieces.update((password, unquote(password)) if colon else (user, unquote(user)))
    if mark:
        pieces.add(tail)
        query, _, fragment = tail.partition("#") if mark == "?" else ("", "", tail)
        pieces.add(fragment)
        for pair in query.split("&"):
            value = pair.partition("=")[2]
            pieces.update((pair, value, unquote(value)))
    return {p for p in pieces if len(p) >= MIN_SECRET_CHARS}


def _url_match(match: re.Match[str]) -> str:
    found = match.group(0)
    core = found.rstrip(_TRAILING)
    return redact_url(core) + found[len(core):]


def redact(text: str, known: Iterable[str | None] = ()) -> str:
    """``text`` with every URL in it redacted (:func:`redact_url`) and every secret part of the
    ``known`` URLs (the configured ones) replaced by :data:`HIDDEN` wherever it appears."""
    text = _URL.sub(_url_match, text)
    secrets: set[str] = set()
    for url in known:
        if url:
            secrets |= _secrets(url)
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, HIDDEN)
    return text


def configured_urls(settings: Settings) -> tuple[str, ...]:
    """The URL settings that may hold credentials: the LLM's, the embedder's, the stores',
    the queue's, the reranker's."""
    urls = (settings.llm_base_url, settings.embed_base_url, settings.graph_url,
            settings.vector_url, settings.queue_url, settings.rerank_url)
    return tuple(u for u in urls if u)


class RedactingFilter(logging.Filter):
    """A log filter that rewrites each record's message with :func:`redact`, and its traceback
    and stack too (an exception's text often holds the URL it failed on)."""

    def __init__(self, known: Iterable[str]) -> None:
        super().__init__()
        self._known = tuple(known)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, self._known)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            # A formatter reuses ``exc_text`` when it is set, so the traceback is written once,
            # redacted, by every handler.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self._known)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self._known)
        return True


def redact_logs(settings: Settings) -> None:
    """Make every handler of the root logger redact what it writes (call it where logging is
    configured, after ``logging.basicConfig``)."""
    log_filter = RedactingFilter(configured_urls(settings))
    for handler in logging.getLogger().handlers:
        handler.addFilter(log_filter)
