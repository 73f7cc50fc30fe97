"""Golden-set regression: the candidate may not break what the reference gets right.

Only the golden examples that the reference (base model or production adapter)
answers correctly count; a candidate that gets one of them wrong has regressed there.
The verdict lists every regressed example so a failure can be read, not just counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from tunegate.gates._result import Direction, GateResult, gate_error


def golden_regression(
    ids: Sequence[str],
    inputs: Sequence[str],
    expected: Sequence[str],
    reference_answers: Sequence[str],
    candidate_answers: Sequence[str],
    max_regression: float = 0.05,
    name: str = "golden_regression",
) -> GateResult:
    """Pass when at most ``max_regression`` of the reference-correct examples regressed.

    An answer is correct when it equals the expected answer exactly; normalise answers
    (case, whitespace, label extraction) before calling. The rate is regressed /
    reference-correct, so a rate exactly at ``max_regression`` passes.
    """
    if not (isinstance(max_regression, int | float) and 0.0 <= max_regression <= 1.0):
        raise ValueError(f"max_regression must be a number in [0, 1], got {max_regression!r}")
    thresholds = {"regression_rate": float(max_regression)}
    directions: dict[str, Direction] = {"regression_rate": "<="}
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
    values, evidence = _compare(columns)
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
    values["regression_rate"] = rate
    passed = rate <= max_regression
    reason = (
        f"{regressed} of {reference_correct} golden examples the reference gets right"
        f" regressed ({rate:.2%} {'<=' if passed else '>'} {max_regression:.2%} allowed)"
    )
    return GateResult(name, passed, values, thresholds, evidence, reason, None, directions)


def _compare(columns: dict[str, Sequence[str]]) -> tuple[dict[str, float], dict[str, Any]]:
    """Counts of right answers and flips, and the flipped examples themselves."""
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
    return values, evidence


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
