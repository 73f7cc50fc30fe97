"""Paired statistics, checked against statsmodels, scipy and scikit-learn."""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import numpy as np
import pytest
from scipy.stats import binomtest, bootstrap
from sklearn.metrics import f1_score
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.proportion import proportion_confint

import tunegate.metrics
from tunegate.metrics import (
    METRICS,
    BootstrapResult,
    McNemarResult,
    macro_f1_from_indices,
    mcnemar_exact,
    paired_bootstrap,
    paired_bootstrap_metric,
    wilson_interval,
)

# (both right, regressed b, improved c, both wrong)
TABLES = [
    (5, 0, 0, 3),
    (10, 4, 0, 2),
    (10, 0, 4, 2),
    (40, 10, 3, 7),
    (40, 3, 10, 7),
    (30, 25, 25, 5),
    (200, 70, 100, 30),
    (0, 1, 2, 0),
    (900, 12, 30, 58),
]


def flags_from_table(both: int, b: int, c: int, neither: int) -> tuple[list[bool], list[bool]]:
    """Reference and candidate right/wrong flags laid out as the 2×2 table says, shuffled."""
    pairs = [(True, True)] * both + [(True, False)] * b + [(False, True)] * c
    pairs += [(False, False)] * neither
    order = np.random.default_rng(both + 7 * b + 13 * c).permutation(len(pairs))
    return [pairs[i][0] for i in order], [pairs[i][1] for i in order]


def labelled_predictions(seed: int, n: int, right: float, classes: int = 6) -> Any:
    """True class indices and predictions that are right about ``right`` of the time."""
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, classes, n)
    noise = rng.integers(0, classes, n)
    return y_true, np.where(rng.random(n) < right, y_true, noise)


@pytest.mark.parametrize("table", TABLES)
def test_mcnemar_matches_statsmodels_exact(table: tuple[int, int, int, int]) -> None:
    both, b, c, neither = table
    reference, candidate = flags_from_table(*table)
    result = mcnemar_exact(reference, candidate)
    expected = mcnemar([[both, b], [c, neither]], exact=True)
    assert (result.regressed, result.improved, result.n) == (b, c, sum(table))
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-12, abs=1e-300)
    assert result.alternative == "two-sided"


@pytest.mark.parametrize("table", TABLES)
def test_mcnemar_worse_is_the_lower_binomial_tail(table: tuple[int, int, int, int]) -> None:
    _, b, c, _ = table
    result = mcnemar_exact(*flags_from_table(*table), alternative="worse")
    expected = 1.0 if b + c == 0 else binomtest(c, b + c, 0.5, alternative="less").pvalue
    assert result.p_value == pytest.approx(expected, rel=1e-12)


def test_mcnemar_worse_separates_regression_from_improvement() -> None:
    regressed = mcnemar_exact(*flags_from_table(50, 15, 2, 5), alternative="worse")
    improved = mcnemar_exact(*flags_from_table(50, 2, 15, 5), alternative="worse")
    assert regressed.p_value < 0.01
    assert improved.p_value > 0.99
    # Two-sided, the direction does not matter.
    assert mcnemar_exact(*flags_from_table(50, 15, 2, 5)).p_value == pytest.approx(
        mcnemar_exact(*flags_from_table(50, 2, 15, 5)).p_value, rel=1e-12
    )


def test_mcnemar_without_discordant_pairs_has_no_evidence() -> None:
    result = mcnemar_exact([True, False, True], [True, False, True], alternative="worse")
    assert result == McNemarResult(0, 0, 3, 1.0, "worse")
    assert result.to_dict() == {
        "regressed": 0,
        "improved": 0,
        "n": 3,
        "p_value": 1.0,
        "alternative": "worse",
    }


def test_mcnemar_accepts_numpy_and_zero_one_flags() -> None:
    as_lists = mcnemar_exact([1, 1, 0, 0, 1], [0, 1, 1, 0, 0])
    as_arrays = mcnemar_exact(np.array([1, 1, 0, 0, 1], bool), np.array([0, 1, 1, 0, 0], bool))
    assert as_lists == as_arrays
    assert (as_lists.regressed, as_lists.improved) == (2, 1)


