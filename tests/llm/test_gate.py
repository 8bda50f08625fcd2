"""The model's queue (llm/gate.py): build calls wait while a question is answered, here or in
another process, and those in flight are preempted; interactive calls have their own limit and
wait no longer than their deadline; a stopped gate cancels and refuses. Also the control lines
a server sends its build worker, and the build's LLM activity event."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future

import pytest

from graphready.errors import LLMCancelled, LLMDeadlineExceeded
from graphready.indexing.control import parse_questions, questions_line
from graphready.indexing.events import LLMActivity, decode, encode
from graphready.llm.gate import ModelGate, Preempted

WAIT_S = 10.0
"""Bounds the waits below: they fail a broken gate instead of hanging, and time nothing."""


def build_call_in_thread(gate: ModelGate, started: threading.Event,
                         finish: threading.Event) -> threading.Thread:
    def run() -> None:
        with gate.slot("extract"):
            started.set()
            finish.wait(WAIT_S)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_build_call_waits_while_a_question_is_answered() -> None:
    gate = ModelGate(concurrency=2, build_concurrency=1)
    started, finish = threading.Event(), threading.Event()
    with gate.question():
        thread = build_call_in_thread(gate, started, finish)
        assert not started.wait(0.3)
        snapshot = gate.snapshot()
        assert snapshot["waiting"]["extract"] == 1 and snapshot["build_paused"]
        assert snapshot["questions"] == 1
    assert started.wait(WAIT_S)
    assert gate.snapshot()["in_flight"]["extract"] == 1
    finish.set()
    thread.join(WAIT_S)
    assert gate.snapshot()["in_flight"]["extract"] == 0 and gate.build_calls == 1


def test_questions_in_another_process_hold_the_build_back_too() -> None:
    gate = ModelGate(build_concurrency=1)
    gate.set_remote_questions(2)
    started, finish = threading.Event(), threading.Event()
    thread = build_call_in_thread(gate, started, finish)
    assert not started.wait(0.3)
    gate.set_remote_questions(0)
    assert started.wait(WAIT_S)
    finish.set()
    thread.join(WAIT_S)


def test_the_build_has_its_own_smaller_budget() -> None:
    gate = ModelGate(concurrency=4, build_concurrency=1)
    first, second, finish = threading.Event(), threading.Event(), threading.Event()
    threads = [build_call_in_thread(gate, first, finish),
               build_call_in_thread(gate, second, finish)]
    assert first.wait(WAIT_S) or second.wait(WAIT_S)
    time.sleep(0.2)
    assert gate.snapshot()["in_flight"]["extract"] == 1
    assert gate.snapshot()["waiting"]["extract"] == 1
    finish.set()
    for thread in threads:
        thread.join(WAIT_S)
    assert first.is_set() and second.is_set()


def test_a_question_preempts_the_build_calls_in_flight() -> None:
    gate = ModelGate()
    with gate.slot("report") as slot:
        request: Future[str] = Future()
        slot.attach(request)
        with gate.question():
            assert request.cancelled()
            assert isinstance(slot.reason(), Preempted)
    assert gate.preemptions == 1
    with gate.slot("extract") as later:
        assert later.reason() is None  # after the question, build calls go again


def test_an_interactive_call_waits_no_longer_than_its_deadline() -> None:
    gate = ModelGate(concurrency=1)
    with gate.slot("agent"), pytest.raises(LLMDeadlineExceeded), \
            gate.slot("answer", deadline=time.monotonic() + 0.2):
        pass
    with gate.slot("answer", deadline=time.monotonic() + 5):
        assert gate.snapshot()["in_flight"]["answer"] == 1


def test_a_stopped_gate_cancels_what_is_in_flight_and_refuses_more() -> None:
    gate = ModelGate()
    with gate.slot("extract") as slot:
        request: Future[str] = Future()
        slot.attach(request)
        gate.stop()
        assert request.cancelled() and isinstance(slot.reason(), LLMCancelled)
    with pytest.raises(LLMCancelled), gate.slot("extract"):
        pass


def test_the_question_count_reaches_the_listener() -> None:
    counts: list[int] = []
    gate = ModelGate(listener=counts.append)
    with gate.question(), gate.question():
        pass
    assert counts == [1, 2, 1, 0]


def test_control_lines_and_the_activity_event_round_trip() -> None:
    assert parse_questions(questions_line(3).decode()) == 3
    assert parse_questions("questions 0\n") == 0
    assert parse_questions("questions -1") is None and parse_questions("stop") is None
    activity = LLMActivity(
        stage="graph", in_flight={"extract": 1}, waiting={"report": 0}, paused=True,
        preemptions=2, calls=7, calls_per_minute=3.0, chunks_done=4, chunks_total=9,
        reports_done=0, reports_total=None, eta_seconds=12.5)
    assert decode(encode(activity)) == activity
