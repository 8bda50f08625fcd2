"""Find source files under the documents folder and read them into documents.

A bad file never stops a build: ``load_source`` turns every problem into a ``SkippedFile``
(for ``.jsonl``, one per bad line, and the good lines still load). ``.pdf`` and ``.docx`` files
are read by ``pdf.py`` and ``docx.py``; text files' bytes are decoded as strict
UTF-8 and JSON lines by ``graphready.text.loads_json``, so a document's text is always valid
Unicode (a ``\\ud800`` escape becomes U+FFFD, as in request bodies).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from graphready.documents.hashing import document_hash, file_hash
from graphready.documents.types import Document, SkippedFile, SourceFile
from graphready.text import loads_json

EXTENSIONS = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".jsonl", ".pdf", ".docx"})
"""The file extensions that are read (compared lower-cased)."""
BINARY_EXTENSIONS = frozenset({".pdf", ".docx"})
"""The extensions whose files are binary formats, read by a loader of their own (``pdf.py``,
``docx.py``, each importing its library only when such a file is loaded)."""

MAX_TITLE_CHARS = 120
"""Every document title is at most this long (:func:`clip_title`), whichever way it came: a
title stands before each of its chunks in prompts, so an unbounded one would make every
prompt of the document too long for the model."""
MAX_ID_CHARS = 512
"""A document id is 1 to this many characters, without control characters (:func:`id_problem`),
whether it came from a ``.jsonl`` line of the folder or over HTTP."""
BINARY_REASON = "not UTF-8 text (binary?)"
UNREADABLE_HASH_PREFIX = "unreadable:"
"""A ``SourceFile.file_hash`` that starts with this marks a file that could not be read while
scanning; ``load_source`` then reports why."""

_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.*[^ \t#\n]|.)[ \t#]*$", re.MULTILINE)
"""A Markdown heading line; the title is the text up to its last character that is not a space
or a closing ``#`` (greedy, so a long run of spaces is scanned once, not once per character)."""
_DROPPED_TAGS = ["script", "style", "noscript", "template"]
_BLOCK_TAGS_TEXT = """
    address article aside blockquote body dd details dialog div dl dt fieldset figcaption figure
    footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary table tbody
    td tfoot th thead tr ul caption title option
    """