@pytest.mark.parametrize(
    ("successes", "n", "confidence"),
    [
        (0, 10, 0.95),
        (10, 10, 0.95),
        (3, 10, 0.95),
        (1, 2, 0.95),
        (50, 100, 0.9),
        (999, 1000, 0.99),
        (7, 400, 0.8),
        (1, 1, 0.5),
    ],
)
def test_wilson_matches_statsmodels(successes: int, n: int, confidence: float) -> None:
    low, high = wilson_interval(successes, n, confidence)
    expected = proportion_confint(successes, n, alpha=1 - confidence, method="wilson")
    assert low == pytest.approx(expected[0], abs=1e-12)
    assert high == pytest.approx(expected[1], abs=1e-12)
    assert 0.0 <= low <= successes / n <= high <= 1.0


def test_wilson_is_narrower_with_more_trials_and_wider_with_more_confidence() -> None:
    small, large = wilson_interval(5, 50), wilson_interval(50, 500)
    assert large[1] - large[0] < small[1] - small[0]
    loose, strict = wilson_interval(5, 50, 0.8), wilson_interval(5, 50, 0.99)
    assert strict[0] < loose[0] and strict[1] > loose[1]


def test_bootstrap_is_deterministic_for_a_seed_and_varies_across_seeds() -> None:
    rng = np.random.default_rng(3)
    reference = rng.random(200)
    candidate = reference + rng.normal(0.02, 0.2, 200)
    first = paired_bootstrap(reference, candidate, resamples=2_000, seed=11)
    again = paired_bootstrap(list(reference), list(candidate), resamples=2_000, seed=11)
    other = paired_bootstrap(reference, candidate, resamples=2_000, seed=12)
    assert first == again
    assert (first.low, first.high) != (other.low, other.high)
    assert first.difference == other.difference == pytest.approx(np.mean(candidate - reference))
    assert first.to_dict() == {
        "difference": first.difference,
        "low": first.low,
        "high": first.high,
        "resamples": 2_000,
        "confidence": 0.95,
        "seed": 11,
    }


def test_bootstrap_interval_contains_the_observed_difference() -> None:
    reference = [0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0] * 10
    candidate = [1.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0] * 10
    result = paired_bootstrap(reference, candidate, resamples=2_000)
    assert result.difference == pytest.approx(1 / 8)
    assert result.low < result.difference < result.high
    assert result.high - result.low < 0.3


def test_bootstrap_keeps_the_pairing() -> None:
    """A constant shift on very different examples is certain when paired."""
    reference = np.random.default_rng(5).normal(0.0, 10.0, 300)
    result = paired_bootstrap(reference, reference + 0.1, resamples=1_000)
    # Unpaired, the interval would be about ±1.6 wide; paired, every resample sees +0.1.
    assert result.low == pytest.approx(0.1, abs=1e-9)
    assert result.high == pytest.approx(0.1, abs=1e-9)


def test_bootstrap_agrees_with_scipy_percentile_bootstrap() -> None:
    rng = np.random.default_rng(8)
    reference = rng.normal(0.6, 0.2, 150)
    candidate = reference + rng.normal(0.05, 0.15, 150)
    ours = paired_bootstrap(reference, candidate, resamples=10_000, seed=1)
    scipy_result = bootstrap(
        (reference, candidate),
        lambda r, c, axis: np.mean(c, axis=axis) - np.mean(r, axis=axis),
        paired=True,
        vectorized=True,
        n_resamples=10_000,
        method="percentile",
        confidence_level=0.95,
        rng=np.random.default_rng(2),
    )
    standard_error = scipy_result.standard_error
    assert ours.low == pytest.approx(
        scipy_result.confidence_interval.low, abs=0.15 * standard_error
    )
    assert ours.high == pytest.approx(
        scipy_result.confidence_interval.high, abs=0.15 * standard_error
    )


@pytest.mark.parametrize(
    ("confidence", "lowest", "highest"), [(0.95, 0.90, 0.985), (0.8, 0.72, 0.88)]
)
def test_bootstrap_coverage_of_a_known_difference(
    confidence: float, lowest: float, highest: float
) -> None:
    """Seeded repetitions: the interval holds the true mean difference about as often as claimed."""
    rng = np.random.default_rng(2024)
    repetitions, true_difference, covered = 200, 0.05, 0
    for repetition in range(repetitions):
        reference = rng.normal(0.7, 0.2, 120)
        candidate = reference + true_difference + rng.normal(0.0, 0.1, 120)
        result = paired_bootstrap(
            reference, candidate, resamples=1_000, confidence=confidence, seed=repetition
        )
        covered += result.low <= true_difference <= result.high
    assert lowest <= covered / repetitions <= highest


