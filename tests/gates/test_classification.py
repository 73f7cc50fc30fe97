"""Classification gates: macro-F1 minimum and per-class F1 floor."""

from __future__ import annotations

import dataclasses
import json
import math
import pickle

import pytest

import tunegate.gates
from tunegate.gates import GateFailed, GateResult, class_f1_floor, gate_error, macro_f1_at_least
from tunegate.metrics import ClassificationMetrics, ClassMetrics, classification_metrics

LABELS = ["billing", "refund", "shipping"]


def sample_metrics() -> ClassificationMetrics:
    """billing perfect; refund often predicted as billing; shipping once off-label."""
    y_true = ["billing"] * 4 + ["refund"] * 4 + ["shipping"] * 4
    y_pred = (
        ["billing"] * 4
        + ["refund", "billing", "billing", "shipping"]
        + ["shipping", "shipping", "shipping", "I don't know"]
    )
    return classification_metrics(y_true, y_pred, LABELS)


def with_values(metrics: ClassificationMetrics, **changes: float) -> ClassificationMetrics:
    return dataclasses.replace(metrics, **changes)  # type: ignore[arg-type]


def test_macro_f1_passes_above_minimum() -> None:
    metrics = sample_metrics()
    result = macro_f1_at_least(metrics, 0.5)
    assert result.passed and result.error is None
    assert result.values["macro_f1"] == metrics.macro_f1
    assert result.thresholds == {"macro_f1": 0.5}
    assert result.check() is result
    assert result.explain().startswith("macro_f1: PASSED — macro-F1 0.6")


def test_macro_f1_fails_below_minimum_and_explains() -> None:
    metrics = sample_metrics()
    result = macro_f1_at_least(metrics, 0.9, name="routing_macro_f1")
    assert not result.passed and result.error is None
    text = result.explain()
    first = text.splitlines()[0]
    assert first.startswith("routing_macro_f1: FAILED — ")
    assert f"{metrics.macro_f1:.4f} < minimum 0.9000" in first
    assert f"macro_f1  {metrics.macro_f1:.4f}  >= 0.9000" in text
    assert "confusion (rows = true, columns = predicted):" in text
    with pytest.raises(GateFailed) as caught:
        result.check()
    assert str(caught.value) == text
    assert caught.value.result is result


def test_macro_f1_exactly_at_minimum_passes() -> None:
    metrics = sample_metrics()
    assert macro_f1_at_least(metrics, metrics.macro_f1).passed
    assert not macro_f1_at_least(metrics, math.nextafter(metrics.macro_f1, 1.0)).passed


@pytest.mark.parametrize("bad", [math.nan, -0.1, 1.5])
def test_bad_threshold_is_a_configuration_error(bad: float) -> None:
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        macro_f1_at_least(sample_metrics(), bad)
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        class_f1_floor(sample_metrics(), bad)


def test_non_finite_metric_is_not_evaluated() -> None:
    metrics = with_values(sample_metrics(), macro_f1=math.nan)
    result = macro_f1_at_least(metrics, 0.0)  # even the loosest threshold
    assert not result.passed
    assert result.error is not None and "macro_f1=nan" in result.error
    assert result.explain().startswith("macro_f1: NOT EVALUATED — non-finite metric values")
    assert result.to_dict()["values"]["macro_f1"] is None
    with pytest.raises(GateFailed, match="NOT EVALUATED"):
        result.check()


def test_non_finite_class_f1_is_not_evaluated_by_floor() -> None:
    metrics = sample_metrics()
    per_class = dict(metrics.per_class, refund=ClassMetrics(0.5, math.inf, 0.5, 4))
    result = class_f1_floor(with_values(metrics, per_class=per_class), 0.1)  # type: ignore[arg-type]
    assert result.error is not None and "recall[refund]=inf" in result.error
    assert not result.passed


def test_class_without_examples_is_not_evaluated() -> None:
    metrics = classification_metrics(["a", "a"], ["a", "a"], ["a", "b"])
    for result in (macro_f1_at_least(metrics, 0.1), class_f1_floor(metrics, 0.1)):
        assert not result.passed
        assert result.error is not None and "no examples of class(es) b" in result.error


