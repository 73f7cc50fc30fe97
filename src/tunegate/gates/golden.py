"""Golden-set regression: the candidate may not break what the reference gets right.

Only the golden examples that the reference (base model or production adapter)
answers correctly count; a candidate that gets one of them wrong has regressed there.
The verdict lists every regressed example so a failure can be read, not just counted,
and says whether the drop is statistically real: the exact McNemar test on the
discordant pairs, a paired bootstrap interval of the accuracy difference and the
Wilson interval of the regression rate.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from tunegate.gates._result import Direction, GateResult, gate_error
from tunegate.metrics.paired import mcnemar_exact, paired_bootstrap, wilson_interval

CONFIDENCE = 0.95
"""Confidence level of the bootstrap and Wilson intervals the gate reports."""


def golden_regression(
    ids: Sequence[str],
    inputs: Sequence[str],
    expected: Sequence[str],
    reference_answers: Sequence[str],
    candidate_answers: Sequence[str],
    max_regression: float = 0.05,
    name: str = "golden_regression",
    *,
    require_significance: bool = False,
    alpha: float = 0.05,
    seed: int = 0,
    resamples: int = 10_000,
) -> GateResult:
    """Pass when at most ``max_regression`` of the reference-correct examples regressed.

    An answer is correct when it equals the expected answer exactly; normalise answers
    (case, whitespace, label extraction) before calling. The rate is regressed /
    reference-correct, so a rate exactly at ``max_regression`` passes.

    With ``require_significance`` the gate fails only when the rate exceeds
    ``max_regression`` *and* the one-sided ("worse") exact McNemar p-value is below
    ``alpha``: a few flips on a small golden set that improvements may well offset do
    not block a release. The p-values and intervals are reported either way; the
    bootstrap (``resamples`` draws, ``seed``) is deterministic for a fixed seed.
    """
    _check_settings(max_regression, alpha, resamples)
    thresholds = {"regression_rate": float(max_regression)}
    directions: dict[str, Direction] = {"regression_rate": "<="}
    if require_significance:
        thresholds["p_value_worse"] = float(alpha)
        directions["p_value_worse"] = ">="
    columns = {
        "ids": ids,
        "inputs": inputs,
        "expected": expected,
        "reference_answers": reference_answers,
        "candidate_answers": candidate_answers,
    }
    problem = _input_problem(columns)
    if problem is not None:
        return gate_error(name, problem, thresholds=thresholds, directions=directions)
    values, evidence, correct = _compare(columns)
    values.update(_paired_statistics(*correct, seed=seed, resamples=resamples, evidence=evidence))
    reference_correct = int(values["reference_correct"])
    if reference_correct == 0:
        reason = (
            f"the reference answers none of the {len(ids)} golden examples correctly;"
            " there is nothing to regress from (check the expected answers and the reference)"
        )
        return gate_error(
            name,
            reason,
            values=values,
            thresholds=thresholds,
            directions=directions,
            evidence=evidence,
        )
    regressed = int(values["regressed"])
    rate = regressed / reference_correct
    low, high = wilson_interval(regressed, reference_correct, CONFIDENCE)
    values.update(
        {"regression_rate": rate, "regression_rate_ci_low": low, "regression_rate_ci_high": high}
    )
    evidence["regression_rate_ci"] = {"low": low, "high": high, "confidence": CONFIDENCE}
    over = rate > max_regression
    p_worse = values["p_value_worse"]
    significant = p_worse < alpha
    passed = not over or (require_significance and not significant)
    reason = (
        f"{regressed} of {reference_correct} golden examples the reference gets right"
        f" regressed ({rate:.2%} {'>' if over else '<='} {max_regression:.2%} allowed)"
    )
    if require_significance and over:
        if significant:
            reason += (
                f" and the drop is significant (one-sided McNemar p = {p_worse:.4f}"
                f" < alpha {alpha:.4f})"
            )
        else:
            reason += (
                f" but the drop is not significant (one-sided McNemar p = {p_worse:.4f}"
                f" >= alpha {alpha:.4f}); passing because require_significance is set"
            )
    else:
        reason += f"; one-sided McNemar p = {p_worse:.4f}"
    return GateResult(name, passed, values, thresholds, evidence, reason, None, directions)


def _check_settings(max_regression: float, alpha: float, resamples: int) -> None:
    """Thresholds and settings are configuration: a bad one is an error, not a failed gate."""
    if not (isinstance(max_regression, int | float) and 0.0 <= max_regression <= 1.0):
        raise ValueError(f"max_regression must be a number in [0, 1], got {max_regression!r}")
    if not (isinstance(alpha, int | float) and 0.0 < alpha < 1.0):
        raise ValueError(f"alpha must be a number strictly between 0 and 1, got {alpha!r}")
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 1:
        raise ValueError(f"resamples must be a positive integer, got {resamples!r}")


def _compare(
    columns: dict[str, Sequence[str]],
) -> tuple[dict[str, float], dict[str, Any], tuple[list[bool], list[bool]]]:
    """Counts of right answers and flips, the flipped examples, and the right/wrong flags."""
    expected = columns["expected"]
    reference_ok = [r == e for r, e in zip(columns["reference_answers"], expected, strict=True)]
    candidate_ok = [c == e for c, e in zip(columns["candidate_answers"], expected, strict=True)]
    pairs = list(enumerate(zip(reference_ok, candidate_ok, strict=True)))
    regressed = [i for i, (ref, cand) in pairs if ref and not cand]
    improved = [i for i, (ref, cand) in pairs if cand and not ref]
    values: dict[str, float] = {
        "examples": len(expected),
        "reference_correct": sum(reference_ok),
        "candidate_correct": sum(candidate_ok),
        "regressed": len(regressed),
        "improved": len(improved),
    }
    flips = sorted((_flip(i, columns) for i in regressed), key=lambda flip: flip["id"])
    evidence = {"flips": flips, "improved": sorted(columns["ids"][i] for i in improved)}
    return values, evidence, (reference_ok, candidate_ok)


def _paired_statistics(
    reference_ok: list[bool],
    candidate_ok: list[bool],
    *,
    seed: int,
    resamples: int,
    evidence: dict[str, Any],
) -> dict[str, float]:
    """McNemar p-values and the bootstrap CI of the accuracy difference, over all examples.

    Adds their full records to ``evidence`` and returns the numbers for ``values``.
    """
    two_sided = mcnemar_exact(reference_ok, candidate_ok, "two-sided")
    worse = mcnemar_exact(reference_ok, candidate_ok, "worse")
    bootstrap = paired_bootstrap(
        [float(x) for x in reference_ok],
        [float(x) for x in candidate_ok],
        resamples=resamples,
        confidence=CONFIDENCE,
        seed=seed,
    )
    evidence["mcnemar"] = {
        "regressed": worse.regressed,
        "improved": worse.improved,
        "p_value_two_sided": two_sided.p_value,
        "p_value_worse": worse.p_value,
    }
    evidence["accuracy_difference_ci"] = bootstrap.to_dict()
    values = {
        "p_value_two_sided": two_sided.p_value,
        "p_value_worse": worse.p_value,
        "accuracy_difference": bootstrap.difference,
        "accuracy_difference_ci_low": bootstrap.low,
        "accuracy_difference_ci_high": bootstrap.high,
    }
    return values


def _input_problem(columns: dict[str, Sequence[str]]) -> str | None:
    """Why the golden columns cannot be compared, or None when they can."""
    lengths = {key: len(column) for key, column in columns.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{key}={n}" for key, n in lengths.items())
        return f"golden columns have different lengths: {listed}"
    if not columns["ids"]:
        return "no golden examples"
    duplicates = sorted(i for i, n in Counter(columns["ids"]).items() if n > 1)
    if duplicates:
        return f"duplicate golden ids: {', '.join(duplicates[:10])}"
    return None


def _flip(index: int, columns: dict[str, Sequence[str]]) -> dict[str, str]:
    """One regressed example, as shown in the explanation and stored in the record."""
    return {
        "id": columns["ids"][index],
        "input": columns["inputs"][index],
        "expected": columns["expected"][index],
        "reference": columns["reference_answers"][index],
        "candidate": columns["candidate_answers"][index],
    }
