"""Gates over classification metrics: minimums, floors, regression and improvement.

The metrics are measured elsewhere (:mod:`tunegate.metrics.classification` and
:mod:`tunegate.metrics.paired`); these functions only hold them to thresholds and
explain the verdict, including where the examples of a weak class went.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

from tunegate.gates._result import Direction, GateResult, gate_error
from tunegate.metrics.classification import ClassificationMetrics
from tunegate.metrics.paired import (
    BootstrapResult,
    macro_f1_from_indices,
    paired_bootstrap,
    paired_bootstrap_metric,
)

OFF_LABEL = "(outside labels)"
"""Shown as the confusion target when a class's examples were predicted off the label set."""

F1_TOLERANCE = 1e-12
"""Float round-off allowed when comparing an F1 drop with its limit."""

CONFIDENCE = 0.95
"""Confidence level of the bootstrap interval used by :func:`improvement_over`."""

ImprovementMetric = Literal["macro_f1", "accuracy"]
"""The metrics :func:`improvement_over` can compare."""


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


def no_class_regression(
    candidate: ClassificationMetrics,
    reference: ClassificationMetrics,
    max_drop: float,
    name: str = "class_no_regression",
) -> GateResult:
    """Pass when no class's F1 dropped by more than ``max_drop`` versus the reference.

    A better macro-F1 can hide a class that got worse; this gate looks at each class.
    A drop exactly at ``max_drop`` passes (up to ``F1_TOLERANCE`` of float round-off).
    The evidence lists every class whose F1 dropped, with both F1s. Label sets that
    differ cannot be compared class by class, so the gate is then not evaluated.
    """
    _check_fraction("max_drop", max_drop)
    thresholds = {f"f1_drop[{label}]": float(max_drop) for label in reference.labels}
    directions: dict[str, Direction] = {key: "<=" for key in thresholds}
    problem = _label_mismatch(candidate, reference)
    for side, metrics in (("candidate", candidate), ("reference", reference)):
        trouble = _unjudgeable(metrics)
        if problem is None and trouble is not None:
            problem = f"{side}: {trouble}"
    if problem is not None:
        return gate_error(name, problem, thresholds=thresholds, directions=directions)
    rows = [_drop_row(label, candidate, reference, max_drop) for label in reference.labels]
    values: dict[str, float] = {f"f1_drop[{row['class']}]": row["drop"] for row in rows}
    values.update(
        {"macro_f1[reference]": reference.macro_f1, "macro_f1[candidate]": candidate.macro_f1}
    )
    over = [row for row in rows if row["over_limit"]]
    evidence: dict[str, Any] = {"dropped": [row for row in rows if row["drop"] > 0]}
    if over:
        listed = ", ".join(
            f"{row['class']} ({row['reference_f1']:.4f} -> {row['candidate_f1']:.4f})"
            for row in over
        )
        reason = (
            f"{len(over)} of {len(rows)} classes lost more than {max_drop:.4f} F1"
            f" versus the reference: {listed}"
        )
    else:
        worst = max(rows, key=lambda row: row["drop"])
        reason = (
            f"no class lost more than {max_drop:.4f} F1 versus the reference"
            f" (largest drop: {worst['class']} {worst['drop']:.4f})"
        )
    return GateResult(name, not over, values, thresholds, evidence, reason, None, directions)


def improvement_over(
    y_true: Sequence[str],
    reference_pred: Sequence[str],
    candidate_pred: Sequence[str],
    labels: Sequence[str],
    min_delta: float,
    metric: ImprovementMetric = "macro_f1",
    seed: int = 0,
    resamples: int = 2000,
    name: str = "improvement",
) -> GateResult:
    """Pass when the candidate beats the reference by ``min_delta`` and reliably so.

    Two conditions: the observed ``metric`` (candidate − reference) is at least
    ``min_delta``, and the lower bound of the 95 % paired bootstrap interval of that
    difference is above zero, so the gain is not an accident of which examples were
    drawn. Predictions outside ``labels`` count as misses. Deterministic for a seed.
    The ``ci_low`` threshold shows as ``>= 0`` (directions know only ``>=``/``<=``),
    but the rule is strict: a lower bound of exactly 0 fails, and the reason says so.
    """
    if metric not in ("macro_f1", "accuracy"):
        raise ValueError(f"metric must be 'macro_f1' or 'accuracy', got {metric!r}")
    if not (isinstance(min_delta, int | float) and -1.0 <= min_delta <= 1.0):
        raise ValueError(f"min_delta must be a number in [-1, 1], got {min_delta!r}")
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 1:
        raise ValueError(f"resamples must be a positive integer, got {resamples!r}")
    thresholds = {"delta": float(min_delta), "ci_low": 0.0}
    directions: dict[str, Direction] = {"delta": ">=", "ci_low": ">="}
    problem = _prediction_problem(y_true, reference_pred, candidate_pred, labels,
                                  every_class=metric == "macro_f1")
    if problem is not None:
        return gate_error(name, problem, thresholds=thresholds, directions=directions)
    try:
        reference_value, bootstrap = _bootstrap_difference(
            y_true, reference_pred, candidate_pred, labels, metric, seed, resamples
        )
    except ValueError as exc:
        return gate_error(name, f"no interval: {exc}", thresholds=thresholds, directions=directions)
    delta, low, high = bootstrap.difference, bootstrap.low, bootstrap.high
    values = {
        f"{metric}[reference]": reference_value,
        f"{metric}[candidate]": reference_value + delta,
        "delta": delta,
        "ci_low": low,
        "ci_high": high,
    }
    evidence: dict[str, Any] = {"metric": metric, "bootstrap": bootstrap.to_dict()}
    big_enough, reliable = delta >= min_delta, low > 0.0
    reason = (
        f"{metric} delta {delta:+.4f} {'>=' if big_enough else '<'} min_delta {min_delta:+.4f};"
        f" {CONFIDENCE:.0%} CI [{low:+.4f}, {high:+.4f}]"
        f" lower bound {'above' if reliable else 'not above'} 0"
    )
    passed = big_enough and reliable
    return GateResult(name, passed, values, thresholds, evidence, reason, None, directions)


