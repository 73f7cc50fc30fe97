"""General-capability regression: no lm-eval task may lose more than N points of accuracy.

Catastrophic forgetting shows as a candidate that does worse than its own base model on
general tasks it was never fine-tuned for. Base and candidate answer the same
documents, so every task is compared document by document: the accuracy drop in
percentage points is held to the threshold, and the verdict carries the exact McNemar
test on the discordant documents, the paired bootstrap interval of the difference and
the documents that flipped from right to wrong. A task that could not be evaluated
(unknown, lm-eval error, no documents, documents that do not pair) fails the gate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tunegate.capability import DocOutcome, TaskResult
from tunegate.gates._result import Direction, GateResult, gate_error
from tunegate.metrics.paired import mcnemar_exact, paired_bootstrap

CONFIDENCE = 0.95
"""Confidence level of the bootstrap interval of the accuracy difference."""


def capability_regression(
    base: Mapping[str, TaskResult],
    candidate: Mapping[str, TaskResult],
    max_drop_points: float,
    *,
    tasks: Sequence[str] | None = None,
    name: str = "capability_regression",
    seed: int = 0,
    resamples: int = 10_000,
) -> GateResult:
    """Pass when no task's candidate accuracy is more than ``max_drop_points`` below the base.

    ``tasks`` (default: every task of ``base``) must each have an evaluated result on
    both sides. Values are per task: ``drop_points[task]`` (held to the threshold),
    both accuracies, the one-sided McNemar p-value that the candidate is worse, and
    the bootstrap interval of candidate − base in points.
    """
    if not (isinstance(max_drop_points, int | float) and 0.0 <= max_drop_points <= 100.0):
        raise ValueError(f"max_drop_points must be a number in [0, 100], got {max_drop_points!r}")
    names = list(tasks) if tasks is not None else sorted(base)
    values: dict[str, float] = {}
    thresholds = {f"drop_points[{t}]": float(max_drop_points) for t in names}
    directions: dict[str, Direction] = {key: "<=" for key in thresholds}
    rows: list[dict[str, Any]] = []
    flips: list[dict[str, str]] = []
    problems: list[str] = []
    for task in names:
        pairs = _pairs(task, base.get(task), candidate.get(task))
        if isinstance(pairs, str):
            problems.append(pairs)
            continue
        row = _compare(task, pairs, seed=seed, resamples=resamples)
        row["over_limit"] = row["drop_points"] > max_drop_points
        rows.append(row)
        values.update(_values(task, row))
        flips += [_flip(task, b, c) for b, c in pairs if b.correct and not c.correct]
    evidence: dict[str, Any] = {"tasks": rows, "flips": flips}
    if not names:
        problems.append("no capability tasks to compare")
    if problems:
        return gate_error(name, "; ".join(problems), values=values, thresholds=thresholds,
                          directions=directions, evidence=evidence)
    over = [row for row in rows if row["over_limit"]]
    return GateResult(name, not over, values, thresholds, evidence,
                      _reason(rows, over, max_drop_points), None, directions)


def _pairs(
    task: str, base: TaskResult | None, candidate: TaskResult | None
) -> list[tuple[DocOutcome, DocOutcome]] | str:
    """Base and candidate outcomes of the same documents, or why they cannot be paired."""
    for side, result in (("base", base), ("candidate", candidate)):
        if result is None:
            return f"{task}: no {side} result"
        if result.error is not None:
            return f"{task}: {side} not evaluated: {result.error}"
        if not result.docs:
            return f"{task}: no documents evaluated on the {side}"
    assert base is not None and candidate is not None
    by_key = {d.key: d for d in candidate.docs}
    if len(by_key) != len(candidate.docs) or len({d.key for d in base.docs}) != len(base.docs):
        return f"{task}: duplicate document keys"
    if set(by_key) != {d.key for d in base.docs}:
        return (f"{task}: base and candidate evaluated different documents "
                f"({len(base.docs)} and {len(candidate.docs)})")
    changed = [d.key for d in base.docs if d.doc_hash != by_key[d.key].doc_hash]
    if changed:
        return f"{task}: documents changed between base and candidate: {', '.join(changed[:5])}"
    return [(d, by_key[d.key]) for d in base.docs]


def _compare(
    task: str, pairs: list[tuple[DocOutcome, DocOutcome]], *, seed: int, resamples: int
) -> dict[str, Any]:
    """Accuracies, drop, McNemar and the bootstrap interval of one task's paired docs."""
    base_ok = [b.correct for b, _ in pairs]
    candidate_ok = [c.correct for _, c in pairs]
    worse = mcnemar_exact(base_ok, candidate_ok, "worse")
    two_sided = mcnemar_exact(base_ok, candidate_ok, "two-sided")
    interval = paired_bootstrap([float(x) for x in base_ok], [float(x) for x in candidate_ok],
                                resamples=resamples, confidence=CONFIDENCE, seed=seed)
    base_accuracy, candidate_accuracy = _mean(base_ok), _mean(candidate_ok)
    return {
        "task": task,
        "docs": len(pairs),
        "base_accuracy": base_accuracy,
        "candidate_accuracy": candidate_accuracy,
        "drop_points": 100.0 * (base_accuracy - candidate_accuracy),
        "regressed": worse.regressed,
        "improved": worse.improved,
        "p_value_worse": worse.p_value,
        "p_value_two_sided": two_sided.p_value,
        "difference_ci_points": [round(100.0 * interval.low, 6), round(100.0 * interval.high, 6)],
    }


def _values(task: str, row: dict[str, Any]) -> dict[str, float]:
    low, high = row["difference_ci_points"]
    return {
        f"base_accuracy[{task}]": row["base_accuracy"],
        f"candidate_accuracy[{task}]": row["candidate_accuracy"],
        f"drop_points[{task}]": row["drop_points"],
        f"p_value_worse[{task}]": row["p_value_worse"],
        f"difference_ci_low_points[{task}]": low,
        f"difference_ci_high_points[{task}]": high,
    }


def _mean(flags: list[bool]) -> float:
    return sum(flags) / len(flags)


def _flip(task: str, base: DocOutcome, candidate: DocOutcome) -> dict[str, str]:
    """A document the base gets right and the candidate wrong, as the evidence shows it."""
    return {"task": task, "doc": base.key, "prompt": base.prompt, "expected": base.target,
            "base": base.answer, "candidate": candidate.answer}


def _reason(rows: list[dict[str, Any]], over: list[dict[str, Any]], limit: float) -> str:
    """One line: the worst drop, and the tasks over the limit with their p-values."""
    if not over:
        worst = max(rows, key=lambda row: row["drop_points"])
        return (f"no task dropped more than {limit:g} points (largest drop: {worst['task']} "
                f"{worst['drop_points']:.1f} points)")
    listed = ", ".join(
        f"{row['task']} {100 * row['base_accuracy']:.1f} -> {100 * row['candidate_accuracy']:.1f}"
        f" (-{row['drop_points']:.1f} points, {row['regressed']} docs flipped to wrong, "
        f"one-sided McNemar p = {row['p_value_worse']:.2g})"
        for row in over
    )
    return f"{len(over)} of {len(rows)} tasks dropped more than {limit:g} points: {listed}"
