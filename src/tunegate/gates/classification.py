"""Gates over classification metrics: a macro-F1 minimum and a per-class F1 floor.

The metrics are measured elsewhere (:mod:`tunegate.metrics.classification`); these
functions only hold them to thresholds and explain the verdict, including where the
examples of a weak class went.
"""

from __future__ import annotations

import math
from typing import Any

from tunegate.gates._result import Direction, GateResult, gate_error
from tunegate.metrics.classification import ClassificationMetrics

OFF_LABEL = "(outside labels)"
"""Shown as the confusion target when a class's examples were predicted off the label set."""


def macro_f1_at_least(
    metrics: ClassificationMetrics, minimum: float, name: str = "macro_f1"
) -> GateResult:
    """Pass when macro-F1 is at least ``minimum``: every class counts the same."""
    _check_fraction("minimum", minimum)
    values: dict[str, float] = {"macro_f1": metrics.macro_f1, "accuracy": metrics.accuracy}
    thresholds = {"macro_f1": minimum}
    directions: dict[str, Direction] = {"macro_f1": ">="}
    evidence = _classification_evidence(metrics)
    problem = _unjudgeable(metrics)
    if problem is not None:
        return gate_error(
            name,
            problem,
            values=values,
            thresholds=thresholds,
            directions=directions,
            evidence=evidence,
        )
    passed = metrics.macro_f1 >= minimum
    examples = sum(m.support for m in metrics.per_class.values())
    reason = (
        f"macro-F1 {metrics.macro_f1:.4f} {'>=' if passed else '<'} minimum {minimum:.4f}"
        f" ({len(metrics.labels)} classes, {examples} examples)"
    )
    return GateResult(name, passed, values, thresholds, evidence, reason, None, directions)


def class_f1_floor(
    metrics: ClassificationMetrics, floor: float, name: str = "class_f1_floor"
) -> GateResult:
    """Pass when every class has F1 at least ``floor``: no class may be sacrificed.

    A failure lists each class below the floor with its precision, recall, support and
    the label most of its examples were mistaken for.
    """
    _check_fraction("floor", floor)
    values: dict[str, float] = {f"f1[{c}]": m.f1 for c, m in metrics.per_class.items()}
    thresholds = {key: floor for key in values}
    directions: dict[str, Direction] = {key: ">=" for key in values}
    evidence = _classification_evidence(metrics)
    problem = _unjudgeable(metrics)
    if problem is not None:
        return gate_error(
            name,
            problem,
            values=values,
            thresholds=thresholds,
            directions=directions,
            evidence=evidence,
        )
    below = [
        _weak_class_row(metrics, label)
        for label in metrics.labels
        if metrics.per_class[label].f1 < floor
    ]
    if below:
        listed = ", ".join(f"{row['class']} ({row['f1']:.4f})" for row in below)
        reason = (
            f"{len(below)} of {len(metrics.labels)} classes below the F1 floor {floor:.4f}: "
            f"{listed}"
        )
        evidence = {"below_floor": below, **evidence}
    else:
        lowest = min(metrics.labels, key=lambda label: metrics.per_class[label].f1)
        reason = (
            f"all {len(metrics.labels)} classes have F1 >= {floor:.4f}"
            f" (lowest: {lowest} {metrics.per_class[lowest].f1:.4f})"
        )
    return GateResult(name, not below, values, thresholds, evidence, reason, None, directions)


def _check_fraction(what: str, threshold: float) -> None:
    """Thresholds are configuration: a bad one is an error, not a failed gate."""
    if not (isinstance(threshold, int | float) and 0.0 <= threshold <= 1.0):
        raise ValueError(f"{what} must be a number in [0, 1], got {threshold!r}")


def _unjudgeable(metrics: ClassificationMetrics) -> str | None:
    """Why these metrics cannot be held to a threshold, or None when they can."""
    numbers = {
        "accuracy": metrics.accuracy,
        "macro_f1": metrics.macro_f1,
        "micro_f1": metrics.micro_f1,
        "weighted_f1": metrics.weighted_f1,
        "macro_precision": metrics.macro_precision,
        "macro_recall": metrics.macro_recall,
    }
    for label, m in metrics.per_class.items():
        numbers.update(
            {
                f"{k}[{label}]": v
                for k, v in (("precision", m.precision), ("recall", m.recall), ("f1", m.f1))
            }
        )
    bad = [f"{k}={v}" for k, v in numbers.items() if not math.isfinite(v)]
    if bad:
        return "non-finite metric values: " + ", ".join(bad)
    absent = [label for label in metrics.labels if metrics.per_class[label].support == 0]
    if absent:
        return (
            f"no examples of class(es) {', '.join(absent)} in the evaluation set;"
            " their F1 cannot be judged (add examples or drop them from the labels)"
        )
    return None


def _classification_evidence(metrics: ClassificationMetrics) -> dict[str, Any]:
    """The per-class table and the confusion matrix, in label order."""
    per_class = [
        {
            "class": label,
            "f1": m.f1,
            "precision": m.precision,
            "recall": m.recall,
            "support": m.support,
        }
        for label, m in ((label, metrics.per_class[label]) for label in metrics.labels)
    ]
    confusion = {
        "labels": list(metrics.labels),
        "matrix": [list(row) for row in metrics.confusion],
    }
    return {"per_class": per_class, "confusion": confusion}


def _weak_class_row(metrics: ClassificationMetrics, label: str) -> dict[str, Any]:
    """One class below the floor: its numbers, where its examples went, and from where
    its false positives came."""
    m = metrics.per_class[label]
    i = metrics.labels.index(label)
    row = metrics.confusion[i]
    went_to = [
        (n, other) for j, (n, other) in enumerate(zip(row, metrics.labels, strict=True)) if j != i
    ]
    went_to.append((m.support - sum(row), OFF_LABEL))
    column = [(metrics.confusion[j][i], other) for j, other in enumerate(metrics.labels) if j != i]
    return {
        "class": label,
        "f1": m.f1,
        "precision": m.precision,
        "recall": m.recall,
        "support": m.support,
        "mostly_confused_with": _top(went_to),
        "false_positives_mostly_from": _top(column),
    }


def _top(counts: list[tuple[int, str]]) -> str | None:
    """``"label (n)"`` for the largest non-zero count (first label wins ties), else None."""
    best = max(counts, key=lambda pair: pair[0], default=(0, ""))
    return f"{best[1]} ({best[0]})" if best[0] > 0 else None
