"""``benchmarks/scale_targets.py``'s reading of what it measured: the figure of each target of
issue 22, the document it adds, and the step as a row that ``scale.py``'s growth fits read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scale import METRICS, value
from scale_targets import NEW_SENTENCE, TARGETS, new_document, questions, row, summary

BUILD: dict[str, Any] = {
    "cold": {"first_answer": 40.0, "graph_ready": 3000.0},
    "counts": {"chunks": 1000, "entities": 4000, "relations": 11000, "communities": 270},
    "stage_seconds": {"documents": 2.0, "vectors": 900.0, "graph": 1200.0},
    "peak_rss_mib": {"server": 900.0, "graph": 2500.0, "vectors": 330.0},
    "server_rss_loaded_mib": 880.0, "disk_mib": 950.0,
}
MEASURED: dict[str, Any] = {
    "single": {
        "start": {"first_answer": 3.0, "graph_ready": 41.5},
        "memory_loaded": {"rss": 850.0, "uss": 800.0, "pss": 820.0},
        "memory_after_chat": {"rss": 870.0, "uss": 820.0, "pss": 840.0},
        "chat_ms": {"auto": {"p50": 50.0, "p95": 90.0}, "graph_global": {"p50": 20.0,
                    "p95": 300.0}, "retrieval": {"p50": 10.0, "p95": None}},
        "change": {"cited_s": 1.2,
                   "added": {"seconds": 60.0, "graph_stage": {"seconds": 50.0},
                             "worker_peak_mib": {"graph": 700.0, "vectors": 300.0}},
                   "deleted": {"seconds": 55.0, "graph_stage": None,
                               "worker_peak_mib": {"graph": 900.0}}},
    },
    "workers": {"processes": [{"rss": 800.0, "uss": 120.0}, {"rss": 790.0, "uss": 450.0}]},
}


def test_each_target_gets_its_figure_or_none() -> None:
    figures = summary(BUILD, MEASURED)
    assert {key for _, key, _ in TARGETS} == set(figures)
    assert figures["p95_ms"] == 300.0  # the slowest mode; a mode with no answer is left out
    assert figures["cited_s"] == 1.2
    assert figures["added_graph_s"] == 60.0
    assert figures["deleted_graph_s"] is None  # no graph stage seen after the delete
    assert figures["server_rss_mib"] == 870.0
    assert figures["extra_worker_mib"] == 450.0  # the larger USS of the two processes
    assert figures["change_worker_mib"] == 900.0
    assert (figures["first_answer_s"], figures["graph_ready_s"]) == (3.0, 41.5)


def test_nothing_measured_gives_no_figures() -> None:
    assert set(summary(BUILD, {}).values()) == {None}


def test_the_row_is_what_the_growth_fits_read() -> None:
    found = row(BUILD, MEASURED, "generated-1k")
    json.dumps(found)
    assert (found["step"], found["chunks"]) == ("generated-1k", 1000)
    read = {name: value(found, path) for name, path in METRICS.items()}
    assert read["graph stage (s)"] == 1200.0
    assert read["cold: graph ready (s)"] == 3000.0
    assert read["warm: graph ready (s)"] == 41.5
    assert read["server RSS, graph loaded (MiB)"] == 850.0
    assert read["graph worker peak RSS (MiB)"] == 2500.0
    assert read["entities"] == 4000.0
    assert read["chat p95 auto (ms)"] == 90.0


def test_the_new_document_repeats_two_passages_after_its_sentence(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus-5.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"p{i}", "title": f"Title {i}",
                                          "text": f"Passage {i}."}) + "\n" for i in range(5)))
    doc = new_document(corpus, 2)
    assert doc["text"] == f"{NEW_SENTENCE} Passage 2. Passage 3."
    assert questions(corpus, 3) == ["What is known about Title 0?"]