def test_bootstrap_with_a_custom_row_statistic() -> None:
    rng = np.random.default_rng(4)
    reference, candidate = rng.random(101), rng.random(101) + 0.3

    def row_median(rows: Any) -> Any:
        return np.median(rows, axis=1)

    explicit_mean = paired_bootstrap(reference, candidate, lambda rows: rows.mean(axis=1))
    assert explicit_mean == paired_bootstrap(reference, candidate)
    median = paired_bootstrap(reference, candidate, row_median, resamples=2_000)
    assert median.difference == pytest.approx(np.median(candidate) - np.median(reference))
    assert median.low < median.difference < median.high
    with pytest.raises(ValueError, match="one value per row"):
        paired_bootstrap(reference, candidate, lambda rows: rows.mean())


def test_metric_bootstrap_with_accuracy_equals_the_mean_bootstrap() -> None:
    y_true, pred_reference = labelled_predictions(seed=1, n=400, right=0.7)
    _, pred_candidate = labelled_predictions(seed=1, n=400, right=0.8)

    def accuracy(truth: Any, pred: Any) -> float:
        return float(np.mean(truth == pred))

    for seed in (0, 9):
        generic = paired_bootstrap_metric(
            y_true, pred_reference, pred_candidate, accuracy, resamples=1_500, seed=seed
        )
        mean = paired_bootstrap(
            pred_reference == y_true, pred_candidate == y_true, resamples=1_500, seed=seed
        )
        assert generic.difference == pytest.approx(mean.difference, abs=1e-12)
        assert generic.low == pytest.approx(mean.low, abs=1e-12)
        assert generic.high == pytest.approx(mean.high, abs=1e-12)


