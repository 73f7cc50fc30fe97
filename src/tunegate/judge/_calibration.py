"""Judge calibration: how well does the judge agree with people?

evals/judge_calibration.jsonl holds outputs that people graded on the rubric's
scale, one JSON object a line: ``id``, ``input``, ``output``, ``human_score`` and
optionally ``reference`` and free ``meta`` (who labelled it, when). The judge grades
the same outputs; agreement is Cohen's κ (chance-corrected, scikit-learn) and
accuracy with a Wilson interval. These measure; the gate ``judge_calibrated`` decides
whether they are good enough.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tunegate.data import DataError
from tunegate.judge._judge import GradeItem, Judge, PointwiseVerdict
from tunegate.metrics.paired import wilson_interval

KappaWeights = Literal["linear", "quadratic"] | None
CONFIDENCE = 0.95


class CalibrationItem(BaseModel):
    """One output a person graded."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    input: str
    output: str
    human_score: int = Field(ge=0)
    reference: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class Agreement:
    """Judge vs human labels: κ, accuracy and its interval, and the confusion matrix
    (rows: human, columns: judge)."""

    n: int
    kappa: float
    accuracy: float
    accuracy_low: float
    accuracy_high: float
    labels: tuple[str, ...]
    confusion: tuple[tuple[int, ...], ...]
    weights: KappaWeights = None
    confidence: float = CONFIDENCE

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CalibrationReport:
    """The judge's verdicts on the calibration set and, when all could be read, the
    agreement. ``errors`` lists (id, error) of verdicts the judge could not give."""

    agreement: Agreement | None
    verdicts: tuple[PointwiseVerdict, ...]
    human: tuple[str, ...]
    judged: tuple[str | None, ...]
    errors: tuple[tuple[str, str], ...] = field(default=())

    def disagreements(self) -> list[dict[str, Any]]:
        """Items where the judge and the person differ, with the judge's reason."""
        return [
            {"id": v.id, "human": h, "judge": j, "reason": v.reason}
            for v, h, j in zip(self.verdicts, self.human, self.judged, strict=True)
            if v.error is None and h != j
        ]


def load_calibration(path: str | Path) -> list[CalibrationItem]:
    """Read the labelled set; a bad line raises :class:`DataError` with its number."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(path, None, None, f"cannot read ({exc.strerror})") from None
    items: list[CalibrationItem] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = CalibrationItem.model_validate(json.loads(line))
        except json.JSONDecodeError as exc:
            raise DataError(path, number, None, f"not JSON: {exc.msg}") from None
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"]) or None
            raise DataError(path, number, where, error["msg"]) from None
        if item.id in seen:
            raise DataError(path, number, "id", f"duplicate id {item.id!r} (line {seen[item.id]})")
        seen[item.id] = number
        items.append(item)
    if not items:
        raise DataError(path, None, None, "no labelled items")
    return items


def agreement(human: Sequence[str], judged: Sequence[str], *, weights: KappaWeights = None,
              confidence: float = CONFIDENCE) -> Agreement:
    """Cohen's κ and accuracy (Wilson interval) of two label sequences.

    κ is NaN when it is undefined (both raters used one and the same label); a gate
    treats that as "could not be evaluated", not as agreement.
    """
    if len(human) != len(judged) or not human:
        raise ValueError(f"need as many judge labels as human labels, at least one: "
                         f"got {len(human)} and {len(judged)}")
    labels = sorted(set(human) | set(judged), key=_label_order)
    kappa = math.nan
    if len(labels) > 1:
        from sklearn.metrics import cohen_kappa_score

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # 0/0 when κ is undefined
            kappa = float(cohen_kappa_score(human, judged, labels=labels, weights=weights))
    hits = sum(h == j for h, j in zip(human, judged, strict=True))
    low, high = wilson_interval(hits, len(human), confidence)
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for h, j in zip(human, judged, strict=True):
        matrix[index[h]][index[j]] += 1
    return Agreement(len(human), kappa if math.isfinite(kappa) else math.nan,
                     hits / len(human), low, high, tuple(labels),
                     tuple(tuple(row) for row in matrix), weights, confidence)


def calibrate(judge: Judge, items: Sequence[CalibrationItem], *, pass_score: int | None = None,
              weights: KappaWeights = None) -> CalibrationReport:
    """Let the judge grade the labelled outputs and measure its agreement.

    With ``pass_score``, both sides are compared as pass/fail (score >= pass_score)
    instead of as scores. When any verdict is an error there is no agreement: the
    report lists the errors and a gate fails closed on it.
    """
    verdicts = judge.grade([GradeItem(i.id, i.input, i.output, i.reference) for i in items])
    human = tuple(_label(i.human_score, pass_score) for i in items)
    judged = tuple(None if v.score is None else _label(v.score, pass_score) for v in verdicts)
    errors = tuple((v.id, v.error) for v in verdicts if v.error is not None)
    result = None
    if not errors:
        result = agreement(human, [j for j in judged if j is not None], weights=weights)
    return CalibrationReport(result, tuple(verdicts), human, judged, errors)


def _label(score: int, pass_score: int | None) -> str:
    if pass_score is None:
        return str(score)
    return "pass" if score >= pass_score else "fail"


def _label_order(label: str) -> tuple[int, str]:
    return (0, f"{int(label):09d}") if label.isdigit() else (1, label)
