"""The graph stage with each offline spaCy pipeline (``GRAPHREADY_NLP_PIPELINE``): the store
records which one extracted, an unchanged rebuild extracts nothing, and switching re-extracts
every chunk (and back again gives the same graph)."""

from __future__ import annotations

import json
from pathlib import Path

from graphready.config import Settings, load_settings
from graphready.extraction.base import FULL_PIPELINE_EXTRACTOR_2, OFFLINE_EXTRACTOR
from graphready.indexing.events import StageDone
from graphready.indexing.stages import run_documents, run_graph
from graphready.stores.registry import open_stores

DOCS = [
    {"id": "curie", "title": "Marie Curie",
     "text": "Marie Curie was a physicist born in Warsaw. She worked in Paris with Pierre Curie "
             "on the radioactivity of the elements."},
    {"id": "lisbon", "title": "Lisbon",
     "text": "Lisbon is the capital of Portugal. An earthquake struck Lisbon in 1755, and "
             "the city was rebuilt by the Marquis of Pombal."},
]


def settings_for(root: Path, pipeline: str) -> Settings:
    return load_settings({}, data_dir=root / "data", docs_dir=root / "docs",
                         embedder="hashing", nlp_pipeline=pipeline)


def build(settings: Settings) -> StageDone:
    stores = open_stores(settings)
    try:
        run_documents(settings, stores, lambda event: None)
        return run_graph(settings, stores, lambda event: None)
    finally:
        stores.close()


def stored_extractor(settings: Settings) -> str | None:
    stores = open_stores(settings)
    try:
        return stores.graph.extractor_id()
    finally:
        stores.close()


def test_switching_pipelines_reextracts_and_unchanged_is_loaded(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in DOCS))
    entities, full = settings_for(tmp_path, "entities"), settings_for(tmp_path, "full")

    first = build(entities)
    assert first.counts["chunks_extracted"] == 2 and first.counts["entities"] > 0
    assert stored_extractor(entities) == OFFLINE_EXTRACTOR
    assert build(entities).source == "loaded"

    switched = build(full)
    assert switched.source == "built" and switched.counts["chunks_extracted"] == 2
    assert stored_extractor(full) == FULL_PIPELINE_EXTRACTOR_2
    assert switched.counts["relations"] > first.counts["relations"]  # concepts relate too

    back = build(entities)
    assert back.counts["chunks_extracted"] == 2
    assert back.counts["entities"] == first.counts["entities"]
    assert back.counts["relations"] == first.counts["relations"]
