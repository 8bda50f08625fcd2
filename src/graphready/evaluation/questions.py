"""Question sets: ``{"id", "question", "answers": [...], "supporting_ids": [...]}`` a line."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from graphready.errors import GraphReadyError


class QuestionFileError(GraphReadyError):
    """A question file cannot be read; the message names the file and line."""

    code = "question_file_error"


@dataclass(frozen=True, slots=True)
class Question:
    """One evaluation question with its reference answers and supporting passage ids."""

    id: str
    question: str
    answers: tuple[str, ...]
    supporting_ids: tuple[str, ...]


def _strings(value: object) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
        return tuple(str(v) for v in value)
    return None


def load_questions(path: Path, limit: int | None = None) -> list[Question]:
    """The questions of a ``.jsonl`` file; a malformed line is an error naming it."""
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionFileError(f"cannot read questions file {path}: {exc}") from None
    out: list[Question] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise QuestionFileError(f"{where}: not valid JSON ({exc})") from None
        if not isinstance(row, dict) or not isinstance(row.get("question"), str):
            raise QuestionFileError(f"{where}: expected an object with a 'question' string")
        answers = _strings(row.get("answers", []))
        supporting = _strings(row.get("supporting_ids", []))
        if answers is None or supporting is None:
            raise QuestionFileError(f"{where}: 'answers' and 'supporting_ids' must be lists "
                                    "of strings")
        out.append(Question(str(row.get("id", number)), row["question"], answers, supporting))
        if limit is not None and len(out) >= limit:
            break
    return out


def not_held_by(questions: Sequence[Question], corpus: Path) -> list[Question]:
    """The ``questions`` (asked of another corpus) that ``corpus`` cannot answer as far as
    their answers show: a question whose reference answer occurs in the corpus's text
    (normalised, as whole words) is left out."""
    from .metrics import normalize_answer

    text = " ".join(normalize_answer(f"{r.get('title', '')} {r.get('text', '')}")
                    for r in _rows(corpus))
    text = f" {text} "
    return [q for q in questions
            if not any((a := normalize_answer(answer)) and f" {a} " in text
                       for answer in q.answers)]


def _rows(corpus: Path) -> list[dict[str, object]]:
    try:
        lines = corpus.read_text("utf-8").splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise QuestionFileError(f"cannot read corpus {corpus}: {exc}") from None
    return [r for r in rows if isinstance(r, dict)]