_BLOCK_TAGS = frozenset(_BLOCK_TAGS_TEXT.split())


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What one source file gave: its documents, and what was skipped (whole file or lines)."""

    documents: list[Document] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)


def _is_hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def scan_folder(root: Path) -> list[SourceFile]:
    """Every readable-looking source file under ``root`` (recursively, sorted by relative path),
    skipping hidden files and folders and unknown extensions. A file that cannot be read gets a
    ``file_hash`` starting with ``UNREADABLE_HASH_PREFIX`` so that ``load_source`` reports it."""
    found: list[SourceFile] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            path = Path(dirpath) / name
            relative = path.relative_to(root)
            if _is_hidden(relative) or path.suffix.lower() not in EXTENSIONS:
                continue
            try:
                digest = file_hash(path.read_bytes())
            except OSError as exc:
                digest = f"{UNREADABLE_HASH_PREFIX}{exc.strerror or type(exc).__name__}"
            found.append(SourceFile(path=relative.as_posix(), file_hash=digest))
    found.sort(key=lambda s: s.path)
    return found


def load_source(root: Path, source: SourceFile) -> LoadResult:
    """Read ``source`` (a path relative to ``root``) into documents. Never raises for a bad
    file: an unreadable, binary or unparsable file is returned as skipped with the reason."""
    try:
        data = (root / source.path).read_bytes()
    except OSError as exc:
        reason = f"cannot read: {exc.strerror or exc}"
        return LoadResult(skipped=[SkippedFile(source.path, reason)])
    try:
        return _load_bytes(source.path, data)
    except Exception as exc:  # a parser bug must not stop the build
        reason = f"cannot load: {type(exc).__name__}: {exc}"
        return LoadResult(skipped=[SkippedFile(source.path, reason)])


def load_bytes(name: str, data: bytes) -> LoadResult:
    """Read the bytes of a file called ``name`` (its extension picks the loader; a single
    document's id is ``name``), as ``load_source`` reads a file of the folder: never raises."""
    try:
        return _load_bytes(name, data)
    except Exception as exc:  # a parser bug must not become a server error
        return LoadResult(skipped=[SkippedFile(name, f"cannot load: {type(exc).__name__}: {exc}")])


def _load_bytes(relpath: str, data: bytes) -> LoadResult:
    suffix = Path(relpath).suffix.lower()
    if suffix in BINARY_EXTENSIONS:
        return _load_binary(relpath, suffix, data)
    if b"\x00" in data:
        return LoadResult(skipped=[SkippedFile(relpath, BINARY_REASON)])
    if suffix == ".jsonl":
        return _load_jsonl(relpath, data)
    if suffix in (".html", ".htm"):
        return _load_html(relpath, data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return LoadResult(skipped=[SkippedFile(relpath, BINARY_REASON)])
    return LoadResult(documents=_single(relpath, _text_title(text, relpath), text))


def _load_binary(relpath: str, suffix: str, data: bytes) -> LoadResult:
    """A ``.pdf`` or ``.docx`` file; a file its reader refuses is skipped with the reason."""
    try:
        if suffix == ".pdf":
            from graphready.documents.pdf import read_pdf

            pdf = read_pdf(data)
            title = clip_title(pdf.title) if pdf.title else _first_line_title(pdf.text, relpath)
            return LoadResult(documents=_single(relpath, title, pdf.text, pdf.page_starts))
        from graphready.documents.docx import read_docx

        doc = read_docx(data)
        first = doc.title or doc.heading
        title = clip_title(first) if first else _first_line_title(doc.text, relpath)
        return LoadResult(documents=_single(relpath, title, doc.text))
    except ValueError as exc:
        return LoadResult(skipped=[SkippedFile(relpath, str(exc))])


def _single(relpath: str, title: str, text: str,
            pages: tuple[tuple[int, int], ...] = ()) -> list[Document]:
    stripped = text.strip()
    if not stripped:
        return []
    lead = len(text) - len(text.lstrip())
    pages = tuple((max(at - lead, 0), page) for at, page in pages)
    return [Document(relpath, title, stripped, relpath, document_hash(title, stripped), pages)]


def clip_title(title: str) -> str:
    """``title`` on one line, cut at a word near :data:`MAX_TITLE_CHARS` when longer."""
    title = " ".join(title.split())
    if len(title) <= MAX_TITLE_CHARS:
        return title
    cut = title[:MAX_TITLE_CHARS]
    space = cut.rfind(" ")
    return (cut[:space] if space > MAX_TITLE_CHARS // 2 else cut).rstrip()


def _text_title(text: str, relpath: str) -> str:
    """The first Markdown heading, else the first non-empty line, else the file stem."""
    heading = _HEADING.search(text)
    if heading and heading.group(1).strip():
        return clip_title(heading.group(1))
    return _first_line_title(text, relpath)


def _first_line_title(text: str, relpath: str) -> str:
    """The first non-empty line, else the file stem (for text that is not Markdown: a "# ..."
    line in a PDF is a code sample or a list, not a heading)."""
    for line in text.splitlines():
        if line.strip():
            return clip_title(line)
    return clip_title(Path(relpath).stem)


def _decode_html(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _html_text(root: LexborNode) -> str:
    """The text under ``root``, with block elements on lines of their own (iterative walk, so
    deeply nested markup cannot exhaust the stack)."""
    parts: list[str] = []
    stack: list[LexborNode | None] = [root]
    while stack:
        node = stack.pop()
        if node is None:
            parts.append("\n\n")
            continue
        tag = node.tag or ""
        if tag == "-text":
            parts.append(node.text_content or "")
            continue
        if tag.startswith("-") or tag.startswith("_"):
            continue
        if tag == "br":
            parts.append("\n")
        elif tag in _BLOCK_TAGS:
            parts.append("\n\n")
            stack.append(None)
        stack.extend(reversed(list(node.iter(include_text=True))))
    paragraphs = (" ".join(p.split()) for p in re.split(r"\n\s*\n", "".join(parts)))
    return "\n\n".join(p for p in paragraphs if p)


def _load_html(relpath: str, data: bytes) -> LoadResult:
    tree = LexborHTMLParser(_decode_html(data))
    tree.strip_tags(_DROPPED_TAGS)
    title = ""
    for selector in ("title", "h1"):
        node = tree.css_first(selector)
        if node is not None:
            title = clip_title(node.text(strip=True))
            if title:
                break
    body = tree.body if tree.body is not None else tree.root
    text = _html_text(body) if body is not None else ""
    return LoadResult(documents=_single(relpath, title or clip_title(Path(relpath).stem), text))


def id_problem(doc_id: str) -> str | None:
    """Why ``doc_id`` (already stripped) cannot be a document id, or None when it can."""
    if not doc_id or len(doc_id) > MAX_ID_CHARS:
        return f"an id needs 1 to {MAX_ID_CHARS} characters"
    if any(ord(c) < 32 or ord(c) == 127 for c in doc_id):
        return "the id holds control characters"
    return None


def _jsonl_record(obj: Any, relpath: str) -> Document:
    """One ``{"id", "title", "text"}`` object as a document; ValueError names the problem."""
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    raw_id = obj.get("id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
        raise ValueError("field 'id' is missing or not a string or integer")
    doc_id = str(raw_id).strip()
    problem = id_problem(doc_id)
    if problem is not None:
        raise ValueError(f"field 'id': {problem}")
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("field 'text' is missing, empty or not a string")
    title = obj.get("title")
    if title is not None and not isinstance(title, str):
        raise ValueError("field 'title' is not a string")
    title = clip_title(title or "") or clip_title(doc_id)
    text = text.strip()
    return Document(doc_id, title, text, relpath, document_hash(title, text))


def _load_jsonl(relpath: str, data: bytes) -> LoadResult:
    documents: list[Document] = []
    skipped: list[SkippedFile] = []
    first_line: dict[str, int] = {}
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        where = f"{relpath}:{number}"
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            skipped.append(SkippedFile(where, "line is not UTF-8 text"))
            continue
        try:
            doc = _jsonl_record(loads_json(line), relpath)
        except json.JSONDecodeError as exc:
            skipped.append(SkippedFile(where, f"invalid JSON: {exc.msg} (column {exc.colno})"))
            continue
        except (ValueError, RecursionError) as exc:
            skipped.append(SkippedFile(where, str(exc) or type(exc).__name__))
            continue
        if doc.id in first_line:
            reason = f"duplicate id {doc.id!r} (first on line {first_line[doc.id]})"
            skipped.append(SkippedFile(where, reason))
            continue
        first_line[doc.id] = number
        documents.append(doc)
    return LoadResult(documents=documents, skipped=skipped)
