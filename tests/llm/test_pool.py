"""``llm/pool.py``: replies taken as they come, a refused prompt handed back, any other error
failing fast (the prompts not yet sent are never sent)."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from graphready.errors import LLMError, LLMRejected
from graphready.llm.pool import as_answered


def test_replies_and_refusals_come_back_with_what_they_ask_about() -> None:
    def ask(n: int) -> int:
        if n == 3:
            raise LLMRejected("too long for the context", status=400)
        return n * 10

    with ThreadPoolExecutor(2) as pool:
        futures: dict[Future[int], str] = {pool.submit(ask, n): f"item{n}" for n in range(5)}
        replies = [reply for answered in as_answered(futures) for reply in answered]
    by_item = dict(replies)
    assert len(replies) == 5
    assert {k: v for k, v in by_item.items() if k != "item3"} == {
        "item0": 0, "item1": 10, "item2": 20, "item4": 40}
    refused = by_item["item3"]
    assert isinstance(refused, LLMRejected) and refused.status == 400


@pytest.mark.parametrize("error", [LLMError("connection refused"),
                                   LLMRejected("unknown model", status=404)])
def test_another_error_is_raised_and_the_queued_prompts_are_not_sent(error: LLMError) -> None:
    """One worker: the first prompt fails, the second holds the worker until the error has
    been raised, the others wait in the queue: they are cancelled, and never run."""
    started: list[int] = []
    release = threading.Event()

    def ask(n: int) -> int:
        started.append(n)
        if n == 0:
            raise error
        if n == 1:
            release.wait(10)
        return n

    with ThreadPoolExecutor(1) as pool:
        futures: dict[Future[int], int] = {pool.submit(ask, n): n for n in range(4)}
        try:
            with pytest.raises(type(error)) as caught:
                for _ in as_answered(futures):
                    pass
        finally:
            release.set()
    assert caught.value is error
    assert 2 not in started and 3 not in started
    assert all(f.cancelled() for f, n in futures.items() if n > 1)
