"""Floors and ceilings on registered metrics, their direction taken from the registry.

A metric declares whether higher is better (:data:`tunegate.metrics.METRICS`); a floor
gate holds it to a threshold in that direction, so ``brier_score`` gets a ceiling and
``json_parse_rate`` a floor without the caller saying which. The thin helpers bundle
the bounds of one concern (calibration, format validity, field accuracy) into one
:class:`GateResult`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from tunegate.gates._result import MAX_ROWS, Direction, GateResult, gate_error
from tunegate.metrics import METRICS
from tunegate.metrics.calibration import CalibrationMetrics
from tunegate.metrics.structure import StructureMetrics
from tunegate.metrics.text import BertScorer, rouge_scores, shared_bert_scorer

Bound = tuple[str, str, float, float]
"""One bound: (key in values, registered metric name, measured value, threshold)."""


def metric_floor(
    name: str,
    value: float,
    threshold: float,
    gate_name: str | None = None,
    evidence: Mapping[str, Any] | None = None,
) -> GateResult:
    """Hold the registered metric ``name`` to ``threshold`` in its direction.

    ``>=`` when higher is better, ``<=`` otherwise; a value exactly at the threshold
    passes. An unknown metric or a non-finite threshold is a configuration error
    (ValueError); a non-finite value means the gate could not be evaluated.
    """
    return _bounded_gate(
        gate_name if gate_name is not None else name,
        [(name, name, value, threshold)],
        dict(evidence or {}),
    )


def calibration_floor(
    metrics: CalibrationMetrics,
    max_ece: float | None = None,
    max_brier: float | None = None,
    min_gold_logprob: float | None = None,
    name: str = "calibration",
) -> GateResult:
    """Hold the calibration metrics to the bounds given; at least one is required."""
    candidates = [
        ("expected_calibration_error", metrics.expected_calibration_error, max_ece),
        ("brier_score", metrics.brier_score, max_brier),
        ("mean_gold_logprob", metrics.mean_gold_logprob, min_gold_logprob),
    ]
    bounds = [(key, key, value, limit) for key, value, limit in candidates if limit is not None]
    if not bounds:
        raise ValueError("give at least one of max_ece, max_brier, min_gold_logprob")
    evidence = {"accuracy": metrics.accuracy, "bins": metrics.bins}
    return _bounded_gate(name, bounds, evidence)


def format_validity_floor(
    metrics: StructureMetrics,
    min_parse_rate: float,
    min_schema_validity: float,
    name: str = "format_validity",
) -> GateResult:
    """Hold the JSON parse rate and schema validity rate to their minimums.

    The evidence lists up to ``MAX_ROWS`` failing outputs (index and reason), lowest
    index first, and counts all of them.
    """
    for what, minimum in (
        ("min_parse_rate", min_parse_rate),
        ("min_schema_validity", min_schema_validity),
    ):
        _check_fraction(what, minimum)
    bounds = [
        ("json_parse_rate", "json_parse_rate", metrics.json_parse_rate, min_parse_rate),
        (
            "schema_validity_rate",
            "schema_validity_rate",
            metrics.schema_validity_rate,
            min_schema_validity,
        ),
    ]
    failures = [
        {"index": index, "reason": metrics.failures[index]}
        for index in sorted(metrics.failures)[:MAX_ROWS]
    ]
    evidence = {"failure_count": len(metrics.failures), "failures": failures}
    return _bounded_gate(name, bounds, evidence)


def field_accuracy_floor(
    metrics: StructureMetrics, floors: Mapping[str, float], name: str = "field_accuracy"
) -> GateResult:
    """Hold each named field's accuracy to its own floor.

    A field with a floor but no measured accuracy cannot be judged: the gate is then
    not evaluated rather than passed.
    """
    if not floors:
        raise ValueError("floors must name at least one field")
    for field, floor in floors.items():
        _check_fraction(f"floor of field {field!r}", floor)
    missing = sorted(set(floors) - set(metrics.field_accuracy))
    if missing:
        thresholds = {f"field_accuracy[{f}]": float(v) for f, v in floors.items()}
        directions: dict[str, Direction] = {key: ">=" for key in thresholds}
        measured = sorted(metrics.field_accuracy)
        return gate_error(
            name,
            f"no accuracy measured for field(s) {', '.join(missing)} (measured: {measured})",
            thresholds=thresholds,
            directions=directions,
        )
    bounds = [
        (f"field_accuracy[{field}]", "field_accuracy", metrics.field_accuracy[field], floor)
        for field, floor in floors.items()
    ]
    return _bounded_gate(name, bounds, {})


def text_similarity_floor(
    field: str,
    outputs: Sequence[str],
    references: Sequence[str],
    *,
    min_rouge_l: float | None = None,
    min_bertscore_f1: float | None = None,
    bert_scorer: BertScorer | None = None,
    ids: Sequence[str] | None = None,
    name: str | None = None,
) -> GateResult:
    """Hold a free-text field's mean ROUGE-L and/or BERTScore F1 to their floors.

    The evidence lists the answers least like their references (lowest ROUGE-L, or
    BERTScore F1 when only that is bounded). Missing scorer packages or no outputs
    mean the gate could not be evaluated.
    """
    gate_name = name if name is not None else f"{field}_similarity"
    floors = {"rougeL": min_rouge_l, "bertscore_f1": min_bertscore_f1}
    bounded = {metric: floor for metric, floor in floors.items() if floor is not None}
    if not bounded:
        raise ValueError("give at least one of min_rouge_l, min_bertscore_f1")
    for metric, floor in bounded.items():
        _check_fraction(f"floor of {metric}", floor)
    thresholds = {f"{field}.{metric}": float(floor) for metric, floor in bounded.items()}
    directions: dict[str, Direction] = {key: ">=" for key in thresholds}
    if len(outputs) != len(references) or not outputs:
        return gate_error(
            gate_name,
            f"need equally many outputs and references, at least one: got {len(outputs)} "
            f"outputs and {len(references)} references",
            thresholds=thresholds, directions=directions,
        )
    per_example: dict[str, list[float]] = {}
    try:
        if "rougeL" in bounded:
            per_example["rougeL"] = rouge_scores(outputs, references, ("rougeL",))["rougeL"]
        if "bertscore_f1" in bounded:
            scorer = bert_scorer if bert_scorer is not None else shared_bert_scorer()
            per_example["bertscore_f1"] = list(scorer.score(outputs, references).per_example_f1)
    except ImportError as exc:
        return gate_error(gate_name, str(exc), thresholds=thresholds, directions=directions)
    rank_by = "rougeL" if "rougeL" in per_example else "bertscore_f1"
    order = sorted(range(len(outputs)), key=lambda i: (per_example[rank_by][i], i))
    worst = [
        {
            "id": ids[i] if ids is not None else str(i),
            **{metric: round(scores[i], 4) for metric, scores in per_example.items()},
            "answer": outputs[i],
            "reference": references[i],
        }
        for i in order[:MAX_ROWS]
    ]
    bounds = [
        (f"{field}.{metric}", metric, sum(scores) / len(scores), bounded[metric])
        for metric, scores in per_example.items()
    ]
    return _bounded_gate(gate_name, bounds, {"least_similar": worst})


def _bounded_gate(name: str, bounds: list[Bound], evidence: dict[str, Any]) -> GateResult:
    """One verdict over several bounds, each in its registered metric's direction."""
    values: dict[str, float] = {}
    thresholds: dict[str, float] = {}
    directions: dict[str, Direction] = {}
    for key, metric, value, threshold in bounds:
        directions[key] = _direction(metric)
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            raise ValueError(f"threshold of {key} must be a number, got {threshold!r}")
        if not math.isfinite(threshold):
            raise ValueError(f"threshold of {key} must be finite, got {threshold!r}")
        values[key], thresholds[key] = float(value), float(threshold)
    bad = [f"{key}={values[key]}" for key in values if not math.isfinite(values[key])]
    if bad:
        return gate_error(
            name,
            "non-finite metric values: " + ", ".join(bad),
            values=values,
            thresholds=thresholds,
            directions=directions,
            evidence=evidence,
        )
    missed = [key for key in values if not _holds(values[key], directions[key], thresholds[key])]
    shown = missed or list(values)
    listed = ", ".join(
        f"{key} {values[key]:.4f} {_relation(key, values, thresholds, directions)}"
        f" {thresholds[key]:.4f}"
        for key in shown
    )
    if len(values) == 1:
        better = "higher" if directions[shown[0]] == ">=" else "lower"
        reason = f"{listed} ({better} is better)"
    elif missed:
        reason = f"{len(missed)} of {len(values)} bounds missed: {listed}"
    else:
        reason = f"all {len(values)} bounds hold: {listed}"
    return GateResult(name, not missed, values, thresholds, evidence, reason, None, directions)


def _direction(metric: str) -> Direction:
    """``>=`` when the registered metric is better higher, ``<=`` when lower."""
    try:
        info = METRICS[metric]
    except KeyError:
        known = ", ".join(sorted(METRICS))
        raise ValueError(f"unknown metric {metric!r}; registered metrics: {known}") from None
    return ">=" if info.higher_is_better else "<="


def _holds(value: float, direction: Direction, threshold: float) -> bool:
    return value >= threshold if direction == ">=" else value <= threshold


def _relation(
    key: str,
    values: dict[str, float],
    thresholds: dict[str, float],
    directions: dict[str, Direction],
) -> str:
    """The comparison as it came out: the direction when it holds, its negation when not."""
    direction = directions[key]
    if _holds(values[key], direction, thresholds[key]):
        return direction
    return "<" if direction == ">=" else ">"


def _check_fraction(what: str, threshold: float) -> None:
    """Rates are fractions: a bound outside [0, 1] is a configuration error."""
    if not (isinstance(threshold, int | float) and 0.0 <= threshold <= 1.0):
        raise ValueError(f"{what} must be a number in [0, 1], got {threshold!r}")
