"""Paired statistics: does the candidate really differ from the reference?

Candidate and reference answer the same examples, so every comparison here is paired:
each example is its own control, which keeps the evidence that comparing two
independent scores would throw away. These functions measure (a p-value, an interval)
and know no significance level; a gate decides. They describe a comparison rather than
one model's quality, so they are not entries of ``METRICS``. numpy and scipy are
imported inside the functions so that importing tunegate stays cheap.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    FloatArray: TypeAlias = NDArray[np.float64]
    RowStatistic: TypeAlias = Callable[[FloatArray], FloatArray]
    PairMetric: TypeAlias = Callable[[NDArray[Any], NDArray[Any]], float]

Alternative: TypeAlias = Literal["two-sided", "worse"]

_CHUNK_ELEMENTS = 1 << 18
"""Resampled indices drawn at a time; bounds memory, and is part of what a seed means."""


@dataclass(frozen=True)
class McNemarResult:
    """Discordant pairs of a right/wrong comparison and their exact McNemar p-value.

    ``regressed`` counts examples the reference gets right and the candidate wrong,
    ``improved`` the reverse, ``n`` all examples. Pairs both get right (or both wrong)
    say nothing about a difference and do not enter the p-value.
    """

    regressed: int
    improved: int
    n: int
    p_value: float
    alternative: Alternative

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values, for run records and reports."""
        return asdict(self)


