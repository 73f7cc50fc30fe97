"""What one lm-eval task measured on one model, document by document.

Plain data (no lm-eval, no torch) so that gates, records and the result cache can use
it without the evaluation stack.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


class CapabilityError(RuntimeError):
    """A capability task that could not be evaluated; the message says why."""


@dataclass(frozen=True)
class DocOutcome:
    """One document: whether the model got it right, and what it answered.

    ``key`` identifies the document across models (``<task>/<doc_id>``, where a group
    names the subtask the document belongs to), ``doc_hash`` is lm-eval's hash of the
    document, so a pairing can check that it compares the same text.
    """

    key: str
    doc_hash: str
    correct: bool
    prompt: str
    target: str
    answer: str


@dataclass(frozen=True)
class TaskResult:
    """The per-document outcomes of one configured task on one model, or why it failed.

    ``cached`` says the outcomes came from the result cache rather than lm-eval.
    """

    task: str
    metric: str
    model_fingerprint: str
    docs: tuple[DocOutcome, ...] = ()
    error: str | None = None
    seconds: float = 0.0
    cached: bool = False
    lm_eval_version: str = ""
    task_hash: str = ""
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        """Share of documents right; NaN when there are none."""
        return sum(d.correct for d in self.docs) / len(self.docs) if self.docs else float("nan")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (the result cache's file format)."""
        record = asdict(self)
        record.pop("cached")
        return record

    @classmethod
    def from_dict(cls, record: dict[str, Any], *, cached: bool = False) -> TaskResult:
        docs = tuple(DocOutcome(**doc) for doc in record.get("docs", ()))
        return cls(**{**record, "docs": docs, "cached": cached})
