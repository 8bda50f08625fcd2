"""The text of a Word ``.docx`` file, read with python-docx (imported here only, so it costs
nothing until a ``.docx`` is loaded).

Paragraphs and tables are read in document order: each paragraph (a heading included) is a
paragraph of the text, each table row one line with its cells separated by `` | `` (a cell
merged across columns counted once, a table inside a cell read into it). Headers, footers,
footnotes, comments, text boxes and images are not read.

A file that is not a Word document (a corrupt zip, an old binary ``.doc`` renamed, another
Office file) raises ``ValueError`` with the reason in words. A zip whose parts would expand to
more than :data:`MAX_UNPACKED_BYTES` (a zip bomb) is refused before anything is unpacked, and
one whose XML parts hold more than :data:`MAX_XML_ELEMENTS` elements (an element bomb: a few
hundred kilobytes can hold tens of millions, each a node of the tree python-docx builds) before
anything is parsed. What a file within these bounds costs is bounded by the parse budgets of
``documents/sandbox.py``, in which uploads and the documents stage read every file.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from graphready.text import clean_text

if TYPE_CHECKING:
    from docx.document import Document
    from docx.table import Table, _Cell
    from docx.text.paragraph import Paragraph

MAX_UNPACKED_BYTES = 256 * 1024 * 1024
"""The most the parts of a ``.docx`` may add up to, unpacked."""
MAX_XML_ELEMENTS = 2_000_000
"""The most XML elements the XML parts of a ``.docx`` may hold together (counted as the ``<``
that open a tag, streamed out of the zip before anything is parsed). A file at the maximum
peaks near 500 MiB and takes python-docx 15 to 25 CPU seconds to read (measured on 2 cores;
empty paragraphs are the worst case), within the default parse budgets of
``documents/sandbox.py``; a 1,000-page report has a few hundred thousand."""
_XML_SUFFIXES = (".xml", ".rels")
_COUNT_CHUNK = 1 << 20
MAX_TABLE_DEPTH = 8
"""Tables nested deeper than this inside table cells are not read."""
NOT_DOCX_REASON = "not a readable DOCX (only .docx is read, not the older .doc)"


@dataclass(frozen=True, slots=True)
class DocxText:
    """What a ``.docx`` gave: its core-properties title, its first heading (None when it has
    none), and its text."""

    title: str | None
    heading: str | None
    text: str


def read_docx(data: bytes, max_unpacked: int = MAX_UNPACKED_BYTES,
              max_elements: int = MAX_XML_ELEMENTS) -> DocxText:
    """The title, first heading and text of the ``.docx`` ``data``; ``ValueError`` with the
    reason when it is not one, would unpack to more than ``max_unpacked`` bytes, or holds more
    than ``max_elements`` XML elements."""
    _check_zip(data, max_unpacked, max_elements)
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
        blocks: list[str] = []
        heading: str | None = None
        styles = _StyleNames(document)
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                blocks.extend(_rows(item, 0))
                continue
            text = _line(item.text)
            if text:
                blocks.append(text)
                if heading is None and styles.is_heading(item):
                    heading = text
        title = _line(document.core_properties.title or "") or None
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError) as exc:
        raise ValueError(f"{NOT_DOCX_REASON}: {_describe(exc)}") from None
    except ValueError as exc:  # python-docx: "file ... is not a Word file, content type is ..."
        raise ValueError(f"{NOT_DOCX_REASON}: {_describe(exc)}") from None
    return DocxText(title, heading, "\n\n".join(blocks))


def _check_zip(data: bytes, max_unpacked: int, max_elements: int) -> None:
    """Refuse what is not a zip, a zip that would unpack to more than ``max_unpacked`` bytes,
    and one whose XML parts hold more than ``max_elements`` elements."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
            if unpacked > max_unpacked:
                raise _TooLarge(f"DOCX that unpacks to {unpacked:,} bytes: over the maximum "
                                f"of {max_unpacked:,}")
            _count_elements(archive, max_elements)
    except _TooLarge as exc:
        raise ValueError(str(exc)) from None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error) as exc:
        raise ValueError(f"{NOT_DOCX_REASON}: {_describe(exc)}") from None


class _TooLarge(Exception):
    """A bound of ours that the file is over (the message says which)."""


def _count_elements(archive: zipfile.ZipFile, most: int) -> None:
    """``_TooLarge`` once the XML parts of ``archive`` hold more than ``most`` elements: each
    ``<`` that opens a tag (not ``</``) is one, counted a chunk at a time as the parts are
    unpacked (a tag split across two chunks may be missed: an error of one per megabyte)."""
    count = 0
    for info in archive.infolist():
        if not info.filename.lower().endswith(_XML_SUFFIXES):
            continue
        with archive.open(info) as part:
            while chunk := part.read(_COUNT_CHUNK):
                count += chunk.count(b"<") - chunk.count(b"</")
                if count > most:
                    raise _TooLarge(f"DOCX whose XML holds over {most:,} elements, the "
                                    f"maximum (reached in {info.filename})")


def _describe(exc: BaseException) -> str:
    message = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _line(text: str) -> str:
    """``text`` on one line: runs of whitespace (line breaks and tabs too) as one space."""
    return " ".join(clean_text(text).replace("\x00", "").split())


class _StyleNames:
    """The names of a document's paragraph styles, read once: python-docx's ``paragraph.style``
    looks the default style up among all of them on every call (~3 ms a paragraph)."""

    def __init__(self, document: Document) -> None:
        from docx.enum.style import WD_STYLE_TYPE

        self._names: Mapping[str, str] = {}
        self._default = ""
        try:
            styles = document.styles
            self._names = {s.style_id: s.name or "" for s in styles
                           if s.type == WD_STYLE_TYPE.PARAGRAPH and s.style_id}
            default = styles.default(WD_STYLE_TYPE.PARAGRAPH)
            self._default = (default.name or "") if default is not None else ""
        except (KeyError, ValueError, AttributeError):
            return

    def is_heading(self, paragraph: Paragraph) -> bool:
        """Whether ``paragraph``'s style is a heading or the title."""
        style_id = paragraph._p.style
        name = self._names.get(style_id, self._default) if style_id else self._default
        return name.lower().startswith(("heading", "title"))


def _rows(table: Table, depth: int) -> Iterator[str]:
    """One line per row of ``table``: its cells' text joined by `` | ``."""
    for row in table.rows:
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # a cell merged across columns comes once per column
                continue
            seen.add(id(cell._tc))
            text = _cell_text(cell, depth)
            if text:
                cells.append(text)
        if cells:
            yield " | ".join(cells)


def _cell_text(cell: _Cell, depth: int) -> str:
    from docx.table import Table

    parts: list[str] = []
    for item in cell.iter_inner_content():
        if isinstance(item, Table):
            if depth < MAX_TABLE_DEPTH:
                parts.extend(_rows(item, depth + 1))
        else:
            parts.append(_line(item.text))
    return " ".join(p for p in parts if p)
