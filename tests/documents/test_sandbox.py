"""Files read in a child process under a CPU and a memory budget per file (real children): a file
over a budget is skipped with the reason naming the setting, the next file gets a fresh child,
a child that stops answering is killed by the wall-clock backstop, and no child starts before
the first file or outlives ``close``."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psutil
import pytest

from graphready.documents.hashing import file_hash
from graphready.documents.loaders import load_bytes, load_source
from graphready.documents.sandbox import ParseBudget, Sandbox
from graphready.documents.types import SourceFile
from support.docx_files import docx_bytes
from support.hostile_files import SLOW_DOCX_ELEMENTS, docx_elements, parser_children


def test_files_read_in_the_child_equal_files_read_in_process(tmp_path: Path) -> None:
    files = {"notes.md": b"# Herons\n\nThe heron nests by the weir.",
             "lines.jsonl": b'{"id": 1, "text": "one"}\n[]\n{"id": "b", "text": "two"}\n',
             "unicode.jsonl": b'{"id": "u", "text": "caf\\u00e9 \\ud800 \\ud835\\udd18"}\n',
             "caf\u00e9.md": "# Caf\u00e9\n\n\u2615 \U0001d518 ok".encode(),
             "minutes.docx": docx_bytes("Minutes", ["The board chose Fenwick Quay."]),
             "binary.txt": b"\x00\x01"}
    with Sandbox(ParseBudget(30, 1024)) as sandbox:
        assert sandbox.started == 0 and parser_children() == []  # nothing before the first file
        for name, data in files.items():
            assert sandbox.load_bytes(name, data) == load_bytes(name, data)
            (tmp_path / name).write_bytes(data)
            source = SourceFile(name, file_hash(data))
            assert sandbox.load_source(tmp_path, source) == load_source(tmp_path, source)
        gone = SourceFile("gone.md", "h")
        assert sandbox.load_source(tmp_path, gone) == load_source(tmp_path, gone)
        assert sandbox.started == 1  # one child read every file
        [child] = parser_children()
    assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
    assert parser_children() == []


def test_a_file_over_the_cpu_budget_is_skipped_and_the_next_file_gets_a_fresh_child() -> None:
    budget = ParseBudget(cpu_s=1, memory_mb=1024)
    with Sandbox(budget) as sandbox:
        result = sandbox.load_bytes("bomb.docx", docx_elements(SLOW_DOCX_ELEMENTS))
        assert result.documents == []
        assert [(s.path, s.reason) for s in result.skipped] == [("bomb.docx", budget.cpu_reason())]
        assert "GRAPHREADY_PARSE_CPU_S" in budget.cpu_reason()
        [doc] = sandbox.load_bytes("after.md", b"# After\n\nStill reading.").documents
        assert doc.title == "After"
        assert sandbox.started == 2


def test_a_file_over_the_memory_budget_is_skipped_and_the_next_file_reads() -> None:
    budget = ParseBudget(cpu_s=120, memory_mb=200)
    with Sandbox(budget) as sandbox:
        tree = sandbox.load_bytes("tree.docx", docx_elements(SLOW_DOCX_ELEMENTS))
        assert [(s.path, s.reason) for s in tree.skipped] == [("tree.docx", budget.memory_reason())]
        assert "GRAPHREADY_PARSE_MEMORY_MB" in budget.memory_reason()
        [doc] = sandbox.load_bytes("after.txt", b"Small enough.").documents
        assert doc.text == "Small enough."
        large = sandbox.load_bytes("large.txt", b"otter " * (48 * 2**20))  # 288 MiB
        assert [s.reason for s in large.skipped] == [budget.memory_reason()]
        assert sandbox.load_bytes("again.txt", b"Again.").documents


def test_a_child_that_stops_answering_is_killed_at_the_wall_clock_backstop() -> None:
    with Sandbox(ParseBudget(cpu_s=30, memory_mb=1024, wall_s=2.0)) as sandbox:
        assert sandbox.load_bytes("first.txt", b"First.").documents
        [child] = parser_children()
        os.kill(child.pid, signal.SIGSTOP)  # it gets no CPU time at all: only the clock runs
        result = sandbox.load_bytes("second.txt", b"Second.")
        [skip] = result.skipped
        assert skip.reason.startswith("still reading it after 2 s of wall-clock time"), skip
        assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
        assert sandbox.load_bytes("third.txt", b"Third.").documents


def test_a_crashed_child_is_named_and_replaced() -> None:
    with Sandbox(ParseBudget(30, 1024)) as sandbox:
        assert sandbox.load_bytes("first.txt", b"First.").documents
        [child] = parser_children()
        child.kill()
        child.wait(10)
        [doc] = sandbox.load_bytes("second.txt", b"Second.").documents  # a fresh child
        assert doc.text == "Second." and sandbox.started == 2


def test_reads_after_close_are_refused_and_start_nothing() -> None:
    sandbox = Sandbox(ParseBudget(30, 1024))
    sandbox.close()
    [skip] = sandbox.load_bytes("late.txt", b"Late.").skipped
    assert skip.reason == "the server is shutting down"
    assert sandbox.started == 0 and parser_children() == []


@pytest.mark.anyio
async def test_two_files_are_read_at_once_by_two_parser_children() -> None:
    import asyncio

    with Sandbox(ParseBudget(cpu_s=1, memory_mb=1024), size=2) as sandbox:
        data = docx_elements(SLOW_DOCX_ELEMENTS)
        slow = asyncio.ensure_future(sandbox.run(sandbox.load_bytes, "bomb.docx", data))
        await asyncio.sleep(0.5)  # the bomb is being read
        quick = asyncio.ensure_future(sandbox.run(sandbox.load_bytes, "x.md", b"# X\n\nText."))
        done, _ = await asyncio.wait([slow, quick], return_when=asyncio.FIRST_COMPLETED)
        assert done == {quick}  # read by the second child while the first is busy
        assert [d.title for d in quick.result().documents] == ["X"]
        assert [s.reason for s in (await slow).skipped] == [sandbox.budget.cpu_reason()]


def test_files_sent_ahead_come_back_in_order_past_a_child_that_died(tmp_path: Path) -> None:
    names = [f"note-{n:02d}.txt" for n in range(12)]
    for name in names:
        (tmp_path / name).write_text(f"Text of {name}.")
    (tmp_path / "bomb.docx").write_bytes(docx_elements(SLOW_DOCX_ELEMENTS))
    order = [*names[:5], "bomb.docx", *names[5:]]
    sources = [SourceFile(name, "h") for name in order]
    budget = ParseBudget(cpu_s=1, memory_mb=1024)
    with Sandbox(budget) as sandbox:
        results = list(sandbox.load_sources(tmp_path, sources, ahead=8))
        got = [r.documents[0].id if r.documents else r.skipped[0].path for r in results]
        assert got == order
        assert [s.reason for r in results for s in r.skipped] == [budget.cpu_reason()]
        assert sandbox.started == 2  # the files sent ahead of the bomb went to a fresh child
        partial = sandbox.load_sources(tmp_path, sources[:4], ahead=4)
        assert next(partial).documents[0].id == names[0]
        partial.close()  # three replies still owed: that child is not used again
        [doc] = sandbox.load_source(tmp_path, sources[6]).documents
        assert doc.text == f"Text of {names[5]}."
