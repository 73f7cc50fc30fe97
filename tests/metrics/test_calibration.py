"""Calibration metrics, checked by hand, against plain loops and against scikit-learn."""

from __future__ import annotations

import json
import math
import random

import pytest
from sklearn.metrics import brier_score_loss, log_loss

from tunegate.metrics import (
    METRICS,
    CalibrationMetrics,
    brier_score,
    calibration_metrics,
    expected_calibration_error,
    mean_gold_logprob,
)

# argmax 0, 1, 0 against gold 0, 0, 1: only the first is right
SMALL_PROBS = [[0.7, 0.3], [0.4, 0.6], [0.9, 0.1]]
SMALL_GOLD = [0, 0, 1]


def random_rows(seed: int, n: int, k: int) -> tuple[list[list[float]], list[int]]:
    """Dirichlet-like rows and gold labels drawn mostly from each row's own belief."""
    rng = random.Random(seed)
    probs, gold = [], []
    for _ in range(n):
        weights = [rng.gammavariate(0.7, 1.0) for _ in range(k)]
        total = sum(weights)
        row = [w / total for w in weights]
        probs.append(row)
        top = max(range(k), key=row.__getitem__)
        gold.append(top if rng.random() < 0.6 else rng.randrange(k))
    return probs, gold


def loop_brier(probs: list[list[float]], gold: list[int]) -> float:
    return sum(
        sum((p - (1.0 if j == g else 0.0)) ** 2 for j, p in enumerate(row))
        for row, g in zip(probs, gold, strict=True)
    ) / len(gold)


def loop_ece(probs: list[list[float]], gold: list[int], bins: int) -> float:
    """Textbook ECE: bin b holds confidences in (b/bins, (b+1)/bins]."""
    members: list[list[tuple[float, bool]]] = [[] for _ in range(bins)]
    for row, g in zip(probs, gold, strict=True):
        confidence = max(row)
        predicted = row.index(confidence)
        members[max(0, math.ceil(confidence * bins) - 1)].append((confidence, predicted == g))
    total = 0.0
    for items in members:
        if items:
            accuracy = sum(right for _, right in items) / len(items)
            confidence = sum(c for c, _ in items) / len(items)
            total += len(items) / len(gold) * abs(accuracy - confidence)
    return total


def loop_logprob(probs: list[list[float]], gold: list[int]) -> float:
    return sum(math.log(row[g]) for row, g in zip(probs, gold, strict=True)) / len(gold)


def test_small_case_by_hand() -> None:
    metrics = calibration_metrics(SMALL_PROBS, SMALL_GOLD)
    assert metrics.accuracy == pytest.approx(1 / 3)
    # (0.09 + 0.09) + (0.36 + 0.36) + (0.81 + 0.81), over 3
    assert metrics.brier_score == pytest.approx(0.84)
    # one example in each of bins 0.7, 0.6, 0.9: gaps 0.3, 0.6, 0.9
    assert metrics.expected_calibration_error == pytest.approx(0.6)
    assert metrics.mean_gold_logprob == pytest.approx(
        (math.log(0.7) + math.log(0.4) + math.log(0.1)) / 3
    )
    assert metrics.bins == 10


def test_shared_bin_averages_before_the_gap() -> None:
    # both confidences fall in (0.8, 0.9]: accuracy 0.5, confidence 0.85 -> gap 0.35
    probs = [[0.85, 0.15], [0.15, 0.85]]
    assert expected_calibration_error(probs, [0, 0]) == pytest.approx(0.35)
    # with one bin everything shares it: |accuracy - mean confidence| over all examples
    assert expected_calibration_error(SMALL_PROBS, SMALL_GOLD, bins=1) == pytest.approx(
        abs(1 / 3 - (0.7 + 0.6 + 0.9) / 3)
    )


def test_bins_are_closed_on_the_right() -> None:
    # 0.7 belongs to (0.6, 0.7], apart from 0.75: gaps 0.7 and 0.25, each weighing half;
    # left-closed bins would pool them into [0.7, 0.8) and give 0.225
    probs = [[0.7, 0.3], [0.75, 0.25]]
    assert expected_calibration_error(probs, [1, 0]) == pytest.approx(0.475)


def test_confident_and_right_is_perfect() -> None:
    metrics = calibration_metrics([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], [0, 2])
    assert metrics == CalibrationMetrics(1.0, 0.0, 0.0, 0.0, 10)


def test_uniform_rows_are_calibrated_when_right_at_chance() -> None:
    uniform = [[0.25] * 4] * 8
    gold = [0, 1, 0, 2, 3, 1, 2, 3]  # the tie goes to label 0, right 2 times in 8
    assert expected_calibration_error(uniform, gold) == pytest.approx(0.0, abs=1e-12)
    assert brier_score(uniform, gold) == pytest.approx(0.75)


def test_seeded_random_case_matches_plain_loops() -> None:
    probs, gold = random_rows(seed=2024, n=500, k=5)
    for bins in (1, 7, 10, 15):
        ours = expected_calibration_error(probs, gold, bins=bins)
        assert ours == pytest.approx(loop_ece(probs, gold, bins), abs=1e-12)
    assert brier_score(probs, gold) == pytest.approx(loop_brier(probs, gold), abs=1e-12)
    assert mean_gold_logprob(probs, gold) == pytest.approx(loop_logprob(probs, gold), abs=1e-12)
    metrics = calibration_metrics(probs, gold, bins=15)
    assert metrics.expected_calibration_error == pytest.approx(loop_ece(probs, gold, 15))
    assert 0.05 < metrics.expected_calibration_error < 0.5  # the sample is miscalibrated


