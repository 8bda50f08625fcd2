"""The text of a PDF file, read with pypdf (imported here only, so it costs nothing until a
``.pdf`` is loaded).

Each page's text is extracted in content order; a vertical gap between two lines wider than a
line and a half becomes a paragraph break, and pages are joined with blank lines. What PDFs give
is then normalised: a word hyphenated across a line break is joined (``infor-\\nmation`` ->
``information``) unless the document spells it with the hyphen elsewhere (``well-known``), runs
of spaces are collapsed, and control characters dropped.

A file that cannot be read raises ``ValueError`` with the reason in words: encrypted with a
password, corrupt, over :data:`MAX_PDF_PAGES` pages, or without extractable text (scanned pages:
there is no OCR). pypdf bounds what one hostile file can cost (decompressed stream sizes, page
tree depth, content-stream parsing work); the page bound is ours.
"""

from __future__ import annotations

import io
import logging
import math
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphready.text import clean_text

if TYPE_CHECKING:
    from pypdf import PageObject, PdfReader

MAX_PDF_PAGES = 2000
"""A PDF with more pages than this is skipped, with the reason."""
MAX_PDF_STREAM_BYTES = 16 * 1024 * 1024
"""The most one stream of a PDF may decompress to (pypdf allows 75 MB): a page's text never
needs more, and it bounds what a small compressed file can make us hold and parse."""

ENCRYPTED_REASON = "encrypted PDF: it needs a password to open (send it without one)"
NO_TEXT_REASON = "no text in this PDF (scanned pages? OCR is not supported)"
PARAGRAPH_GAP = 1.6
"""A line that starts more than this many font sizes below the previous one opens a paragraph."""

_HYPHENATED = re.compile(r"\b(\w+)[-\u00ad\u2010][ \t]*\n[ \t]*(\w+)")
_HYPHENATED_WORD = re.compile(r"\b\w+-\w+")
"""Both start only at the start of a word (``\\b``): a match from inside a word would have
matched from its start, and trying each position of a long word costs its length squared."""
_WORD = re.compile(r"\w+")
_TOOL_TITLE = re.compile(
    r"^(?:microsoft (?:word|powerpoint|excel) - .*|untitled\b.*|[^ ]*\.(?:docx?|pdf|tex|dvi|rtf|"
    r"odt|pptx?|xlsx?|indd)|[a-z]:\\.*)$", re.IGNORECASE)
"""Metadata titles that a tool wrote rather than an author (the file's own name, "Untitled",
"Microsoft Word - report.docx"): the first line is a better title."""
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u3000]+")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u00ad]")
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True, slots=True)
class PdfText:
    """What a PDF gave: its metadata title (None when it has no usable one), its text and its
    number of pages; ``page_starts`` holds ``(offset, page)`` for each page with text: where
    in ``text`` that page (numbered from 1) begins, in order."""

    title: str | None
    text: str
    pages: int
    page_starts: tuple[tuple[int, int], ...] = ()


def read_pdf(data: bytes, max_pages: int = MAX_PDF_PAGES,
             max_cpu_s: float | None = None) -> PdfText:
    """The title and text of the PDF ``data``; ``ValueError`` with the reason when it cannot be
    read, holds no text, or takes more than ``max_cpu_s`` CPU seconds of this thread (None: no
    budget of its own; the server reads every file, PDFs included, in a child process under
    ``GRAPHREADY_PARSE_CPU_S``, ``documents/sandbox.py``; a 2,000-page report takes about 6 s,
    see benchmarks/document_formats.py)."""
    from pypdf import PdfReader, apply_configuration

    # pypdf logs a warning for every defect it works around: a hostile file can log thousands.
    # The skip reason says what matters, so only its errors reach the server's log.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    deadline = _Deadline(max_cpu_s)
    most = MAX_PDF_STREAM_BYTES
    with apply_configuration(
        zlib_maximum_output_length=most, lzw_maximum_output_length=most,
        run_length_maximum_output_length=most, brotli_maximum_output_length=most,
        array_based_stream_maximum_output_length=most,
    ), _reasons(deadline):
        reader = PdfReader(io.BytesIO(data))
        _open(reader)
        count = len(reader.pages)
        if count > max_pages:
            raise _Refused(f"PDF of {count} pages: over the maximum of {max_pages}")
        pages: list[str] = []
        for page in reader.pages:
            deadline.page = len(pages) + 1
            deadline.check()
            pages.append(_page_text(page, deadline))
            _release(page)
        title = _metadata_title(reader)
    text, starts = normalise_pages(pages)
    if not text:
        raise ValueError(NO_TEXT_REASON)
    return PdfText(title, text, count, starts)


