"""Many prompts at once on a thread pool, failing fast: the build sends a batch of chunks to
extract, or a level of communities to report on, and takes the replies as they come. A prompt
the model refuses (see :mod:`graphready.llm.refusals`) is handed back with the replies, for the
caller to do that item another way; any other error cancels the prompts not yet sent and is
raised, so an outage fails the stage at once instead of after every queued prompt has timed
out."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import TypeVar

from graphready.errors import LLMRejected
from graphready.llm.refusals import refuses_prompt

K = TypeVar("K")
R = TypeVar("R")


def as_answered(futures: Mapping[Future[R], K]) -> Iterator[list[tuple[K, R | LLMRejected]]]:
    """The replies of ``futures`` (each mapped to what it asks about), a list of ``(what,
    reply)`` each time some come in: the future's result, or the :class:`LLMRejected` of a
    prompt the model refused. Any other error cancels the futures not yet started and is
    raised."""
    pending = set(futures)
    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        answered: list[tuple[K, R | LLMRejected]] = []
        for future in done:
            error = future.exception()
            if refuses_prompt(error):
                answered.append((futures[future], error))
                continue
            if error is not None:
                for other in pending:
                    other.cancel()
                raise error
            answered.append((futures[future], future.result()))
        yield answered
