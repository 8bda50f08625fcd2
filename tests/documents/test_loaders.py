"""Scanning the documents folder and loading each kind of file from real files on disk."""

from __future__ import annotations

import json
from pathlib import Path

from graphready.documents.hashing import document_hash, file_hash
from graphready.documents.loaders import (
    BINARY_REASON,
    UNREADABLE_HASH_PREFIX,
    load_source,
    scan_folder,
)
from graphready.documents.types import SourceFile


def write(root: Path, rel: str, data: str | bytes) -> SourceFile:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    path.write_bytes(raw)
    return SourceFile(rel, file_hash(raw))


def test_scan_folder_is_recursive_sorted_and_skips_hidden(tmp_path: Path) -> None:
    write(tmp_path, "b.txt", "b")
    write(tmp_path, "a/z.md", "z")
    write(tmp_path, "a/y.HTML", "<p>y</p>")
    write(tmp_path, "c.jsonl", "")
    write(tmp_path, "d.markdown", "d")
    write(tmp_path, "e.htm", "e")
    write(tmp_path, ".hidden.txt", "h")
    write(tmp_path, ".git/config.txt", "h")
    write(tmp_path, "a/.cache/x.md", "h")
    write(tmp_path, "image.png", b"\x89PNG")
    write(tmp_path, "notes.pdf", b"%PDF")
    write(tmp_path, "old.doc", b"\xd0\xcf\x11\xe0")
    write(tmp_path, "f/report.DOCX", b"PK")
    found = scan_folder(tmp_path)
    assert [s.path for s in found] == [
        "a/y.HTML", "a/z.md", "b.txt", "c.jsonl", "d.markdown", "e.htm", "f/report.DOCX",
        "notes.pdf",
    ]
    assert found[2].file_hash == file_hash(b"b")


def test_scan_folder_marks_unreadable_files(tmp_path: Path) -> None:
    (tmp_path / "broken.txt").symlink_to(tmp_path / "missing.txt")
    found = scan_folder(tmp_path)
    assert [s.path for s in found] == ["broken.txt"]
    assert found[0].file_hash.startswith(UNREADABLE_HASH_PREFIX)
    result = load_source(tmp_path, found[0])
    assert result.documents == []
    assert [s.path for s in result.skipped] == ["broken.txt"]
    assert "No such file" in result.skipped[0].reason


def test_txt_title_is_first_non_empty_line(tmp_path: Path) -> None:
    src = write(tmp_path, "notes/a.txt", "\n\n  First line here  \nBody text.\n")
    result = load_source(tmp_path, src)
    assert result.skipped == []
    [d] = result.documents
    assert (d.id, d.source, d.title) == ("notes/a.txt", "notes/a.txt", "First line here")
    assert d.text == "First line here  \nBody text."
    assert d.content_hash == document_hash(d.title, d.text)


def test_md_title_is_first_heading(tmp_path: Path) -> None:
    src = write(tmp_path, "doc.md", "intro line\n\n## The Heading ##\n\ntext\n")
    [d] = load_source(tmp_path, src).documents
    assert d.title == "The Heading"


def test_long_title_is_clipped(tmp_path: Path) -> None:
    src = write(tmp_path, "long.txt", "word " * 100)
    [d] = load_source(tmp_path, src).documents
    assert 0 < len(d.title) <= 120
    assert d.title.startswith("word word")


def test_title_falls_back_to_stem(tmp_path: Path) -> None:
    src = write(tmp_path, "page.html", "<html><body><p>Only text.</p></body></html>")
    [d] = load_source(tmp_path, src).documents
    assert d.title == "page"


def test_empty_files_give_nothing(tmp_path: Path) -> None:
    for rel in ("e.txt", "e.md", "e.html", "e.jsonl", "w.txt"):
        src = write(tmp_path, rel, "" if rel != "w.txt" else "  \n\n ")
        result = load_source(tmp_path, src)
        assert result.documents == [] and result.skipped == [], rel


def test_binary_and_non_utf8_files_are_skipped(tmp_path: Path) -> None:
    for rel, data in (("bin.txt", b"abc\x00\x01\x02def"), ("latin.md", "café".encode("cp1252"))):
        src = write(tmp_path, rel, data)
        result = load_source(tmp_path, src)
        assert result.documents == []
        assert [(s.path, s.reason) for s in result.skipped] == [(rel, BINARY_REASON)]


def test_utf8_bom_is_dropped(tmp_path: Path) -> None:
    src = write(tmp_path, "bom.txt", b"\xef\xbb\xbfTitle\nbody")
    [d] = load_source(tmp_path, src).documents
    assert d.title == "Title"


