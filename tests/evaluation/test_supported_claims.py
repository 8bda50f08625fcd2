"""The share of an answer's claims that the passages they cite support, as ``graphready eval``
counts it (agent/support.py's check on each claim against its cited passages)."""

from __future__ import annotations

from graphready.agent.agent import ChatResult
from graphready.agent.answer import Citation, Claim
from graphready.evaluation.runner import ModeResult, supported_claims

TEXTS = {"c1": "Alan Mathison Turing was born in London on 23 June 1912.",
         "c2": "Colossus was designed by Tommy Flowers at Dollis Hill."}


def _reply(*claims: Claim) -> ChatResult:
    citations = [Citation(1, "turing", "c1", "Alan Turing", TEXTS["c1"], 0.5),
                 Citation(2, "colossus", "c2", "Colossus", TEXTS["c2"], 0.4),
                 Citation(3, "gone", "c3", "Deleted", "...", 0.1)]
    return ChatResult(answer="", citations=citations, tools_used=(), graph_used=False,
                      mode="auto", claims=claims)


def test_each_claim_is_checked_against_the_passages_it_cites() -> None:
    reply = _reply(
        Claim("Alan Turing was born in London in 1912.", (1,), True),  # held by [1]
        Claim("Alan Turing was born in Paris in 1915.", (1,), True),  # a number [1] lacks
        Claim("Tommy Flowers designed Colossus.", (1,), True),  # cites the wrong passage
        Claim("Tommy Flowers designed Colossus.", (1, 2), True),  # [2] holds it
        Claim("Colossus was designed by Tommy Flowers.", (), False),  # cites nothing
        Claim("Colossus was designed by Tommy Flowers.", (3,), True),  # a passage not found
    )
    assert supported_claims(reply, TEXTS) == (2, 6)


def test_the_share_is_over_all_claims_and_zero_without_any() -> None:
    result = ModeResult("auto", claims=8, claims_supported=6)
    assert result.supported == 75.0
    assert result.as_dict()["supported_claims"] == 75.0 and result.as_dict()["claims"] == 8
    assert ModeResult("auto").supported == 0.0
