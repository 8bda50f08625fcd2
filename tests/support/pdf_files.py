"""Real PDF files for the tests, built byte by byte: pages of text set in Helvetica (a standard
font every reader knows, so no font file is embedded), an optional metadata title, and the
cross-reference table a reader needs. pypdf cannot typeset text, so this is the smallest honest
way to get a PDF whose text a reader extracts; pypdf's writer then encrypts one."""

from __future__ import annotations

import io
from collections.abc import Sequence

LINE_HEIGHT = 14
PARAGRAPH_GAP = 28
"""A blank line in a page's text moves the next line down by this much instead of a line."""


def _escape(text: str) -> bytes:
    raw = text.encode("cp1252")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _content(lines: Sequence[str]) -> bytes:
    """A page's content stream: each line of text at its own height, blank lines as gaps."""
    out = [b"BT /F1 11 Tf 72 760 Td"]
    gap = 0
    for line in lines:
        if not line.strip():
            gap += PARAGRAPH_GAP - LINE_HEIGHT
            continue
        out.append(b"0 -%d Td (%s) Tj" % (LINE_HEIGHT + gap, _escape(line)))
        gap = 0
    out.append(b"ET")
    return b"\n".join(out)


def _literal(text: str) -> bytes:
    return b"(" + _escape(text) + b")"


def pdf_bytes(pages: Sequence[str], title: str | None = None) -> bytes:
    """A PDF with one page per item of ``pages`` (its lines set one under the other; an empty
    string is a blank page) and, when given, ``title`` in its document information."""
    font = 3 + 2 * len(pages)
    kids = b" ".join(b"%d 0 R" % (3 + 2 * i) for i in range(len(pages)))
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(pages)),
    ]
    for number, text in enumerate(pages):
        stream = _content(text.split("\n")) if text else b""
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                       b"/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>"
                       % (font, 4 + 2 * number))
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
                   b"/Encoding /WinAnsiEncoding >>")
    info = ""
    if title is not None:
        objects.append(b"<< /Title %s /Producer (graphready tests) >>" % _literal(title))
        info = f" /Info {len(objects)} 0 R"
    body = io.BytesIO()
    body.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(body.tell())
        body.write(b"%d 0 obj\n%s\nendobj\n" % (number, obj))
    xref = body.tell()
    body.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        body.write(b"%010d 00000 n \n" % offset)
    body.write(b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n"
               % (len(objects) + 1, info.encode("ascii"), xref))
    return body.getvalue()


def encrypted_pdf_bytes(pages: Sequence[str], user_password: str = "secret",
                        algorithm: str = "AES-256") -> bytes:
    """``pdf_bytes(pages)`` encrypted by pypdf's writer so that it opens only with
    ``user_password`` (with ``""``, any reader opens it: only permissions are restricted)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes(pages))))
    writer.encrypt(user_password, "owner-password", algorithm=algorithm)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
