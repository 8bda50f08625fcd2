"""Word ``.docx`` files written by python-docx, read from the folder and as uploads: paragraphs and
tables in document order, titles, and the reasons to skip one."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from graphready.documents.docx import NOT_DOCX_REASON, read_docx
from graphready.documents.hashing import file_hash
from graphready.documents.intake import from_file
from graphready.documents.loaders import load_bytes, load_source
from graphready.documents.types import SourceFile
from graphready.errors import InvalidRequest
from support.docx_files import docx_bytes

TABLE = [["River", "Otters"], ["Dee", "42"], ["Wye", ""]]


def test_paragraphs_and_table_rows_come_in_document_order(tmp_path: Path) -> None:
    data = docx_bytes("Otter survey", ["The  survey\tcounted otters.", "", "Herons too."],
                      TABLE, after=["After the table."])
    (tmp_path / "survey.docx").write_bytes(data)
    [doc] = load_source(tmp_path, SourceFile("survey.docx", file_hash(data))).documents
    assert (doc.id, doc.title) == ("survey.docx", "Otter survey")
    assert doc.text == ("Otter survey\n\nThe survey counted otters.\n\nHerons too.\n\n"
                        "River | Otters\n\nDee | 42\n\nWye\n\nAfter the table.")


def test_the_title_is_core_properties_then_heading_then_first_line_then_stem() -> None:
    def title(name: str, data: bytes) -> str:
        [doc] = load_bytes(name, data).documents
        return doc.title

    assert title("a.docx", docx_bytes("Heading", ["Body."], title="Core title")) == "Core title"
    assert title("b.docx", docx_bytes("Heading", ["Body."], title="  ")) == "Heading"
    assert title("c.docx", docx_bytes("", ["First paragraph.", "Second."])) == "First paragraph."
    assert load_bytes("d.docx", docx_bytes("", [])).documents == []


def test_merged_and_nested_cells_are_read_once() -> None:
    import docx

    document = docx.Document()
    table = document.add_table(rows=2, cols=3)
    table.cell(0, 0).text = "Wide"
    table.cell(0, 0).merge(table.cell(0, 2))
    table.cell(1, 0).text = "Outer"
    table.cell(1, 1).add_table(rows=1, cols=2).cell(0, 1).text = "Inner"
    out = io.BytesIO()
    document.save(out)
    assert read_docx(out.getvalue()).text == "Wide\n\nOuter | Inner"


def skip_reason(data: bytes) -> str:
    result = load_bytes("x.docx", data)
    assert result.documents == []
    [skipped] = result.skipped
    return skipped.reason


def test_what_is_not_a_docx_is_skipped_with_the_reason() -> None:
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("content.xml", "<x/>")
    good = docx_bytes("Heading", ["Body."])
    for data in (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 an old .doc", good[: len(good) // 2],
                 other.getvalue(), b"PK\x03\x04" + b"\x00" * 100):
        assert skip_reason(data).startswith(f"{NOT_DOCX_REASON}: "), data[:20]


def test_a_zip_that_unpacks_past_the_bound_is_refused_unread() -> None:
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b" " * 1_000_000)
    with pytest.raises(ValueError, match=r"DOCX that unpacks to 1,000,000 bytes: over the "
                                         r"maximum of 1,000"):
        read_docx(bomb.getvalue(), max_unpacked=1000)


def test_an_upload_becomes_one_document_and_a_bad_one_a_422_reason() -> None:
    [doc] = from_file("survey.docx", docx_bytes("Otter survey", ["Otters."], TABLE), 3.0)
    assert (doc.id, doc.title, doc.name) == ("survey.docx", "Otter survey", "survey.docx")
    assert "Dee | 42" in doc.text
    with pytest.raises(InvalidRequest, match=r"'old\.docx' cannot be read: old\.docx: not a "
                                             r"readable DOCX"):
        from_file("old.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 an old .doc", 0)
    with pytest.raises(InvalidRequest, match="has no text to index"):
        from_file("empty.docx", docx_bytes("", []), 0)
