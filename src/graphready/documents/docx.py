"""The text of a Word ``.docx`` file, read with python-docx (imported here only, so it costs
nothing until a ``.docx`` is loaded).

Paragraphs and tables are read in document order: each paragraph (a heading included) is a
paragraph of the text, each table row one line with its cells separated by `` | `` (a cell
merged across columns counted once, a table inside a cell read into it). Headers, footers,
footnotes, comments, text boxes and images are not read.

A file that is not a Word document (a corrupt zip, an old binary ``.doc`` renamed, another
Office file) raises ``ValueError`` with the reason in words. A zip whose parts would expand to
more than :data:`MAX_UNPACKED_BYTES` (a zip bomb) is refused before anything is unpacked.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from graphready.text import clean_text

if TYPE_CHECKING:
    from docx.table import Table, _Cell
    from docx.text.paragraph import Paragraph

MAX_UNPACKED_BYTES = 256 * 1024 * 1024
"""The most the parts of a ``.docx`` may add up to, unpacked."""
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


def read_docx(data: bytes, max_unpacked: int = MAX_UNPACKED_BYTES) -> DocxText:
    """The title, first heading and text of the ``.docx`` ``data``; ``ValueError`` with the
    reason when it is not one, or would unpack to more than ``max_unpacked`` bytes."""
    _check_zip(data, max_unpacked)
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
        blocks: list[str] = []
        heading: str | None = None
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                blocks.extend(_rows(item, 0))
                continue
            text = _line(item.text)
            if text:
                blocks.append(text)
                if heading is None and _is_heading(item):
                    heading = text
        title = _line(document.core_properties.title or "") or None
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError) as exc:
        raise ValueError(f"{NOT_DOCX_REASON}: {_describe(exc)}") from None
    except ValueError as exc:  # python-docx: "file ... is not a Word file, content type is ..."
        raise ValueError(f"{NOT_DOCX_REASON}: {_describe(exc)}") from None
    return DocxText(title, heading, "\n\n".join(blocks))


def _check_zip(data: bytes, max_unpacked: int) -> None:
    """Refuse what is not a zip, and a zip that would unpack to more than the bound."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ValueError(f"{NOT_DOCX_REASON}: {_describe(exc)}") from None
    if unpacked > max_unpacked:
        raise ValueError(f"DOCX that unpacks to {unpacked:,} bytes: over the maximum of "
                         f"{max_unpacked:,}")


def _describe(exc: BaseException) -> str:
    message = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _line(text: str) -> str:
    """``text`` on one line: runs of whitespace (line breaks and tabs too) as one space."""
    return " ".join(clean_text(text).replace("\x00", "").split())


def _is_heading(paragraph: Paragraph) -> bool:
    try:
        name = paragraph.style.name if paragraph.style is not None else ""
    except (KeyError, ValueError, AttributeError):
        return False
    return (name or "").lower().startswith(("heading", "title"))


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