def test_floor_passes_when_every_class_clears_it() -> None:
    metrics = sample_metrics()
    lowest = min(m.f1 for m in metrics.per_class.values())
    result = class_f1_floor(metrics, lowest)  # exactly at the floor passes
    assert result.passed
    assert f"(lowest: refund {lowest:.4f})" in result.reason
    assert set(result.values) == {"f1[billing]", "f1[refund]", "f1[shipping]"}
    assert "below_floor" not in result.evidence


def test_floor_failure_lists_weak_classes_with_top_confusion() -> None:
    metrics = sample_metrics()
    result = class_f1_floor(metrics, 0.8)
    assert not result.passed
    below = {row["class"]: row for row in result.evidence["below_floor"]}
    assert set(below) == {"refund", "shipping"}
    refund = below["refund"]
    assert refund["f1"] == metrics.per_class["refund"].f1
    assert refund["support"] == 4
    assert refund["mostly_confused_with"] == "billing (2)"
    assert below["shipping"]["mostly_confused_with"] == "(outside labels) (1)"
    assert below["shipping"]["false_positives_mostly_from"] == "refund (1)"
    text = result.explain()
    assert text.splitlines()[0] == (
        "class_f1_floor: FAILED — 2 of 3 classes below the F1 floor 0.8000: "
        f"refund ({refund['f1']:.4f}), shipping ({below['shipping']['f1']:.4f})"
    )
    assert "f1[refund]    0.4000  >= 0.8000" in text
    assert "billing (2)" in text
    assert "below_floor (2):" in text


def test_evidence_holds_per_class_table_and_confusion_matrix() -> None:
    metrics = sample_metrics()
    evidence = macro_f1_at_least(metrics, 0.5).evidence
    assert [row["class"] for row in evidence["per_class"]] == LABELS
    assert evidence["confusion"] == {
        "labels": LABELS,
        "matrix": [[4, 0, 0], [2, 1, 1], [0, 0, 3]],
    }


def test_to_dict_round_trips_through_json() -> None:
    record = class_f1_floor(sample_metrics(), 0.8).to_dict()
    assert json.loads(json.dumps(record, allow_nan=False)) == record
    assert record["status"] == "FAILED"
    assert record["directions"]["f1[refund]"] == ">="


def test_gate_error_fails_with_reason() -> None:
    result = gate_error("judge_agreement", "judge endpoint unreachable")
    assert (result.passed, result.error, result.reason) == (
        False,
        "judge endpoint unreachable",
        "judge endpoint unreachable",
    )
    assert result.explain() == "judge_agreement: NOT EVALUATED — judge endpoint unreachable"
    with pytest.raises(GateFailed):
        result.check()


def test_result_rejects_inconsistent_construction() -> None:
    with pytest.raises(ValueError, match="cannot pass"):
        GateResult("g", True, {}, {}, error="broken")
    with pytest.raises(ValueError, match="unknown thresholds"):
        GateResult("g", False, {}, {}, directions={"x": ">="})
    with pytest.raises(ValueError, match="'>=' or '<='"):
        GateResult("g", False, {}, {"x": 1.0}, directions={"x": ">"})  # type: ignore[dict-item]


def test_gate_failed_is_an_assertion_error_with_optional_command() -> None:
    assert issubclass(GateFailed, AssertionError)
    result = macro_f1_at_least(sample_metrics(), 0.99)
    command = "pytest suites/test_task_quality.py::test_macro_f1 --tg-candidate runs/c1"
    with pytest.raises(GateFailed) as caught:
        result.check(command=command)
    assert str(caught.value) == result.explain() + f"\nreproduce: {command}"
    assert caught.value.command == command
    copy = pickle.loads(pickle.dumps(caught.value))
    assert (str(copy), copy.command, copy.result.name) == (str(caught.value), command, "macro_f1")


def test_public_surface() -> None:
    assert tunegate.gates.__all__ == [
        "Direction",
        "GateFailed",
        "GateResult",
        "class_f1_floor",
        "gate_error",
        "golden_regression",
        "macro_f1_at_least",
    ]