def test_unreadable_paths_are_skipped_with_os_reason(tmp_path: Path) -> None:
    (tmp_path / "x.txt").mkdir()
    result = load_source(tmp_path, SourceFile("x.txt", "h"))
    assert result.documents == []
    assert result.skipped[0].path == "x.txt"
    assert "directory" in result.skipped[0].reason.lower()
    gone = load_source(tmp_path, SourceFile("vanished.md", "h"))
    assert gone.skipped[0].path == "vanished.md" and "No such file" in gone.skipped[0].reason


def test_html_drops_scripts_and_separates_blocks(tmp_path: Path) -> None:
    html = """<!doctype html><html><head><title> My  Page </title>
    <style>p { color: red }</style><script>var x = "secret";</script></head>
    <body><h1>Big heading</h1><p>First <b>bold</b> paragraph.</p><!-- comment -->
    <noscript>enable js</noscript><div>Second<ul><li>one</li><li>two</li></ul></div>
    <script>alert("x")</script></body></html>"""
    src = write(tmp_path, "page.htm", html)
    [d] = load_source(tmp_path, src).documents
    assert d.title == "My Page"
    assert d.text == "Big heading\n\nFirst bold paragraph.\n\nSecond\n\none\n\ntwo"
    assert "secret" not in d.text and "color" not in d.text and "enable" not in d.text


def test_html_title_from_h1_and_non_utf8(tmp_path: Path) -> None:
    src = write(tmp_path, "p.html", "<body><h1>Caf\xe9 news</h1><p>x</p></body>".encode("cp1252"))
    [d] = load_source(tmp_path, src).documents
    assert d.title == "Café news"


def test_html_deep_nesting_does_not_crash(tmp_path: Path) -> None:
    src = write(tmp_path, "deep.html", "<div>" * 5000 + "deep text" + "</div>" * 5000)
    result = load_source(tmp_path, src)
    assert result.documents[0].text == "deep text"


def test_jsonl_loads_good_lines_and_skips_bad_ones(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "p1", "title": "One", "text": "First passage."}),
        "",
        json.dumps({"id": 2, "text": "Second passage, no title."}),
        "{not json",
        json.dumps({"title": "no id", "text": "x"}),
        json.dumps({"id": "p3", "title": "T", "text": ""}),
        json.dumps({"id": "p4", "title": 5, "text": "x"}),
        json.dumps({"id": True, "text": "x"}),
        json.dumps(["a", "list"]),
        json.dumps({"id": "p1", "text": "duplicate"}),
        json.dumps({"id": "p5", "title": "Five", "text": "Fifth passage.", "extra": 1}),
    ]
    src = write(tmp_path, "data/c.jsonl", "\n".join(lines) + "\n")
    result = load_source(tmp_path, src)
    docs = {d.id: d for d in result.documents}
    assert list(docs) == ["p1", "2", "p5"]
    assert docs["2"].title == "2"
    assert docs["p1"].source == "data/c.jsonl"
    assert docs["p5"].content_hash == document_hash("Five", "Fifth passage.")
    reasons = {s.path: s.reason for s in result.skipped}
    assert [s.path for s in result.skipped] == [f"data/c.jsonl:{n}" for n in range(4, 11)]
    assert "invalid JSON" in reasons["data/c.jsonl:4"]
    assert "'id'" in reasons["data/c.jsonl:5"]
    assert "'text'" in reasons["data/c.jsonl:6"]
    assert "'title'" in reasons["data/c.jsonl:7"]
    assert "'id'" in reasons["data/c.jsonl:8"]
    assert "object" in reasons["data/c.jsonl:9"]
    assert "duplicate id 'p1'" in reasons["data/c.jsonl:10"]


def test_jsonl_bad_utf8_line_is_skipped_alone(tmp_path: Path) -> None:
    good = json.dumps({"id": "a", "text": "ok"}).encode()
    src = write(tmp_path, "x.jsonl", good + b"\n" + b'{"id": "b", "text": "\xff"}\n')
    result = load_source(tmp_path, src)
    assert [d.id for d in result.documents] == ["a"]
    assert [s.path for s in result.skipped] == ["x.jsonl:2"]


def test_jsonl_deeply_nested_line_is_skipped(tmp_path: Path) -> None:
    src = write(tmp_path, "n.jsonl", "[" * 100_000 + "]" * 100_000 + "\n")
    result = load_source(tmp_path, src)
    assert result.documents == [] and [s.path for s in result.skipped] == ["n.jsonl:1"]
