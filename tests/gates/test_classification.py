"""Classification gates: macro-F1 minimum and per-class F1 floor."""

from __future__ import annotations

import dataclasses
import json
import math
import pickle
from collections.abc import Callable
from typing import Any

import pytest

import tunegate.gates
from tunegate.gates import (
    GateFailed,
    GateResult,
    class_f1_floor,
    gate_error,
    improvement_over,
    macro_f1_at_least,
    no_class_regression,
)
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
        "calibration_floor",
        "capability_regression",
        "class_f1_floor",
        "field_accuracy_floor",
        "format_validity_floor",
        "gate_error",
        "golden_regression",
        "improvement_over",
        "injection_resistance",
        "judge_calibrated",
        "judge_scores",
        "judge_win_rate",
        "macro_f1_at_least",
        "metric_floor",
        "no_class_regression",
        "ood_abstention",
        "probe_flip_regression",
        "text_similarity_floor",
    ]
    assert tunegate.gates.__all__ == sorted(tunegate.gates.__all__)
    assert all(hasattr(tunegate.gates, name) for name in tunegate.gates.__all__)


def perfect_metrics() -> ClassificationMetrics:
    y_true = ["billing"] * 4 + ["refund"] * 4 + ["shipping"] * 4
    return classification_metrics(y_true, y_true, LABELS)


def with_f1(metrics: ClassificationMetrics, **f1: float) -> ClassificationMetrics:
    per_class = dict(metrics.per_class)
    for label, value in f1.items():
        old = per_class[label]
        per_class[label] = ClassMetrics(old.precision, old.recall, value, old.support)
    return dataclasses.replace(metrics, per_class=per_class)


def test_no_class_regression_passes_when_nothing_dropped() -> None:
    metrics = sample_metrics()
    result = no_class_regression(metrics, metrics, 0.0)
    assert result.passed and result.error is None
    assert result.name == "class_no_regression"
    assert result.values["f1_drop[refund]"] == 0.0
    assert result.thresholds == {f"f1_drop[{label}]": 0.0 for label in LABELS}
    assert set(result.directions.values()) == {"<="}
    assert result.evidence == {"dropped": []}
    assert "no class lost more than 0.0000 F1" in result.reason


def test_no_class_regression_fails_and_lists_dropped_classes_with_both_f1s() -> None:
    candidate, reference = sample_metrics(), perfect_metrics()
    result = no_class_regression(candidate, reference, 0.22, name="routing_per_class")
    assert not result.passed and result.error is None
    dropped = {row["class"]: row for row in result.evidence["dropped"]}
    assert set(dropped) == {"billing", "refund", "shipping"}
    assert dropped["refund"]["reference_f1"] == 1.0
    assert dropped["refund"]["candidate_f1"] == candidate.per_class["refund"].f1
    assert dropped["refund"]["drop"] == pytest.approx(0.6)
    assert [row["class"] for row in result.evidence["dropped"] if row["over_limit"]] == [
        "refund",
        "shipping",
    ]
    assert not dropped["billing"]["over_limit"]  # 1.0 -> 0.8 is within 0.22
    text = result.explain()
    assert text.splitlines()[0] == (
        "routing_per_class: FAILED — 2 of 3 classes lost more than 0.2200 F1 versus the"
        " reference: refund (1.0000 -> 0.4000), shipping (1.0000 -> 0.7500)"
    )
    assert "f1_drop[refund]      0.6000  <= 0.2200" in text
    assert "dropped (3):" in text


def test_no_class_regression_boundary() -> None:
    reference = with_f1(perfect_metrics(), refund=0.75)
    candidate = with_f1(perfect_metrics(), refund=0.5)
    assert no_class_regression(candidate, reference, 0.25).passed  # exactly at the limit
    assert not no_class_regression(candidate, reference, 0.2499).passed
    # 0.8 - 0.7 is 0.10000000000000009 in floats: round-off does not fail the gate
    rounded = no_class_regression(
        with_f1(candidate, refund=0.7), with_f1(reference, refund=0.8), 0.1
    )
    assert rounded.values["f1_drop[refund]"] > 0.1 and rounded.passed
    improved = no_class_regression(reference, candidate, 0.0)  # F1 rose: no drop
    assert improved.passed and improved.values["f1_drop[refund]"] == -0.25


