"""Real Word ``.docx`` files for the tests, written by python-docx itself."""

from __future__ import annotations

import io
from collections.abc import Sequence


def docx_bytes(heading: str, paragraphs: Sequence[str],
               table: Sequence[Sequence[str]] = (), title: str | None = None,
               after: Sequence[str] = ()) -> bytes:
    """A document: a level-1 ``heading``, the ``paragraphs``, a ``table`` (rows of cells; none
    when empty), then the paragraphs ``after`` it; ``title`` in its core properties."""
    import docx

    document = docx.Document()
    if title is not None:
        document.core_properties.title = title
    if heading:
        document.add_heading(heading, level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=max(len(row) for row in table))
        for cells, row in zip(table, grid.rows, strict=True):
            for text, cell in zip(cells, row.cells, strict=False):
                cell.text = text
    for text in after:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