class _Refused(Exception):
    """A reason of ours to skip the file, raised where pypdf's own errors are translated."""


class _Deadline:
    """The CPU time (of the reading thread) by which a PDF must be read; ``check`` raises
    ``_Refused`` after it. Checked before each page and every few hundred operators."""

    def __init__(self, budget: float | None) -> None:
        self.at = time.thread_time() + budget if budget is not None else math.inf
        self.budget = budget
        self.page = 0

    def check(self) -> None:
        if time.thread_time() > self.at:
            raise _Refused(f"PDF took over {self.budget:g} CPU seconds to read (stopped at "
                           f"page {self.page})")


@contextmanager
def _reasons(deadline: _Deadline) -> Iterator[None]:
    """Turn what pypdf raises on a file it cannot read into ``ValueError`` with the reason."""
    from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError

    try:
        yield
    except _Refused as exc:
        raise ValueError(str(exc)) from None
    except FileNotDecryptedError:
        raise ValueError(ENCRYPTED_REASON) from None
    except DependencyError as exc:
        raise ValueError(f"encrypted PDF that cannot be opened here: {exc}") from None
    except LimitReachedError as exc:
        where = f" (page {deadline.page})" if deadline.page else ""
        raise ValueError(f"PDF over one of the safety limits{where}: {_describe(exc)}") from None
    except Exception as exc:  # pypdf raises many kinds on damaged files
        raise ValueError(f"not a readable PDF: {_describe(exc)}") from None


def _open(reader: PdfReader) -> None:
    """Decrypt ``reader`` with the empty password (a PDF that only restricts printing or
    copying opens with it); ``FileNotDecryptedError`` when a password is needed."""
    from pypdf import PasswordType
    from pypdf.errors import FileNotDecryptedError

    if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
        raise FileNotDecryptedError("a password is needed")


def _describe(exc: BaseException) -> str:
    message = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _metadata_title(reader: PdfReader) -> str | None:
    try:
        metadata = reader.metadata
        title = metadata.title if metadata is not None else None
    except Exception:  # a damaged information dictionary only costs the title
        return None
    if not isinstance(title, str):
        return None
    title = " ".join(clean_text(_CONTROLS.sub("", title)).split())
    return title if title and not _TOOL_TITLE.match(title) else None


def _page_text(page: PageObject, deadline: _Deadline) -> str:
    """The text of one page, with a blank line where the next line starts well below the
    previous one (pypdf's own text keeps every line break but loses such gaps)."""
    parts: list[str] = []
    last: list[float] = []  # the baseline and font size of the latest text
    operators = [0]

    def count(operator: Any, operands: Any, cm: Any, tm: Any) -> None:
        operators[0] += 1
        if operators[0] % 256 == 0:
            deadline.check()

    def visit(text: str, cm: Any, tm: Any, font: Any, size: Any) -> None:
        if not text:
            return
        if text.strip():
            y, height = _position(cm, tm, size)
            starts_line = not parts or parts[-1].endswith("\n") or text.startswith("\n")
            if last and starts_line and _is_gap(last[0] - y, max(height, last[1])):
                parts.append("\n")
            last[:] = [y, height]
        parts.append(text)

    visitor: Callable[..., None] = visit
    page.extract_text(visitor_text=visitor, visitor_operand_before=count)
    return "".join(parts)