def test_no_class_regression_ignores_label_order() -> None:
    y_true = ["refund", "billing", "shipping"]
    reordered = classification_metrics(y_true, y_true, list(reversed(LABELS)))
    assert no_class_regression(reordered, perfect_metrics(), 0.0).passed


def test_no_class_regression_fails_closed_on_different_label_sets() -> None:
    other = classification_metrics(
        ["billing", "returns"], ["billing", "returns"], ["billing", "returns"]
    )
    result = no_class_regression(other, perfect_metrics(), 0.1)
    assert not result.passed
    assert result.error == (
        "candidate and reference have different label sets: only in candidate ['returns'],"
        " only in reference ['refund', 'shipping']"
    )
    assert result.explain().startswith("class_no_regression: NOT EVALUATED — ")


def test_no_class_regression_non_finite_is_not_evaluated() -> None:
    result = no_class_regression(with_f1(sample_metrics(), refund=math.nan), perfect_metrics(), 0.5)
    assert result.error is not None and result.error.startswith("candidate: non-finite")
    assert "f1[refund]=nan" in result.error
    with pytest.raises(GateFailed, match="NOT EVALUATED"):
        result.check()


@pytest.mark.parametrize("bad", [math.nan, -0.1, 1.5])
def test_no_class_regression_bad_threshold(bad: float) -> None:
    with pytest.raises(ValueError, match="max_drop"):
        no_class_regression(sample_metrics(), sample_metrics(), bad)


def improvement_data(
    reference_errors: int, candidate_errors: int, per_class: int = 20
) -> tuple[list[str], list[str], list[str]]:
    """True labels, and predictions wrong on the first k examples (the next label)."""
    y_true = [label for label in LABELS for _ in range(per_class)]
    order = list(range(0, len(y_true), per_class)) + [
        i for i in range(len(y_true)) if i % per_class
    ]

    def predictions(errors: int) -> list[str]:
        pred = list(y_true)
        for i in order[:errors]:
            pred[i] = LABELS[(LABELS.index(y_true[i]) + 1) % len(LABELS)]
        return pred

    return y_true, predictions(reference_errors), predictions(candidate_errors)


def test_improvement_passes_with_a_clear_gain() -> None:
    y_true, reference, candidate = improvement_data(15, 1)
    result = improvement_over(y_true, reference, candidate, LABELS, 0.1)
    assert result.passed and result.error is None
    expected_ref = classification_metrics(y_true, reference, LABELS).macro_f1
    expected_cand = classification_metrics(y_true, candidate, LABELS).macro_f1
    assert result.values["macro_f1[reference]"] == pytest.approx(expected_ref)
    assert result.values["macro_f1[candidate]"] == pytest.approx(expected_cand)
    assert result.values["delta"] == pytest.approx(expected_cand - expected_ref)
    assert 0.0 < result.values["ci_low"] < result.values["delta"] < result.values["ci_high"]
    assert result.thresholds == {"delta": 0.1, "ci_low": 0.0}
    assert result.directions == {"delta": ">=", "ci_low": ">="}
    assert result.evidence["metric"] == "macro_f1"
    assert result.evidence["bootstrap"]["resamples"] == 2000
    text = result.explain()
    assert text.startswith("improvement: PASSED — macro_f1 delta +")
    assert "lower bound above 0" in text
    assert "delta                0." in text and ">= 0.1000" in text
    assert "bootstrap: difference=" in text


def test_improvement_fails_below_min_delta() -> None:
    y_true, reference, candidate = improvement_data(15, 1)
    result = improvement_over(y_true, reference, candidate, LABELS, 0.5, name="gain")
    assert not result.passed and result.error is None
    assert result.values["ci_low"] > 0  # reliable, but not big enough
    assert result.reason.startswith("macro_f1 delta +0.2")
    assert "< min_delta +0.5000" in result.reason
    with pytest.raises(GateFailed, match=r"^gain: FAILED"):
        result.check()


