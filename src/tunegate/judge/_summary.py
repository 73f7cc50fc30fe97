"""What a set of verdicts says: mean score or win rate, with an interval, and the
judge's own flakiness (vote ties, position bias). These measure; gates decide."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from tunegate.judge._judge import PairwiseVerdict, PointwiseVerdict
from tunegate.metrics.paired import paired_bootstrap

CONFIDENCE = 0.95
RESAMPLES = 2000


@dataclass(frozen=True)
class ScoreSummary:
    """Mean judge score with its bootstrap interval; ``errors`` are (id, error)."""

    n: int
    mean: float
    low: float
    high: float
    vote_ties: int
    errors: tuple[tuple[str, str], ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PairwiseSummary:
    """Candidate vs reference: wins, losses, ties; win rate (a tie counts half) with
    its bootstrap interval; the share of pairs whose verdict followed the position
    (``position_bias``) and whose two orders disagreed (``inconsistent``)."""

    n: int
    wins: int
    losses: int
    ties: int
    win_rate: float
    low: float
    high: float
    position_bias: float
    inconsistent: float
    vote_ties: int
    errors: tuple[tuple[str, str], ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_summary(verdicts: Sequence[PointwiseVerdict], *, confidence: float = CONFIDENCE,
                  seed: int = 0) -> ScoreSummary:
    """Mean and interval over the verdicts that have a score (NaN when none has)."""
    errors = tuple((v.id, v.error) for v in verdicts if v.error is not None)
    scores = [float(v.score) for v in verdicts if v.score is not None]
    mean, low, high = _mean_interval(scores, confidence, seed)
    return ScoreSummary(len(scores), mean, low, high, sum(v.tie for v in verdicts), errors)


def pairwise_summary(verdicts: Sequence[PairwiseVerdict], *, confidence: float = CONFIDENCE,
                     seed: int = 0) -> PairwiseSummary:
    """Win rate of the candidate over the reference, and the judge's position bias."""
    errors = tuple((v.id, v.error) for v in verdicts if v.error is not None)
    judged = [v for v in verdicts if v.winner is not None]
    value = {"candidate": 1.0, "tie": 0.5, "reference": 0.0}
    rate, low, high = _mean_interval([value[v.winner] for v in judged if v.winner], confidence,
                                     seed)
    n = len(judged)
    return PairwiseSummary(
        n, sum(v.winner == "candidate" for v in judged),
        sum(v.winner == "reference" for v in judged), sum(v.winner == "tie" for v in judged),
        rate, low, high,
        sum(v.position_bias for v in judged) / n if n else float("nan"),
        sum(not v.consistent for v in judged) / n if n else float("nan"),
        sum(v.vote_tie for v in judged), errors,
    )


def _mean_interval(values: list[float], confidence: float, seed: int) -> tuple[float, ...]:
    """Mean and percentile bootstrap interval; the bootstrap of mean(values) − mean(0)
    is the bootstrap of the mean, so the paired bootstrap of tunegate.metrics serves."""
    if not values:
        nan = float("nan")
        return nan, nan, nan
    result = paired_bootstrap([0.0] * len(values), values, resamples=RESAMPLES,
                              confidence=confidence, seed=seed)
    return result.difference, result.low, result.high
