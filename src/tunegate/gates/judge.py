"""Judge gates: is the judge calibrated, and given that, do its verdicts pass?

``judge_calibrated`` holds the judge's agreement with human labels (Cohen's κ and
accuracy) to floors. ``judge_scores`` and ``judge_win_rate`` let the judge's verdicts
count only when that gate passed: otherwise they fail with "judge not calibrated" and
the figures. Every judge gate fails closed: a verdict the judge could not give (an
unreachable server, malformed replies) makes the gate not evaluated, never passed.
"""

from __future__ import annotations

import math
from typing import Any

from tunegate.gates._result import MAX_ROWS, Direction, GateResult, gate_error
from tunegate.judge import CalibrationReport, PairwiseSummary, ScoreSummary


def judge_calibrated(report: CalibrationReport, min_kappa: float, min_accuracy: float,
                     name: str = "judge_calibrated") -> GateResult:
    """Pass when κ >= ``min_kappa`` and accuracy >= ``min_accuracy`` (point estimates;
    the accuracy interval is reported). Errors or an undefined κ: not evaluated."""
    _check_number("min_kappa", min_kappa, -1.0, 1.0)
    _check_number("min_accuracy", min_accuracy, 0.0, 1.0)
    thresholds = {"kappa": float(min_kappa), "accuracy": float(min_accuracy)}
    directions: dict[str, Direction] = {"kappa": ">=", "accuracy": ">="}
    if report.errors:
        return gate_error(name, _errors_reason(report.errors, len(report.verdicts),
                                               "calibration items"),
                          thresholds=thresholds, directions=directions,
                          evidence={"errors": _error_rows(report.errors)})
    found = report.agreement
    if found is None or not math.isfinite(found.kappa):
        return gate_error(name, "Cohen's κ is undefined: judge and people used one and the "
                          "same label for every item; label a more varied calibration set",
                          thresholds=thresholds, directions=directions)
    values = {"kappa": found.kappa, "accuracy": found.accuracy,
              "accuracy_ci_low": found.accuracy_low, "accuracy_ci_high": found.accuracy_high,
              "n": float(found.n)}
    kappa_ok, accuracy_ok = found.kappa >= min_kappa, found.accuracy >= min_accuracy
    passed = kappa_ok and accuracy_ok
    reason = (
        f"judge {'calibrated' if passed else 'not calibrated'}: κ {found.kappa:.3f} "
        f"{'>=' if kappa_ok else '<'} {min_kappa:.3f}, accuracy {found.accuracy:.3f} "
        f"({found.confidence:.0%} CI [{found.accuracy_low:.3f}, {found.accuracy_high:.3f}]) "
        f"{'>=' if accuracy_ok else '<'} {min_accuracy:.3f} on {found.n} labelled outputs"
    )
    evidence: dict[str, Any] = {
        "confusion": {"labels": list(found.labels), "matrix": [list(r) for r in found.confusion]},
        "disagreements": report.disagreements()[:MAX_ROWS],
    }
    return GateResult(name, passed, values, thresholds, evidence, reason, None, directions)


def judge_scores(summary: ScoreSummary, calibration: GateResult, min_mean_score: float,
                 name: str = "judge_scores") -> GateResult:
    """Pass when the judge is calibrated and the mean score >= ``min_mean_score``."""
    _check_number("min_mean_score", min_mean_score, -math.inf, math.inf)
    thresholds = {"mean_score": float(min_mean_score)}
    directions: dict[str, Direction] = {"mean_score": ">="}
    blocked = _unusable(name, calibration, summary.errors, summary.n, thresholds, directions)
    if blocked is not None:
        return blocked
    values = {"mean_score": summary.mean, "ci_low": summary.low, "ci_high": summary.high,
              "n": float(summary.n), "vote_ties": float(summary.vote_ties),
              **_judge_figures(calibration)}
    passed = summary.mean >= min_mean_score
    reason = (f"mean judge score {summary.mean:.3f} (95% CI [{summary.low:.3f}, "
              f"{summary.high:.3f}]) {'>=' if passed else '<'} {min_mean_score:.3f} "
              f"over {summary.n} outputs")
    return GateResult(name, passed, values, thresholds, {}, reason, None, directions)