def test_improvement_fails_when_the_interval_reaches_zero() -> None:
    y_true, reference, candidate = improvement_data(2, 0, per_class=4)
    result = improvement_over(y_true, reference, candidate, LABELS, 0.05)
    assert result.values["delta"] >= 0.05
    assert result.values["ci_low"] <= 0.0
    assert not result.passed
    assert "lower bound not above 0" in result.reason


def test_improvement_accuracy_and_min_delta_boundary() -> None:
    y_true, reference, candidate = improvement_data(15, 1)
    result = improvement_over(y_true, reference, candidate, LABELS, 0.0, metric="accuracy")
    delta = result.values["delta"]
    assert delta == pytest.approx(14 / 60)
    assert result.values["accuracy[reference]"] == pytest.approx(45 / 60)
    args = (y_true, reference, candidate, LABELS)
    assert improvement_over(*args, delta, metric="accuracy").passed
    assert not improvement_over(*args, math.nextafter(delta, 1.0), metric="accuracy").passed


def test_improvement_counts_off_label_predictions_as_misses() -> None:
    y_true, reference, _ = improvement_data(0, 0)
    candidate = ["I don't know"] * len(y_true)
    result = improvement_over(y_true, reference, candidate, LABELS, -1.0, metric="accuracy")
    assert result.values["accuracy[candidate]"] == 0.0
    assert result.values["delta"] == -1.0
    assert not result.passed


def test_improvement_interval_is_deterministic_for_a_seed() -> None:
    y_true, reference, candidate = improvement_data(10, 4)
    args = (y_true, reference, candidate, LABELS, 0.0)
    first = improvement_over(*args, seed=3, resamples=300)
    again = improvement_over(*args, seed=3, resamples=300)
    other = improvement_over(*args, seed=4, resamples=300)
    assert first.to_dict() == again.to_dict()
    assert first.evidence["bootstrap"]["seed"] == 3
    assert other.evidence["bootstrap"] != first.evidence["bootstrap"]
    record = first.to_dict()
    assert json.loads(json.dumps(record, allow_nan=False)) == record


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t, r, c: c.pop(), "different lengths: 60, 60, 59"),
        (lambda t, r, c: [t.clear(), r.clear(), c.clear()], "no examples"),
        (lambda t, r, c: t.__setitem__(0, "returns"), "outside the label set: returns"),
        (
            lambda t, r, c: t.__setitem__(slice(0, 20), ["refund"] * 20),
            "no examples of class(es) billing",
        ),
    ],
)
def test_improvement_unusable_inputs_are_not_evaluated(
    change: Callable[[list[str], list[str], list[str]], object], message: str
) -> None:
    y_true, reference, candidate = improvement_data(15, 1)
    change(y_true, reference, candidate)
    result = improvement_over(y_true, reference, candidate, LABELS, 0.0)
    assert not result.passed
    assert result.error is not None and message in result.error
    assert result.thresholds == {"delta": 0.0, "ci_low": 0.0}
    assert result.explain().startswith("improvement: NOT EVALUATED — ")


def test_improvement_duplicate_labels_are_not_evaluated() -> None:
    y_true, reference, candidate = improvement_data(15, 1)
    result = improvement_over(y_true, reference, candidate, [*LABELS, "billing"], 0.0)
    assert result.error is not None and "non-empty and distinct" in result.error


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"metric": "f1"}, "metric"),
        ({"min_delta": math.nan}, "min_delta"),
        ({"min_delta": 1.5}, "min_delta"),
        ({"resamples": 0}, "resamples"),
    ],
)
def test_improvement_bad_settings_are_configuration_errors(
    options: dict[str, Any], message: str
) -> None:
    y_true, reference, candidate = improvement_data(15, 1)
    settings: dict[str, Any] = {"min_delta": 0.0, **options}
    with pytest.raises(ValueError, match=message):
        improvement_over(y_true, reference, candidate, LABELS, **settings)
