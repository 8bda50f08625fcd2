"""Questions first, across machines (``llm/shared_gate.py``): with a queue, the questions a
process answers are kept on the queue's Redis-protocol server (FalkorDB's ``redis-server``,
started by the fixtures), and build calls to the same model wait in every other process while
any question is answered there; a process that dies with a question in flight holds the build
back for the queue's lease only. Each "process" here is a real one where it matters (the one
that dies is a subprocess killed with SIGKILL); the others are gates with their own board, as
two processes have. The whole deployment (a server, a worker, a model server) is in
``test_shared_gate_e2e.py``."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future

import pytest

from graphready.errors import LLMCancelled
from graphready.llm.gate import ModelGate, Preempted
from graphready.llm.shared_gate import SharedQuestions, model_scope

HOLD_S = 1.0
"""The hold of a question (the queue's lease in a deployment): short, for the test."""
WAIT_S = 30.0
SCOPE = model_scope("http://model.test/v1", "m")


def gate_of(queue_url: str, scope: str = SCOPE) -> ModelGate:
    return ModelGate(concurrency=2, build_concurrency=1,
                     board=SharedQuestions(queue_url, scope, HOLD_S))


@pytest.fixture
def gates(queue_url: str) -> Iterator[list[ModelGate]]:
    made: list[ModelGate] = []
    yield made
    for gate in made:
        gate.close()


@pytest.fixture
def pair(queue_url: str, gates: list[ModelGate]) -> tuple[ModelGate, ModelGate]:
    """Two processes' gates on one board: a server's and a worker's."""
    gates += [gate_of(queue_url), gate_of(queue_url)]
    return gates[0], gates[1]


def wait_for(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class BuildCall:
    """A build call in a thread: it records when it got its slot, and holds it until told."""

    def __init__(self, gate: ModelGate, purpose: str = "extract") -> None:
        self.started_at: float | None = None
        self.finish = threading.Event()
        self.error: BaseException | None = None
        self._gate, self._purpose = gate, purpose
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            with self._gate.slot(self._purpose):
                self.started_at = time.monotonic()
                self.finish.wait(WAIT_S)
        except BaseException as exc:  # recorded for the test to see
            self.error = exc

    def done(self) -> None:
        self.finish.set()
        self.thread.join(WAIT_S)
        assert self.error is None, self.error


def held_call(worker: ModelGate, questions: int = 1) -> BuildCall:
    """A build call of ``worker`` once it sees ``questions`` elsewhere, waiting for them."""
    wait_for(lambda: worker.snapshot()["questions_elsewhere"] == questions, "the question")
    call = BuildCall(worker)
    wait_for(lambda: worker.snapshot()["waiting"]["extract"] == 1, "the call to wait")
    return call


def test_a_question_in_one_process_holds_build_calls_in_another_until_it_ends(
        pair: tuple[ModelGate, ModelGate]) -> None:
    server, worker = pair
    server.begin_question()
    call = held_call(worker)
    assert worker.snapshot()["build_paused"] and call.started_at is None
    ended_at = time.monotonic()
    server.end_question()
    wait_for(lambda: call.started_at is not None, "the call to start")
    assert call.started_at is not None and call.started_at > ended_at
    assert worker.snapshot()["questions_elsewhere"] == 0
    assert server.snapshot()["questions_elsewhere"] == 0  # its own are not counted twice
    call.done()


def test_questions_never_wait_for_the_shared_state(pair: tuple[ModelGate, ModelGate]) -> None:
    server, other = pair
    other.begin_question()
    wait_for(lambda: server.snapshot()["questions_elsewhere"] == 1, "the other's question")
    with server.slot("answer") as slot:  # an interactive call starts at once
        assert slot.purpose == "answer"
    other.end_question()


def test_a_question_elsewhere_preempts_a_build_call_in_flight(
        pair: tuple[ModelGate, ModelGate]) -> None:
    server, worker = pair
    with worker.slot("extract") as slot:
        request: Future[str] = Future()
        slot.attach(request)
        server.begin_question()
        wait_for(request.cancelled, "the build call to be cancelled")
        assert isinstance(slot.reason(), Preempted)
    assert worker.preemptions == 1
    server.end_question()


def test_questions_for_another_model_hold_nothing(queue_url: str,
                                                  gates: list[ModelGate]) -> None:
    server = gate_of(queue_url, model_scope("http://other-model.test/v1", "m"))
    witness, worker = gate_of(queue_url), gate_of(queue_url)
    gates += [server, witness, worker]
    server.begin_question()
    witness.begin_question()  # the same model: seen by the worker
    wait_for(lambda: worker.snapshot()["questions_elsewhere"] == 1, "the same model's question")
    witness.end_question()
    wait_for(lambda: worker.snapshot()["questions_elsewhere"] == 0, "it to end")
    call = BuildCall(worker)
    wait_for(lambda: call.started_at is not None, "the call to start")
    call.done()
    server.end_question()


CRASHING = """
import sys, time
from graphready.llm.gate import ModelGate
from graphready.llm.shared_gate import SharedQuestions
gate = ModelGate(board=SharedQuestions(sys.argv[1], sys.argv[2], float(sys.argv[3])))
gate.begin_question()
print("asking", flush=True)
time.sleep(600)
"""


def test_a_killed_servers_question_holds_the_build_back_for_its_hold_only(
        queue_url: str, gates: list[ModelGate]) -> None:
    worker = gate_of(queue_url)
    gates.append(worker)
    crashing = subprocess.Popen([sys.executable, "-c", CRASHING, queue_url, SCOPE, str(HOLD_S)],
                                stdout=subprocess.PIPE)
    try:
        assert crashing.stdout is not None and crashing.stdout.readline() == b"asking\n"
        call = held_call(worker)
        killed_at = time.monotonic()
        crashing.kill()  # SIGKILL: it never withdraws its question
        crashing.wait(WAIT_S)
        wait_for(lambda: call.started_at is not None, "the hold to lapse")
        assert call.started_at is not None and call.started_at > killed_at
        assert worker.snapshot()["questions_elsewhere"] == 0
        call.done()
    finally:
        if crashing.poll() is None:
            crashing.kill()
            crashing.wait(WAIT_S)


def test_a_stopped_gate_refuses_a_build_call_held_by_a_question_elsewhere(
        pair: tuple[ModelGate, ModelGate]) -> None:
    server, worker = pair
    server.begin_question()
    call = held_call(worker)
    worker.stop()  # a worker told to stop does not wait for the question
    call.thread.join(WAIT_S)
    assert isinstance(call.error, LLMCancelled)
    server.end_question()
