"""PDF files, built byte by byte as real PDFs (tests/support/pdf_files.py), read from the folder
and as uploads: text, titles, pages, paragraphs, de-hyphenation, and every reason to skip one."""

from __future__ import annotations

import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from graphready.documents.hashing import file_hash
from graphready.documents.intake import from_file
from graphready.documents.loaders import load_bytes, load_source
from graphready.documents.pdf import (
    ENCRYPTED_REASON,
    MAX_PDF_PAGES,
    NO_TEXT_REASON,
    normalise,
    read_pdf,
)
from graphready.documents.types import Document, SourceFile
from graphready.errors import InvalidRequest
from support.pdf_files import encrypted_pdf_bytes, pdf_bytes

REPORT = [
    "Otter survey 2026\n\nThe   survey   counted forty-two otters along the river Dee. The infor-\n"
    "mation came from volunteers.\nA second line of the same paragraph.\n\nA new paragraph.",
    "Page two says the herons nest by the mill pond.",
]


def one(name: str, data: bytes) -> Document:
    result = load_bytes(name, data)
    assert result.skipped == []
    [doc] = result.documents
    return doc


def skip_reason(name: str, data: bytes) -> str:
    result = load_bytes(name, data)
    assert result.documents == []
    [skipped] = result.skipped
    assert skipped.path == name
    return skipped.reason


def test_a_pdf_in_the_folder_is_read_page_by_page(tmp_path: Path) -> None:
    data = pdf_bytes(REPORT, title="Otters of the Dee")
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "otters.PDF").write_bytes(data)
    result = load_source(tmp_path, SourceFile("reports/otters.PDF", file_hash(data)))
    [doc] = result.documents
    assert (doc.id, doc.source, doc.title) == ("reports/otters.PDF", "reports/otters.PDF",
                                               "Otters of the Dee")
    assert doc.text == (
        "Otter survey 2026\n\n"
        "The survey counted forty-two otters along the river Dee. The information came from "
        "volunteers.\nA second line of the same paragraph.\n\n"
        "A new paragraph.\n\n"
        "Page two says the herons nest by the mill pond.")


def test_the_title_falls_back_to_the_first_line_then_the_stem() -> None:
    assert one("a.pdf", pdf_bytes(REPORT)).title == "Otter survey 2026"
    # a PDF's text is not Markdown: a "# ..." line further down is no heading
    assert one("h.pdf", pdf_bytes([*REPORT, "# set the variable below"])).title == (
        "Otter survey 2026")
    assert one("b.pdf", pdf_bytes(REPORT, title="  \t ")).title == "Otter survey 2026"
    assert one("c.pdf", pdf_bytes(["x " * 200])).title.startswith("x x")
    assert len(one("c.pdf", pdf_bytes(["x " * 200])).title) <= 120
    for tool_title in ("Microsoft Word - survey.docx", "untitled", "Untitled-3", "survey.pdf",
                       "C:\\Users\\ann\\survey.tex"):
        assert one("t.pdf", pdf_bytes(REPORT, title=tool_title)).title == "Otter survey 2026"
    assert one("u.pdf", pdf_bytes(REPORT, title="Survey.pdf results")).title == (
        "Survey.pdf results")
    long_title = one("d.pdf", pdf_bytes(["Body."], title="Long " * 50)).title
    assert long_title.startswith("Long Long") and len(long_title) <= 120


def test_blank_pages_are_dropped_and_pages_joined_by_blank_lines() -> None:
    doc = one("p.pdf", pdf_bytes(["First page.", "", "Third page."]))
    assert doc.text == "First page.\n\nThird page."