def test_accepts_numpy_arrays() -> None:
    import numpy as np

    probs, gold = random_rows(seed=9, n=50, k=3)
    expected = calibration_metrics(probs, gold)
    assert calibration_metrics(np.asarray(probs), np.asarray(gold)) == expected
    with pytest.raises(ValueError, match="no examples"):
        brier_score(np.zeros((0, 3)), np.zeros(0, dtype=int))


def test_binary_brier_is_twice_sklearns() -> None:
    probs, gold = random_rows(seed=3, n=200, k=2)
    positive = [row[1] for row in probs]
    assert brier_score(probs, gold) == pytest.approx(
        2 * brier_score_loss(gold, positive), abs=1e-12
    )


def test_multiclass_matches_sklearn() -> None:
    probs, gold = random_rows(seed=5, n=300, k=6)
    labels = list(range(6))
    assert brier_score(probs, gold) == pytest.approx(
        brier_score_loss(gold, probs, labels=labels, scale_by_half=False), abs=1e-12
    )
    assert mean_gold_logprob(probs, gold) == pytest.approx(
        -log_loss(gold, probs, labels=labels), abs=1e-12
    )


def test_zero_probability_on_gold_is_clipped_like_sklearn() -> None:
    probs, gold = [[1.0, 0.0], [0.5, 0.5]], [1, 0]
    value = mean_gold_logprob(probs, gold)
    assert math.isfinite(value)
    assert value == pytest.approx(-log_loss(gold, probs, labels=[0, 1]), abs=1e-9)
    assert value < -15


def test_noisy_adapter_keeps_accuracy_and_loses_confidence() -> None:
    gold = [0, 1, 2, 0]
    sharp = [[0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.05, 0.05, 0.9], [0.3, 0.6, 0.1]]
    noisy = [[0.5, 0.3, 0.2], [0.3, 0.5, 0.2], [0.2, 0.3, 0.5], [0.3, 0.6, 0.1]]
    before, after = calibration_metrics(sharp, gold), calibration_metrics(noisy, gold)
    assert before.accuracy == after.accuracy == 0.75
    assert after.mean_gold_logprob < before.mean_gold_logprob
    assert after.brier_score > before.brier_score


def test_tolerates_rounding_in_the_row_sum_up_to_1e_3() -> None:
    # float16 softmax rows drift from 1; 1.0009 passes, 1.0011 does not
    assert brier_score([[0.5004, 0.5005]], [0]) == pytest.approx(0.4996**2 + 0.5005**2)
    with pytest.raises(ValueError, match="row 0 does not sum to 1"):
        brier_score([[0.5, 0.5011]], [0])


@pytest.mark.parametrize(
    ("probs", "gold", "message"),
    [
        ([[0.5, 0.5]], [0, 1], "1 rows but gold_indices has 2"),
        ([], [], "no examples"),
        ([[]], [0], "row 0 is empty"),
        ([[0.5, 0.5], [1.0]], [0, 0], "row 1 has 1 values but row 0 has 2"),
        ([[0.5, 0.5], [0.5, 0.5], [math.nan, 1.0]], [0, 0, 1], "row 2 is not finite"),
        ([[0.5, 0.5], [math.inf, 0.0]], [0, 1], "row 1 is not finite"),
        ([[0.5, 0.5], [1.5, -0.5]], [0, 0], r"row 1 has a value outside \[0, 1\]"),
        ([[0.5, 0.5], [0.5, 0.49], [0.3, 0.3]], [0, 0, 0], "row 1 does not sum to 1.*1 more"),
        ([[0.5, 0.5]], [2], r"gold_indices\[0\] is 2, outside the 2 labels"),
        ([[0.5, 0.5]], [-1], r"gold_indices\[0\] is -1"),
        ([[0.5, 0.5]], [0.0], r"gold_indices\[0\] is 0.0, not an integer"),
        ([[0.5, 0.5]], [True], "not an integer"),
    ],
)
def test_rejects_bad_input(probs: list[list[float]], gold: list[int], message: str) -> None:
    for metric in (brier_score, expected_calibration_error, mean_gold_logprob):
        with pytest.raises(ValueError, match=message):
            metric(probs, gold)
    with pytest.raises(ValueError, match=message):
        calibration_metrics(probs, gold)


@pytest.mark.parametrize("bins", [0, -3, 2.5, True])
def test_rejects_bad_bin_count(bins: int) -> None:
    with pytest.raises(ValueError, match="bins must be a positive integer"):
        expected_calibration_error(SMALL_PROBS, SMALL_GOLD, bins=bins)
    with pytest.raises(ValueError, match="bins must be a positive integer"):
        calibration_metrics(SMALL_PROBS, SMALL_GOLD, bins=bins)


def test_to_dict_is_plain_json_and_frozen() -> None:
    metrics = calibration_metrics(SMALL_PROBS, SMALL_GOLD, bins=5)
    record = metrics.to_dict()
    assert json.loads(json.dumps(record)) == record
    assert record["bins"] == 5
    assert type(record["brier_score"]) is float
    assert type(record["accuracy"]) is float
    with pytest.raises(AttributeError):
        metrics.brier_score = 0.0  # type: ignore[misc]


def test_registry_declares_direction() -> None:
    assert METRICS["brier_score"].higher_is_better is False
    assert METRICS["expected_calibration_error"].higher_is_better is False
    assert METRICS["mean_gold_logprob"].higher_is_better is True
    assert METRICS["accuracy"].higher_is_better is True