def test_metric_bootstrap_of_macro_f1_on_string_labels() -> None:
    """A much better candidate gets an interval above zero; an equal one, around zero."""
    y_true, weak = labelled_predictions(seed=2, n=300, right=0.5)
    _, strong = labelled_predictions(seed=3, n=300, right=0.5)
    strong = np.where(np.arange(300) % 4 == 0, strong, y_true)
    names = np.array(["billing", "shipping", "technical", "account", "returns", "other"])
    index = {name: i for i, name in enumerate(names)}

    def macro_f1(truth: Any, pred: Any) -> float:
        return macro_f1_from_indices([index[t] for t in truth], [index[p] for p in pred], 6)

    better = paired_bootstrap_metric(
        names[y_true], names[weak], names[strong], macro_f1, resamples=300
    )
    expected = f1_score(y_true, strong, average="macro") - f1_score(y_true, weak, average="macro")
    assert better.difference == pytest.approx(expected, abs=1e-12)
    assert 0.0 < better.low < better.difference < better.high
    same = paired_bootstrap_metric(
        y_true, weak, weak, partial(macro_f1_from_indices, n_classes=6), resamples=300
    )
    assert same == BootstrapResult(0.0, 0.0, 0.0, 300, 0.95, 0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_macro_f1_from_indices_matches_sklearn(seed: int) -> None:
    y_true, y_pred = labelled_predictions(seed=seed, n=250, right=0.6, classes=7)
    y_true[y_true == 6] = 5  # class 6 has no examples, only predictions
    y_pred[::17] = 7  # off-label answers: a miss, and a positive for no class
    ours = macro_f1_from_indices(y_true, y_pred, n_classes=7)
    expected = f1_score(y_true, y_pred, labels=range(7), average="macro", zero_division=0)
    assert ours == pytest.approx(expected, abs=1e-12)
    assert macro_f1_from_indices(list(y_true), list(y_true), n_classes=6) == 1.0


def test_macro_f1_from_indices_agrees_with_classification_metrics() -> None:
    labels = ["a", "b", "c"]
    y_true, y_pred = ["a", "a", "b", "c", "c", "c"], ["a", "b", "b", "c", "x", "a"]
    index = {"a": 0, "b": 1, "c": 2, "x": 3}
    expected = tunegate.metrics.classification_metrics(y_true, y_pred, labels).macro_f1
    ours = macro_f1_from_indices([index[t] for t in y_true], [index[p] for p in y_pred], 3)
    assert ours == pytest.approx(expected, abs=1e-12)


def test_macro_f1_from_indices_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="class index 3"):
        macro_f1_from_indices([0, 3], [0, 1], n_classes=3)
    with pytest.raises(ValueError, match="1-D arrays"):
        macro_f1_from_indices([0, 1], [0], n_classes=3)
    with pytest.raises(ValueError, match="n_classes"):
        macro_f1_from_indices([0], [0], n_classes=0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: mcnemar_exact([True, False], [True]), "same examples"),
        (lambda: mcnemar_exact([], []), "no examples"),
        (lambda: mcnemar_exact([0.5, 1.0], [1, 0]), "booleans"),
        (lambda: mcnemar_exact(["yes"], ["no"]), "booleans"),
        (lambda: mcnemar_exact([True], [True], alternative="better"), "alternative"),  # type: ignore[arg-type]
        (lambda: paired_bootstrap([1.0, 2.0], [1.0]), "same examples"),
        (lambda: paired_bootstrap([], []), "no examples"),
        (lambda: paired_bootstrap([1.0], [math.nan]), "NaN"),
        (lambda: paired_bootstrap([[1.0]], [[1.0]]), "one-dimensional"),
        (lambda: paired_bootstrap([1.0], [2.0], confidence=1.0), "confidence"),
        (lambda: paired_bootstrap([1.0], [2.0], confidence=0.0), "confidence"),
        (lambda: paired_bootstrap([1.0], [2.0], confidence=math.nan), "confidence"),
        (lambda: paired_bootstrap([1.0], [2.0], resamples=0), "resamples"),
        (lambda: paired_bootstrap_metric([1], [1, 2], [1], lambda t, p: 0.0), "same examples"),
        (lambda: paired_bootstrap_metric([1], [1], [1, 2], lambda t, p: 0.0), "same examples"),
        (lambda: paired_bootstrap_metric([], [], [], lambda t, p: 0.0), "no examples"),
        (
            lambda: paired_bootstrap_metric([1], [1], [1], lambda t, p: 0.0, resamples=0),
            "resamples",
        ),
        (lambda: paired_bootstrap_metric([1], [1], [1], lambda t, p: math.nan), "NaN"),
        (lambda: wilson_interval(0, 0), "n must be positive"),
        (lambda: wilson_interval(4, 3), "successes"),
        (lambda: wilson_interval(-1, 3), "successes"),
        (lambda: wilson_interval(1, 3, confidence=1.5), "confidence"),
    ],
)
def test_invalid_input_is_rejected_with_a_reason(call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_paired_statistics_are_not_registered_as_metrics() -> None:
    """They judge a comparison, not one model, and have no direction of their own."""
    assert not {"mcnemar_exact", "paired_bootstrap", "wilson_interval"} & set(METRICS)
    names = {
        "BootstrapResult",
        "McNemarResult",
        "macro_f1_from_indices",
        "mcnemar_exact",
        "paired_bootstrap",
        "paired_bootstrap_metric",
        "wilson_interval",
    }
    assert names <= set(tunegate.metrics.__all__)


def test_bootstrap_metric_interval_of_one_models_figure():
    from tunegate.metrics import bootstrap_metric, macro_f1_from_indices

    rng = np.random.default_rng(5)
    truth = rng.integers(0, 3, size=300)
    pred = np.where(rng.random(300) < 0.7, truth, rng.integers(0, 3, size=300))
    metric = partial(macro_f1_from_indices, n_classes=3)
    result = bootstrap_metric(truth, pred, metric, resamples=1_000, seed=2)
    assert result.value == pytest.approx(f1_score(truth, pred, average="macro"))
    assert result.low < result.value < result.high
    assert 0.05 < result.high - result.low < 0.2
    assert result == bootstrap_metric(list(truth), list(pred), metric, resamples=1_000, seed=2)
    # scipy's percentile bootstrap of the same statistic agrees within resampling noise
    theirs = bootstrap((truth, pred), lambda t, p: metric(t, p), paired=True, vectorized=False,
                       n_resamples=1_000, method="percentile", random_state=0)
    assert result.low == pytest.approx(theirs.confidence_interval.low, abs=0.02)
    assert result.high == pytest.approx(theirs.confidence_interval.high, abs=0.02)
