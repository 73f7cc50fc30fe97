"""Golden-set regression gate."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypedDict

import pytest

from tunegate.gates import GateFailed, golden_regression


class Golden(TypedDict):
    """The columns golden_regression takes, by keyword."""

    ids: list[str]
    inputs: list[str]
    expected: list[str]
    reference_answers: list[str]
    candidate_answers: list[str]


def golden(n: int, reference_wrong: set[int], regressed: set[int], improved: set[int]) -> Golden:
    """n golden examples with chosen reference misses, regressions and improvements."""
    ids = [f"g-{i:03d}" for i in range(n)]
    expected = [f"label-{i % 3}" for i in range(n)]
    reference = [e + "?" if i in reference_wrong else e for i, e in enumerate(expected)]
    candidate = list(expected)
    for i in range(n):
        if i in regressed or (i in reference_wrong and i not in improved):
            candidate[i] = "wrong"
    inputs = [f"Ticket {i}: my order arrived late and the box was damaged, " * 3 for i in ids]
    return {
        "ids": ids,
        "inputs": inputs,
        "expected": expected,
        "reference_answers": reference,
        "candidate_answers": candidate,
    }


def test_passes_without_regressions_and_records_improvements() -> None:
    result = golden_regression(**golden(20, reference_wrong={3, 4}, regressed=set(), improved={4}))
    assert result.passed and result.error is None
    assert result.values == {
        "examples": 20,
        "reference_correct": 18,
        "candidate_correct": 19,
        "regressed": 0,
        "improved": 1,
        "regression_rate": 0.0,
    }
    assert result.evidence == {"flips": [], "improved": ["g-004"]}
    assert result.check() is result
    assert "flips: none" in result.explain()


def test_fails_and_lists_every_flip_sorted_by_id() -> None:
    data = golden(20, reference_wrong=set(), regressed={7, 2}, improved=set())
    result = golden_regression(**data, max_regression=0.05)
    assert not result.passed and result.error is None
    assert result.values["regression_rate"] == pytest.approx(0.1)
    flips = result.evidence["flips"]
    assert [f["id"] for f in flips] == ["g-002", "g-007"]
    assert flips[0] == {
        "id": "g-002",
        "input": data["inputs"][2],
        "expected": "label-2",
        "reference": "label-2",
        "candidate": "wrong",
    }
    text = result.explain()
    assert text.splitlines()[0] == (
        "golden_regression: FAILED — 2 of 20 golden examples the reference gets right"
        " regressed (10.00% > 5.00% allowed)"
    )
    assert "regression_rate    0.1000  <= 0.0500" in text
    assert "g-002" in text and "g-007" in text
    assert data["inputs"][2][:60] in text
    assert data["inputs"][2] not in text  # long inputs are truncated
    with pytest.raises(GateFailed, match="g-007"):
        result.check()


def test_exactly_at_threshold_passes() -> None:
    result = golden_regression(
        **golden(20, reference_wrong=set(), regressed={5}, improved=set()), max_regression=0.05
    )
    assert result.values["regression_rate"] == 0.05
    assert result.passed
    assert "(5.00% <= 5.00% allowed)" in result.reason


def test_rate_counts_only_reference_correct_examples() -> None:
    # 10 examples, the reference misses 5; one of the other 5 regresses: 20%, not 10%
    data = golden(10, reference_wrong={0, 1, 2, 3, 4}, regressed={9}, improved=set())
    result = golden_regression(**data, max_regression=0.15)
    assert result.values["reference_correct"] == 5
    assert result.values["regression_rate"] == pytest.approx(0.2)
    assert not result.passed


def test_explanation_caps_flip_rows() -> None:
    result = golden_regression(**golden(50, set(), regressed=set(range(25)), improved=set()))
    text = result.explain()
    assert "flips (25):" in text
    assert "g-019" in text and "g-020" not in text
    assert "... and 5 more" in text


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["candidate_answers"].pop(), "different lengths: ids=4, inputs=4"),
        (lambda d: [column.clear() for column in d.values()], "no golden examples"),
        (lambda d: d["ids"].__setitem__(3, "g-000"), "duplicate golden ids: g-000"),
    ],
)
def test_unusable_inputs_are_not_evaluated(
    mutate: Callable[[Golden], object], message: str
) -> None:
    data = golden(4, set(), set(), set())
    mutate(data)
    result = golden_regression(**data)
    assert not result.passed
    assert result.error is not None and message in result.error
    assert result.explain().startswith("golden_regression: NOT EVALUATED — ")
    assert result.thresholds == {"regression_rate": 0.05}
    with pytest.raises(GateFailed, match="NOT EVALUATED"):
        result.check()


def test_reference_with_no_correct_answer_is_not_evaluated() -> None:
    result = golden_regression(
        **golden(3, reference_wrong={0, 1, 2}, regressed=set(), improved={1})
    )
    assert not result.passed
    assert result.error is not None and "reference answers none of the 3" in result.error
    assert "regression_rate" not in result.values
    assert result.evidence["improved"] == ["g-001"]


@pytest.mark.parametrize("bad", [-0.01, 1.01, float("nan")])
def test_bad_threshold_is_a_configuration_error(bad: float) -> None:
    with pytest.raises(ValueError, match="max_regression"):
        golden_regression(**golden(3, set(), set(), set()), max_regression=bad)


def test_custom_name_and_json_record() -> None:
    result = golden_regression(
        **golden(10, set(), regressed={1}, improved=set()), name="golden_vs_production"
    )
    record = result.to_dict()
    assert json.loads(json.dumps(record, allow_nan=False)) == record
    assert record["name"] == "golden_vs_production"
    assert record["evidence"]["flips"][0]["id"] == "g-001"
    assert result.explain().startswith("golden_vs_production: FAILED")