def judge_win_rate(summary: PairwiseSummary, calibration: GateResult, min_win_rate: float,
                   max_position_bias: float | None = None,
                   name: str = "judge_win_rate") -> GateResult:
    """Pass when the judge is calibrated, the candidate's win rate over the reference
    (ties count half) >= ``min_win_rate``, and, when bounded, the judge's position
    bias <= ``max_position_bias``."""
    _check_number("min_win_rate", min_win_rate, 0.0, 1.0)
    thresholds = {"win_rate": float(min_win_rate)}
    directions: dict[str, Direction] = {"win_rate": ">="}
    if max_position_bias is not None:
        _check_number("max_position_bias", max_position_bias, 0.0, 1.0)
        thresholds["position_bias"] = float(max_position_bias)
        directions["position_bias"] = "<="
    blocked = _unusable(name, calibration, summary.errors, summary.n, thresholds, directions)
    if blocked is not None:
        return blocked
    values = {"win_rate": summary.win_rate, "ci_low": summary.low, "ci_high": summary.high,
              "wins": float(summary.wins), "losses": float(summary.losses),
              "ties": float(summary.ties), "position_bias": summary.position_bias,
              "inconsistent": summary.inconsistent, **_judge_figures(calibration)}
    rate_ok = summary.win_rate >= min_win_rate
    bias_ok = max_position_bias is None or summary.position_bias <= max_position_bias
    reason = (f"win rate {summary.win_rate:.3f} (95% CI [{summary.low:.3f}, {summary.high:.3f}]"
              f"; {summary.wins} won, {summary.ties} tied, {summary.losses} lost) "
              f"{'>=' if rate_ok else '<'} {min_win_rate:.3f}; position bias "
              f"{summary.position_bias:.3f}")
    if not bias_ok:
        reason += f" > {max_position_bias:.3f}: the judge follows the position, not the content"
    return GateResult(name, rate_ok and bias_ok, values, thresholds, {}, reason, None,
                      directions)


def _unusable(name: str, calibration: GateResult, errors: tuple[tuple[str, str], ...], n: int,
              thresholds: dict[str, float], directions: dict[str, Direction]) -> GateResult | None:
    """The failure when the verdicts cannot count: uncalibrated judge, errors, no data."""
    if not calibration.passed:
        figures = {f"judge_{k}": v for k, v in calibration.values.items()}
        bounds = {f"judge_{k}": v for k, v in calibration.thresholds.items()}
        bound_directions = {f"judge_{k}": v for k, v in calibration.directions.items()}
        why = calibration.reason or calibration.error or "calibration failed"
        why = why.removeprefix("judge not calibrated: ")
        return gate_error(name, f"judge not calibrated: {why}", values=figures,
                          thresholds={**thresholds, **bounds},
                          directions={**directions, **bound_directions})
    if errors:
        return gate_error(name, _errors_reason(errors, n + len(errors), "outputs"),
                          thresholds=thresholds, directions=directions,
                          evidence={"errors": _error_rows(errors)})
    if n == 0:
        return gate_error(name, "no verdicts to count", thresholds=thresholds,
                          directions=directions)
    return None


def _judge_figures(calibration: GateResult) -> dict[str, float]:
    keys = ("kappa", "accuracy")
    return {f"judge_{k}": calibration.values[k] for k in keys if k in calibration.values}


def _errors_reason(errors: tuple[tuple[str, str], ...], total: int, what: str) -> str:
    first_id, first = errors[0]
    return (f"the judge could not grade {len(errors)} of {total} {what} (fails closed); "
            f"{first_id}: {first}")


def _error_rows(errors: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    return [{"id": i, "error": e} for i, e in errors[:MAX_ROWS]]


def _check_number(what: str, value: float, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ValueError(f"{what} must be a number, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{what} must be in [{low}, {high}], got {value!r}")
