"""Hostile files for the tests and ``benchmarks/hostile_uploads.py``: small uploads that cost a
parser far more than their size (an element bomb of a ``.docx``, a Markdown heading line that a
backtracking pattern scans again and again, a PDF of one huge word, a ``.jsonl`` line with a
megabyte title)."""

from __future__ import annotations

import io
import json
import zipfile

import psutil

from graphready.documents.sandbox import CHILD_MODULE
from support.docx_files import docx_bytes
from support.pdf_files import pdf_bytes

SLOW_DOCX_ELEMENTS = 1_500_000
"""Empty paragraphs that take python-docx ~20 CPU seconds to read (under the DOCX bound)."""


def parser_children(pid: int | None = None) -> list[psutil.Process]:
    """The parser children (``documents/sandbox.py``) of process ``pid`` (this one by default;
    a server's build workers have children of their own, not counted)."""
    found = []
    for child in psutil.Process(pid).children():
        try:
            if CHILD_MODULE in child.cmdline():
                found.append(child)
        except psutil.Error:
            continue
    return found


def docx_elements(count: int, element: bytes = b"<w:p/>") -> bytes:
    """A real ``.docx`` (python-docx's own template) whose body holds ``count`` copies of
    ``element`` (an empty paragraph: one XML element each). It compresses about 200:1, so a
    million elements take ~45 KB."""
    template = zipfile.ZipFile(io.BytesIO(docx_bytes("Bomb", ["x"])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in template.infolist():
            data = template.read(info)
            if info.filename == "word/document.xml":
                head = data.partition(b"<w:body>")[0]
                data = head + b"<w:body>" + element * count + b"</w:body></w:document>"
            archive.writestr(info.filename, data)
    return out.getvalue()


def heading_markdown(spaces: int) -> bytes:
    """``# a``, ``spaces`` spaces, ``b``: a heading line that backtracking title patterns
    scan once per space."""
    return b"# a" + b" " * spaces + b"b\n\nBody text.\n"


def long_word_pdf(letters: int, line: int = 4000) -> bytes:
    """A PDF whose one page holds a single word of ``letters`` letters, split over lines of
    ``line`` letters, each but the last ending with a hyphen (de-hyphenation joins them)."""
    word = "x" * letters
    lines = [word[i:i + line] for i in range(0, letters, line)]
    text = "\n".join(f"{part}-" if i < len(lines) - 1 else part for i, part in enumerate(lines))
    return pdf_bytes([f"Words\n{text}"])


def long_title_jsonl(title_chars: int, line_chars: int) -> bytes:
    """A ``.jsonl`` file of one record whose title has ``title_chars`` characters and whose
    text is one line of ``line_chars``."""
    record = {"id": "long", "title": "t" * title_chars, "text": "word " * (line_chars // 5)}
    return json.dumps(record).encode() + b"\n"