def _release(page: PageObject) -> None:
    """Drop the decompressed copies pypdf keeps of a page's content streams and form XObjects
    once its text is read, so that a file of many large pages holds one page at a time."""
    from pypdf.generic import EncodedStreamObject

    try:
        found: list[Any] = []
        contents = page.get("/Contents")
        if contents is not None:
            resolved = contents.get_object()
            found.extend(resolved if isinstance(resolved, list) else [resolved])
        resources = page.get("/Resources")
        xobjects = resources.get_object().get("/XObject") if resources is not None else None
        if xobjects is not None:
            found.extend(xobjects.get_object().values())
        for item in found:
            stream = item.get_object()
            if isinstance(stream, EncodedStreamObject):
                stream.decoded_self = None
    except Exception:  # best effort: a damaged dictionary only keeps its copy in memory
        return


def _position(cm: Any, tm: Any, size: Any) -> tuple[float, float]:
    """The baseline height on the page and the font's size there, from the current
    transformation matrix ``cm`` and the text matrix ``tm`` pypdf reports."""
    try:
        y = float(tm[4]) * float(cm[1]) + float(tm[5]) * float(cm[3]) + float(cm[5])
        scale = abs(float(tm[3]) * float(cm[3])) or abs(float(tm[0]) * float(cm[0])) or 1.0
        return y, abs(float(size)) * scale
    except (TypeError, ValueError, IndexError):
        return 0.0, 0.0


def _is_gap(drop: float, height: float) -> bool:
    """Whether a new line ``drop`` points below the previous one is a new paragraph: a gap
    wider than :data:`PARAGRAPH_GAP` lines, or a jump up the page (the next column)."""
    if height <= 0:
        return False
    return drop > PARAGRAPH_GAP * height or drop < -height


def normalise(text: str) -> str:
    """PDF text as plain paragraphs: hyphenated line breaks joined, spaces collapsed, lines
    trimmed, at most one blank line in a row, control characters dropped."""
    return _tidy(_dehyphenate(_lines(text)))


def normalise_pages(pages: Sequence[str]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The pages' texts normalised as one text (:func:`normalise`; pages joined by a blank
    line), and ``(offset, page)`` where each page with text begins in it (pages from 1)."""
    marker = "\x0c"  # a form feed: a control character, so no page's text keeps one
    joined = f"\n\n{marker}\n\n".join(page.replace(marker, " ") for page in pages)
    parts: list[str] = []
    starts: list[tuple[int, int]] = []
    offset = 0
    for number, part in enumerate(_dehyphenate(_lines(joined)).split(marker), 1):
        tidy = _tidy(part)
        if tidy:
            starts.append((offset, number))
            parts.append(tidy)
            offset += len(tidy) + 2
    return "\n\n".join(parts), tuple(starts)


def _lines(text: str) -> str:
    return clean_text(text).replace("\r\n", "\n").replace("\r", "\n")


def _tidy(text: str) -> str:
    text = _CONTROLS.sub("", text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _dehyphenate(text: str) -> str:
    """Join words split by a hyphen at a line end, unless the document writes the hyphenated
    form elsewhere on one line and never the joined one (then the hyphen is kept, and only the
    break goes)."""
    if "\n" not in text:
        return text
    hyphenated = {m.group(0).lower() for m in _HYPHENATED_WORD.finditer(text)}
    words = {w.lower() for w in _WORD.findall(text)} if hyphenated else set()

    def join(match: re.Match[str]) -> str:
        left, right = match.group(1), match.group(2)
        if not (left[-1].islower() and right[0].islower()):
            return f"{left}-{right}"  # "New-\nYork", "COVID-\n19": a real hyphen
        joined = f"{left}{right}"
        keep = f"{left}-{right}".lower() in hyphenated and joined.lower() not in words
        return f"{left}-{right}" if keep else joined

    return _HYPHENATED.sub(join, text)
