"""Prompts the model refused. A server answers 400 (or 413) to one prompt it will not take: too
long for its context, or content it filters. That is about the prompt, not the server: the build
does that chunk or community the offline way, counts it, and keeps the first reasons for
``/status``, instead of failing the stage (a retry would send the same content-hashed prompt
and get the same answer). When the model has refused every prompt of the stage, at least two,
and accepted none, it is the request that is wrong (an option the server does not support, a
model it does not know): the first refusal is raised, and the stage fails as it does for any
other :class:`~graphready.errors.LLMError`.

A :class:`Refusals` is used from one thread (the one that collects the replies).
"""

from __future__ import annotations

from typing import TypeGuard

from graphready.errors import LLMRejected

PROMPT_STATUSES = frozenset({400, 413})
"""The statuses that refuse one prompt (401, 403, 404, 422 and the rest refuse every request:
a key, a model, an option)."""
MAX_REASONS = 5
"""How many refusals are kept with their reasons (all are counted)."""
MAX_REASON_CHARS = 600
ALL_REFUSED = 2
"""Refusals, with no prompt accepted, that mean the request itself is wrong."""


def refuses_prompt(error: BaseException | None) -> TypeGuard[LLMRejected]:
    """Whether ``error`` is the model refusing one prompt (not the server refusing us)."""
    return isinstance(error, LLMRejected) and error.status in PROMPT_STATUSES


class Refusals:
    """The prompts of one stage the model refused, and how many it accepted."""

    def __init__(self) -> None:
        self.count = 0
        self.accepted = 0
        self.reasons: list[str] = []
        self._first: LLMRejected | None = None

    def accept(self) -> None:
        """The model answered a prompt (well or badly: it took the request)."""
        self.accepted += 1

    def refuse(self, what: str, error: LLMRejected, instead: str) -> None:
        """The model refused the prompt about ``what``; ``instead`` says what is done."""
        self.count += 1
        if self._first is None:
            self._first = error
        if len(self.reasons) < MAX_REASONS:
            self.reasons.append(f"{what}: {error}; {instead}"[:MAX_REASON_CHARS])

    def check(self) -> None:
        """Raise the first refusal when every prompt so far was refused (the request is
        wrong, not a prompt)."""
        if self.accepted == 0 and self.count >= ALL_REFUSED and self._first is not None:
            raise self._first