def _bootstrap_difference(
    y_true: Sequence[str],
    reference_pred: Sequence[str],
    candidate_pred: Sequence[str],
    labels: Sequence[str],
    metric: ImprovementMetric,
    seed: int,
    resamples: int,
) -> tuple[float, BootstrapResult]:
    """The reference's value and the bootstrap of candidate − reference.

    Labels become indices (off-label predictions -1) so each resample is cheap.
    """
    index = {label: i for i, label in enumerate(labels)}
    truth = [index[t] for t in y_true]
    reference = [index.get(p, -1) for p in reference_pred]
    candidate = [index.get(p, -1) for p in candidate_pred]
    if metric == "accuracy":
        ref_ok = [float(t == p) for t, p in zip(truth, reference, strict=True)]
        cand_ok = [float(t == p) for t, p in zip(truth, candidate, strict=True)]
        bootstrap = paired_bootstrap(
            ref_ok, cand_ok, resamples=resamples, confidence=CONFIDENCE, seed=seed
        )
        return sum(ref_ok) / len(ref_ok), bootstrap
    n_classes = len(labels)

    def macro_f1(true: Any, pred: Any) -> float:
        return macro_f1_from_indices(true, pred, n_classes)

    bootstrap = paired_bootstrap_metric(
        truth, reference, candidate, macro_f1, resamples=resamples, confidence=CONFIDENCE, seed=seed
    )
    return macro_f1(truth, reference), bootstrap


def _prediction_problem(
    y_true: Sequence[str],
    reference_pred: Sequence[str],
    candidate_pred: Sequence[str],
    labels: Sequence[str],
    every_class: bool = True,
) -> str | None:
    """Why the predictions cannot be compared, or None when they can. ``every_class``:
    the metric needs examples of every class (macro-F1 does, accuracy does not)."""
    lengths = (len(y_true), len(reference_pred), len(candidate_pred))
    if len(set(lengths)) > 1:
        return (
            "y_true, reference_pred and candidate_pred have different lengths:"
            f" {lengths[0]}, {lengths[1]}, {lengths[2]}"
        )
    if not y_true:
        return "no examples"
    if not labels or len(set(labels)) != len(labels):
        return f"labels must be non-empty and distinct, got {list(labels)!r}"
    unknown = sorted({t for t in y_true if t not in set(labels)})
    if unknown:
        return f"true labels outside the label set: {', '.join(map(str, unknown[:10]))}"
    absent = [label for label in labels if label not in set(y_true)]
    if absent and every_class:
        return (
            f"no examples of class(es) {', '.join(absent)} in the evaluation set;"
            " their F1 cannot be judged (add examples or drop them from the labels)"
        )
    return None


def _label_mismatch(
    candidate: ClassificationMetrics, reference: ClassificationMetrics
) -> str | None:
    """Why two metric sets cannot be compared class by class, or None when they can."""
    if set(candidate.labels) == set(reference.labels):
        return None
    only_candidate = sorted(set(candidate.labels) - set(reference.labels))
    only_reference = sorted(set(reference.labels) - set(candidate.labels))
    return (
        "candidate and reference have different label sets:"
        f" only in candidate {only_candidate}, only in reference {only_reference}"
    )


def _drop_row(
    label: str, candidate: ClassificationMetrics, reference: ClassificationMetrics, limit: float
) -> dict[str, Any]:
    """One class: both F1s, the drop (reference − candidate), and whether it is too big."""
    before, after = reference.per_class[label].f1, candidate.per_class[label].f1
    drop = before - after
    return {
        "class": label,
        "reference_f1": before,
        "candidate_f1": after,
        "drop": drop,
        "over_limit": drop > limit + F1_TOLERANCE,
    }


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
