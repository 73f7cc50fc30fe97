"""Calibration: how far a model's label probabilities can be trusted, not just its argmax.

A noisy adapter often keeps its accuracy while its confidence drifts away from how
often it is right; these metrics catch that. Each example is a row of probabilities
over the task's labels, in label order, with the index of the gold label. numpy is
imported inside the functions so that importing tunegate stays cheap.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tunegate.metrics.classification import MetricInfo

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

SUM_TOLERANCE = 1e-3
"""How far a row of probabilities may sum from 1 (softmax in float16/32 drifts a little)."""

METRICS: dict[str, MetricInfo] = {
    info.name: info
    for info in (
        MetricInfo(
            "brier_score",
            False,
            "mean over examples of the squared distance between the probability row and "
            "the one-hot gold label, summed over classes (0 is perfect, 2 is worst)",
        ),
        MetricInfo(
            "expected_calibration_error",
            False,
            "top-label confidence vs accuracy, |accuracy - confidence| averaged over "
            "equal-width confidence bins weighted by their size",
        ),
        MetricInfo(
            "mean_gold_logprob",
            True,
            "mean natural log of the probability given to the gold label (0 is perfect)",
        ),
    )
}


@dataclass(frozen=True)
class CalibrationMetrics:
    """Accuracy and calibration of one set of label probabilities."""

    accuracy: float
    brier_score: float
    expected_calibration_error: float
    mean_gold_logprob: float
    bins: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values, for run records and reports."""
        return {
            "accuracy": self.accuracy,
            "brier_score": self.brier_score,
            "expected_calibration_error": self.expected_calibration_error,
            "mean_gold_logprob": self.mean_gold_logprob,
            "bins": self.bins,
        }


def brier_score(probabilities: Sequence[Sequence[float]], gold_indices: Sequence[int]) -> float:
    """Multi-class Brier score: mean over examples of sum over classes of (p - onehot)^2.

    Lower is better; it rewards being right with confidence and punishes confident
    mistakes, so it moves even when accuracy does not. For two classes it is twice
    scikit-learn's binary ``brier_score_loss``.
    """
    probs, gold = _as_arrays(probabilities, gold_indices)
    return _brier(probs, gold)


def expected_calibration_error(
    probabilities: Sequence[Sequence[float]], gold_indices: Sequence[int], bins: int = 10
) -> float:
    """Expected calibration error of the top label over ``bins`` equal-width bins.

    Confidence is the largest probability of a row and the prediction its label (the
    first on a tie). Bin ``b`` holds confidences in ``(b/bins, (b+1)/bins]``; the result
    is the size-weighted mean of |accuracy - mean confidence| over non-empty bins.
    Lower is better: 0 means the model is right as often as it says it is.
    """
    _check_bins(bins)
    probs, gold = _as_arrays(probabilities, gold_indices)
    return _ece(probs, gold, bins)


def mean_gold_logprob(
    probabilities: Sequence[Sequence[float]], gold_indices: Sequence[int]
) -> float:
    """Mean natural log of the gold label's probability; higher (closer to 0) is better.

    A probability of 0 is clipped to the float64 machine epsilon (log about -36), as
    scikit-learn's ``log_loss`` does, so that one certain mistake gives a large finite
    penalty rather than ``-inf`` in a run record.
    """
    probs, gold = _as_arrays(probabilities, gold_indices)
    return _mean_gold_logprob(probs, gold)


def calibration_metrics(
    probabilities: Sequence[Sequence[float]], gold_indices: Sequence[int], bins: int = 10
) -> CalibrationMetrics:
    """Accuracy, Brier score, expected calibration error and mean gold log-probability."""
    _check_bins(bins)
    probs, gold = _as_arrays(probabilities, gold_indices)
    import numpy as np

    accuracy = float(np.mean(np.argmax(probs, axis=1) == gold))
    return CalibrationMetrics(
        accuracy=accuracy,
        brier_score=_brier(probs, gold),
        expected_calibration_error=_ece(probs, gold, bins),
        mean_gold_logprob=_mean_gold_logprob(probs, gold),
        bins=bins,
    )