@pytest.mark.parametrize(("raw", "expected"), [
    ("infor-\nmation", "information"),
    ("well-\nknown and well-known", "well-known and well-known"),
    ("self-\ncontained and selfcontained", "selfcontained and selfcontained"),
    ("New-\nYork", "New-York"),
    ("COVID-\n19 and 2019-\n2020", "COVID-19 and 2019-2020"),
    ("soft\u00ad\nhyphen", "softhyphen"),
    ("para-\n\nnext", "para-\n\nnext"),
    ("a  \t b\u00a0\u00a0c\n\n\n\nd\x00e\x07", "a b c\n\nde"),
])
def test_normalise_joins_hyphenated_breaks_where_safe(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_an_encrypted_pdf_is_skipped_unless_it_opens_without_a_password() -> None:
    for algorithm in ("RC4-128", "AES-128", "AES-256"):
        locked = encrypted_pdf_bytes(REPORT, "secret", algorithm)
        assert skip_reason("locked.pdf", locked) == ENCRYPTED_REASON, algorithm
        restricted = encrypted_pdf_bytes(REPORT, "", algorithm)
        assert "information came" in one("restricted.pdf", restricted).text, algorithm


def test_a_corrupt_pdf_is_skipped_with_the_reason() -> None:
    data = pdf_bytes(REPORT)
    for bad in (data[: len(data) // 3], b"%PDF-1.4\n" + b"\x00\xff" * 200, b"hello"):
        assert skip_reason("bad.pdf", bad).startswith("not a readable PDF: ")


def test_a_pdf_without_text_is_skipped_as_scanned() -> None:
    assert skip_reason("scan.pdf", pdf_bytes(["", ""])) == NO_TEXT_REASON
    assert "OCR is not supported" in NO_TEXT_REASON


def test_pages_over_the_maximum_are_refused_before_any_is_read() -> None:
    reason = skip_reason("long.pdf", pdf_bytes([""] * (MAX_PDF_PAGES + 1)))
    assert reason == f"PDF of {MAX_PDF_PAGES + 1} pages: over the maximum of {MAX_PDF_PAGES}"
    with pytest.raises(ValueError, match="PDF of 3 pages: over the maximum of 2"):
        read_pdf(pdf_bytes(["a", "b", "c"]), max_pages=2)


def test_hostile_pdfs_are_skipped_not_crashed_on() -> None:
    data = pdf_bytes(["hello"])
    nested = data.replace(b"(hello) Tj", b"[" * 100_000 + b"]" * 100_000 + b" (hello) Tj")
    assert skip_reason("nested.pdf", nested).startswith("not a readable PDF: ")
    # A content stream that inflates past the bound on what one stream may decompress to.
    bomb = zlib.compress(b"BT " + b" " * 20_000_000 + b" ET", 9)
    start = data.index(b"<< /Length")
    end = data.index(b"endstream", start) + len(b"endstream")
    inflating = (data[:start] + b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(bomb)
                 + bomb + b"\nendstream" + data[end:])
    assert "safety limits (page 1)" in skip_reason("bomb.pdf", inflating)


def test_reading_stops_at_the_cpu_budget() -> None:
    many = pdf_bytes(["(a) Tj " * 2000] * 50)
    with pytest.raises(ValueError, match=r"PDF took over 0 CPU seconds to read \(stopped at "
                                         r"page 1\)"):
        read_pdf(many, max_cpu_s=0.0)


def test_an_upload_becomes_one_document_and_a_bad_one_a_422_reason() -> None:
    [doc] = from_file("report.pdf", pdf_bytes(REPORT, title="Otters"), 7.0)
    assert (doc.id, doc.title, doc.name) == ("report.pdf", "Otters", "report.pdf")
    assert "herons nest" in doc.text
    with pytest.raises(InvalidRequest, match=r"'locked\.pdf' cannot be read: locked\.pdf: "
                                             r"encrypted PDF"):
        from_file("locked.pdf", encrypted_pdf_bytes(REPORT), 0)
    with pytest.raises(InvalidRequest, match="no text in this PDF"):
        from_file("scan.pdf", pdf_bytes([""]), 0)


def test_pypdf_and_python_docx_are_imported_only_when_needed() -> None:
    code = ("import sys, graphready.server.app, graphready.documents.loaders as l\n"
            "assert not [m for m in sys.modules if m.split('.')[0] in ('pypdf', 'docx')]\n"
            "l.load_bytes('a.txt', b'text')\n"
            "assert 'pypdf' not in sys.modules\n"
            "l.load_bytes('a.pdf', b'%PDF')\n"
            "assert 'pypdf' in sys.modules and 'docx' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