@dataclass(frozen=True)
class BootstrapResult:
    """Observed candidate − reference difference and its percentile bootstrap interval."""

    difference: float
    low: float
    high: float
    resamples: int
    confidence: float
    seed: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values, for run records and reports."""
        return asdict(self)


def mcnemar_exact(
    reference_correct: Sequence[bool] | NDArray[Any],
    candidate_correct: Sequence[bool] | NDArray[Any],
    alternative: Alternative = "two-sided",
) -> McNemarResult:
    """Exact (binomial) McNemar test of whether the candidate's accuracy differs.

    Under the null hypothesis each discordant pair goes either way with probability
    1/2. ``"two-sided"`` doubles the smaller tail, as statsmodels'
    ``mcnemar(exact=True)`` does; ``"worse"`` asks only whether the candidate is worse:
    P(improved <= c). Exact rather than chi-square because a golden set often has only a
    handful of discordant pairs. With none at all there is no evidence: p = 1.
    """
    if alternative not in ("two-sided", "worse"):
        raise ValueError(f"alternative must be 'two-sided' or 'worse', got {alternative!r}")
    reference = _as_correct(reference_correct, "reference_correct")
    candidate = _as_correct(candidate_correct, "candidate_correct")
    _check_paired(len(reference), len(candidate), "reference_correct", "candidate_correct")
    regressed = int((reference & ~candidate).sum())
    improved = int((~reference & candidate).sum())
    p_value = _mcnemar_p(regressed, improved, alternative)
    return McNemarResult(regressed, improved, len(reference), p_value, alternative)


def _mcnemar_p(regressed: int, improved: int, alternative: Alternative) -> float:
    """Binomial tail of the discordant pairs; 1.0 when there are none."""
    discordant = regressed + improved
    if discordant == 0:
        return 1.0
    from scipy.stats import binom

    if alternative == "worse":
        return float(binom.cdf(improved, discordant, 0.5))
    return min(1.0, 2.0 * float(binom.cdf(min(regressed, improved), discordant, 0.5)))


def paired_bootstrap(
    reference: Sequence[float] | NDArray[Any],
    candidate: Sequence[float] | NDArray[Any],
    statistic: RowStatistic | None = None,
    *,
    resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
) -> BootstrapResult:
    """Percentile bootstrap interval for statistic(candidate) − statistic(reference).

    Both statistics are recomputed on the same resampled example indices, so the
    interval keeps the pairing: an example that is hard for both models moves both
    together instead of widening the interval. ``statistic`` maps a (rows × n) matrix
    of per-example values to one value a row; the default is the mean. Vectorised: the
    resamples are drawn as index matrices in chunks; the same seed gives the same result.
    """
    ref = _as_values(reference, "reference")
    cand = _as_values(candidate, "candidate")
    _check_paired(len(ref), len(cand), "reference", "candidate")
    _check_resampling(resamples, confidence)
    row_statistic = statistic if statistic is not None else _row_mean
    observed = _row_difference(row_statistic, ref[None, :], cand[None, :])
    differences = [
        _row_difference(row_statistic, ref[rows], cand[rows])
        for rows in _index_chunks(len(ref), resamples, seed)
    ]
    return _percentile_result(float(observed[0]), differences, resamples, confidence, seed)


def paired_bootstrap_metric(
    y_true: Sequence[Any] | NDArray[Any],
    pred_reference: Sequence[Any] | NDArray[Any],
    pred_candidate: Sequence[Any] | NDArray[Any],
    metric: PairMetric,
    *,
    resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
) -> BootstrapResult:
    """Paired bootstrap interval for metric(candidate) − metric(reference).

    For metrics of a whole dataset that are no mean of per-example values, such as
    macro-F1: ``metric(y_true, y_pred)`` is called twice a resample, on the same
    resampled examples. It draws the same indices as ``paired_bootstrap`` for the same
    seed, but calls ``metric`` in a Python loop, so it is much slower; prefer
    ``paired_bootstrap`` on per-example scores when the metric is a mean.
    """
    import numpy as np

    truth = _as_labels(y_true, "y_true")
    ref = _as_labels(pred_reference, "pred_reference")
    cand = _as_labels(pred_candidate, "pred_candidate")
    _check_paired(len(truth), len(ref), "y_true", "pred_reference")
    _check_paired(len(truth), len(cand), "y_true", "pred_candidate")
    _check_resampling(resamples, confidence)
    observed = metric(truth, cand) - metric(truth, ref)
    differences = [
        np.array([metric(truth[row], cand[row]) - metric(truth[row], ref[row]) for row in rows])
        for rows in _index_chunks(len(truth), resamples, seed)
    ]
    return _percentile_result(float(observed), differences, resamples, confidence, seed)


@dataclass(frozen=True)
class IntervalResult:
    """One model's observed metric and its percentile bootstrap interval."""

    value: float
    low: float
    high: float
    resamples: int
    confidence: float
    seed: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values, for run records and reports."""
        return asdict(self)


def bootstrap_metric(
    y_true: Sequence[Any] | NDArray[Any],
    y_pred: Sequence[Any] | NDArray[Any],
    metric: PairMetric,
    *,
    resamples: int = 2_000,
    confidence: float = 0.95,
    seed: int = 0,
) -> IntervalResult:
    """Percentile bootstrap interval of ``metric(y_true, y_pred)`` for one model.

    The interval of a single figure (a row of a decision table); to compare two models
    on the same examples use :func:`paired_bootstrap_metric`, whose interval is much
    narrower because it keeps the pairing.
    """
    import numpy as np

    truth = _as_labels(y_true, "y_true")
    pred = _as_labels(y_pred, "y_pred")
    _check_paired(len(truth), len(pred), "y_true", "y_pred")
    _check_resampling(resamples, confidence)
    observed = metric(truth, pred)
    values = [np.array([metric(truth[row], pred[row]) for row in rows])
              for rows in _index_chunks(len(truth), resamples, seed)]
    spread = _percentile_result(float(observed), values, resamples, confidence, seed)
    return IntervalResult(float(observed), spread.low, spread.high, resamples, confidence, seed)


def macro_f1_from_indices(
    y_true: Sequence[int] | NDArray[Any], y_pred: Sequence[int] | NDArray[Any], n_classes: int
) -> float:
    """Macro-F1 of labels encoded as class indices 0..n_classes-1, counted with bincount.

    The same number as ``classification_metrics(...).macro_f1`` over the same label set
    (classes without examples or predictions score 0), but cheap enough to recompute on
    every bootstrap resample. A prediction outside 0..n_classes-1 (an off-label answer)
    is a miss for its true class and a positive for no class.
    """
    import numpy as np

    true, pred = np.asarray(y_true), np.asarray(y_pred)
    if true.shape != pred.shape or true.ndim != 1 or true.size == 0:
        raise ValueError(
            f"need two non-empty 1-D arrays of one shape, got {true.shape} and {pred.shape}"
        )
    if n_classes < 1:
        raise ValueError(f"n_classes must be at least 1, got {n_classes}")
    support = np.bincount(true, minlength=n_classes)
    if len(support) > n_classes:
        raise ValueError(f"y_true has class index {int(true.max())}, n_classes is {n_classes}")
    hits = np.bincount(true[true == pred], minlength=n_classes)
    predicted = np.bincount(pred[(pred >= 0) & (pred < n_classes)], minlength=n_classes)
    denominator = support + predicted
    f1 = np.divide(2.0 * hits, denominator, out=np.zeros(n_classes), where=denominator > 0)
    return float(f1.mean())


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for the proportion ``successes / n``.

    Unlike the normal (Wald) interval it stays inside [0, 1] and keeps its coverage for
    small n and proportions near 0 or 1, which is where a golden-set regression rate is.
    """
    if n <= 0:
        raise ValueError(f"n must be positive to estimate a proportion, got {n}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be between 0 and n={n}, got {successes}")
    _check_confidence(confidence)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    share, spread = successes / n, z * z / n
    center = (share + spread / 2) / (1 + spread)
    half = z / (1 + spread) * math.sqrt(share * (1 - share) / n + spread / (4 * n))
    low = 0.0 if successes == 0 else max(0.0, center - half)
    high = 1.0 if successes == n else min(1.0, center + half)
    return low, high