def _brier(probs: npt.NDArray[np.float64], gold: npt.NDArray[np.int64]) -> float:
    """Brier score of validated arrays."""
    import numpy as np

    onehot = np.zeros_like(probs)
    onehot[np.arange(len(gold)), gold] = 1.0
    return float(np.mean(np.sum((probs - onehot) ** 2, axis=1)))


def _ece(probs: npt.NDArray[np.float64], gold: npt.NDArray[np.int64], bins: int) -> float:
    """Expected calibration error of validated arrays."""
    import numpy as np

    confidence = np.max(probs, axis=1)
    correct = (np.argmax(probs, axis=1) == gold).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    # right=True: bin b is (edges[b], edges[b+1]]; a confidence of exactly 0 joins bin 0
    which = np.digitize(confidence, edges[1:-1], right=True)
    total = 0.0
    for b in range(bins):
        in_bin = which == b
        count = int(np.count_nonzero(in_bin))
        if count:
            gap = abs(float(np.mean(correct[in_bin])) - float(np.mean(confidence[in_bin])))
            total += count / len(gold) * gap
    return total


def _mean_gold_logprob(probs: npt.NDArray[np.float64], gold: npt.NDArray[np.int64]) -> float:
    """Mean log-probability of the gold labels of validated arrays."""
    import numpy as np

    gold_probs = probs[np.arange(len(gold)), gold]
    floor = np.finfo(np.float64).eps
    return float(np.mean(np.log(np.clip(gold_probs, floor, 1.0))))


def _check_bins(bins: int) -> None:
    """Reject a bin count that would make the error meaningless."""
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValueError(f"bins must be a positive integer, got {bins!r}")


def _as_arrays(
    probabilities: Sequence[Sequence[float]], gold_indices: Sequence[int]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Validate the inputs and return them as arrays, naming the first bad row."""
    if len(probabilities) != len(gold_indices):
        raise ValueError(
            f"probabilities has {len(probabilities)} rows but gold_indices has "
            f"{len(gold_indices)} labels"
        )
    if len(probabilities) == 0:
        raise ValueError("no examples: probabilities and gold_indices are empty")
    width = len(probabilities[0])
    if width == 0:
        raise ValueError("probabilities row 0 is empty")
    for row, values in enumerate(probabilities):
        if len(values) != width:
            raise ValueError(
                f"probabilities row {row} has {len(values)} values but row 0 has {width}"
            )
    import numpy as np

    probs = np.asarray(probabilities, dtype=np.float64)
    _check_rows(probs)
    return probs, _gold_array(gold_indices, width)


def _check_rows(probs: npt.NDArray[np.float64]) -> None:
    """Every row finite, within [0, 1] and summing to 1 within ``SUM_TOLERANCE``."""
    import numpy as np

    problems = (
        (~np.isfinite(probs).all(axis=1), "is not finite"),
        (((probs < 0.0) | (probs > 1.0)).any(axis=1), "has a value outside [0, 1]"),
        (
            np.abs(probs.sum(axis=1) - 1.0) > SUM_TOLERANCE,
            f"does not sum to 1 within {SUM_TOLERANCE}",
        ),
    )
    for bad, what in problems:
        rows = np.flatnonzero(bad)
        if rows.size:
            first = int(rows[0])
            more = f"; {rows.size - 1} more rows too" if rows.size > 1 else ""
            raise ValueError(f"probabilities row {first} {what}: {probs[first].tolist()}{more}")


def _gold_array(gold_indices: Sequence[int], width: int) -> npt.NDArray[np.int64]:
    """Gold labels as integer indices into a row of ``width`` probabilities."""
    import numpy as np

    indices: list[int] = []
    for row, value in enumerate(gold_indices):
        try:
            if isinstance(value, bool):
                raise TypeError
            index = operator.index(value)
        except TypeError:
            raise ValueError(f"gold_indices[{row}] is {value!r}, not an integer") from None
        if not 0 <= index < width:
            raise ValueError(
                f"gold_indices[{row}] is {index}, outside the {width} labels [0, {width})"
            )
        indices.append(index)
    return np.asarray(indices, dtype=np.int64)
