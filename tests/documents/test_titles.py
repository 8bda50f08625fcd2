"""Titles are bounded whichever way a document comes (a title stands before every chunk of its
document in the extraction prompt: a megabyte one made every prompt too long for the model), and
ids of the folder's ``.jsonl`` lines are bounded as uploaded ones are."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graphready.config import load_settings
from graphready.documents.loaders import (
    MAX_ID_CHARS,
    MAX_TITLE_CHARS,
    clip_title,
    load_source,
    scan_folder,
)
from support.api import app_client

pytestmark = pytest.mark.anyio
HUGE_TITLE = "Harbour " + "lighthouse keeper " * 58_000 + "end"
"""Over a megabyte of title, with words to cut at."""
TEXT = "The Zephyr lighthouse stands on the northern cape."


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def assert_clipped(title: str) -> None:
    assert len(HUGE_TITLE) > 1_000_000
    assert 0 < len(title) <= MAX_TITLE_CHARS, len(title)
    assert title.startswith("Harbour lighthouse keeper") and title == clip_title(HUGE_TITLE)


def load_jsonl(folder: Path, lines: list[object]) -> tuple[list[str], list[str], list[str]]:
    folder.mkdir()
    (folder / "docs.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    [source] = scan_folder(folder)
    loaded = load_source(folder, source)
    return ([d.title for d in loaded.documents], [d.id for d in loaded.documents],
            [s.reason for s in loaded.skipped])


def test_a_jsonl_line_with_a_megabyte_title_gets_a_clipped_title(tmp_path: Path) -> None:
    titles, ids, skipped = load_jsonl(tmp_path / "docs", [
        {"id": "huge", "title": HUGE_TITLE, "text": TEXT},
        {"id": "x" * 4000, "text": TEXT},
        {"id": "line\nbreak", "text": TEXT},
        {"id": "y" * MAX_ID_CHARS, "text": TEXT}])
    assert ids == ["huge", "y" * MAX_ID_CHARS]
    assert_clipped(titles[0])
    assert len(titles[1]) <= MAX_TITLE_CHARS  # a long id as the title is clipped too
    assert skipped == [f"field 'id': an id needs 1 to {MAX_ID_CHARS} characters",
                       "field 'id': the id holds control characters"]


async def test_uploads_as_json_and_as_jsonl_get_clipped_titles(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path / "data", embedder="hashing",
                             max_body_bytes=4 << 20)
    line = json.dumps({"id": "from-file", "title": HUGE_TITLE, "text": TEXT}) + "\n"
    async for client in app_client(settings):
        added = await client.post("/documents", json={"documents": [
            {"id": "from-json", "title": HUGE_TITLE, "text": TEXT}]})
        assert added.status_code == 202, added.text[:300]
        assert_clipped(added.json()["documents"][0]["title"])
        uploaded = await client.post("/documents", files={
            "files": ("huge.jsonl", line.encode(), "application/octet-stream")})
        assert uploaded.status_code == 202, uploaded.text[:300]
        assert_clipped(uploaded.json()["documents"][0]["title"])
        for doc_id in ("from-json", "from-file"):
            listed = await client.get(f"/documents/{doc_id}")
            assert_clipped(listed.json()["title"])