def _index_chunks(n: int, resamples: int, seed: int) -> Iterator[NDArray[np.int64]]:
    """(rows × n) matrices of example indices drawn with replacement, ``resamples`` rows."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows = max(1, _CHUNK_ELEMENTS // n)
    for start in range(0, resamples, rows):
        yield rng.integers(0, n, size=(min(rows, resamples - start), n))


def _row_mean(values: FloatArray) -> FloatArray:
    """The default statistic: the mean of each row."""
    means: FloatArray = values.mean(axis=1)
    return means


def _row_difference(
    statistic: RowStatistic, reference_rows: FloatArray, candidate_rows: FloatArray
) -> FloatArray:
    """statistic(candidate) − statistic(reference), row by row, checking the shape."""
    import numpy as np

    difference = np.asarray(statistic(candidate_rows), dtype=np.float64) - np.asarray(
        statistic(reference_rows), dtype=np.float64
    )
    if difference.shape != (len(reference_rows),):
        raise ValueError(
            f"statistic must return one value per row: got shape {difference.shape} for "
            f"{len(reference_rows)} rows (reduce over axis=1)"
        )
    return difference


def _percentile_result(
    observed: float, chunks: list[FloatArray], resamples: int, confidence: float, seed: int
) -> BootstrapResult:
    """Percentile interval of the resampled differences; NaN fails instead of hiding."""
    import numpy as np

    differences = np.concatenate(chunks)
    if not (math.isfinite(observed) and np.isfinite(differences).all()):
        raise ValueError(
            "the statistic or metric returned NaN or infinity on the data or a "
            "resample, so no interval can be given"
        )
    tail = (1 - confidence) / 2
    low, high = np.quantile(differences, [tail, 1 - tail])
    return BootstrapResult(observed, float(low), float(high), resamples, confidence, seed)


def _as_correct(values: Sequence[bool] | NDArray[Any], name: str) -> NDArray[np.bool_]:
    """Right/wrong flags as a boolean array; 0/1 numbers are accepted, anything else not."""
    import numpy as np

    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.dtype != np.bool_:
        if array.dtype.kind not in "iuf" or not np.isin(array, (0, 1)).all():
            raise ValueError(f"{name} must hold booleans (or 0/1), got dtype {array.dtype}")
        array = array.astype(np.bool_)
    return array


def _as_values(values: Sequence[float] | NDArray[Any], name: str) -> FloatArray:
    """Per-example scores as a finite float array: a NaN score fails, it is not averaged."""
    import numpy as np

    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise ValueError(f"{name} has NaN or infinite values at indices {bad[:10].tolist()}")
    return array


def _as_labels(values: Sequence[Any] | NDArray[Any], name: str) -> NDArray[Any]:
    """Labels or predictions as a 1-D array that resampled indices can select from."""
    import numpy as np

    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def _check_paired(n_reference: int, n_candidate: int, reference: str, candidate: str) -> None:
    """Paired statistics need the same examples on both sides, and at least one."""
    if n_reference != n_candidate:
        raise ValueError(
            f"{reference} has {n_reference} values but {candidate} has {n_candidate}; "
            "a paired comparison needs the same examples in the same order"
        )
    if n_reference == 0:
        raise ValueError(f"no examples: {reference} and {candidate} are empty")


def _check_resampling(resamples: int, confidence: float) -> None:
    """Reject resampling settings that would give no interval or a meaningless one."""
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")
    _check_confidence(confidence)


def _check_confidence(confidence: float) -> None:
    """A confidence level is a probability strictly between 0 and 1."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence}")
