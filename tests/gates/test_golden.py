"""Golden-set regression gate."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypedDict

import pytest

from tunegate.gates import GateFailed, golden_regression
from tunegate.metrics import paired_bootstrap, wilson_interval


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
    counts = {key: result.values[key] for key in ("examples", "reference_correct")}
    assert counts == {"examples": 20, "reference_correct": 18}
    assert result.values["candidate_correct"] == 19
    assert (result.values["regressed"], result.values["improved"]) == (0, 1)
    assert result.values["regression_rate"] == 0.0
    assert result.values["accuracy_difference"] == pytest.approx(0.05)
    assert result.values["p_value_two_sided"] == 1.0
    assert result.values["p_value_worse"] == 1.0  # one improvement, no regression
    assert result.values["regression_rate_ci_low"] == 0.0
    assert result.evidence["flips"] == []
    assert result.evidence["improved"] == ["g-004"]
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
        " regressed (10.00% > 5.00% allowed); one-sided McNemar p = 0.2500"
    )
    assert "regression_rate              0.1000   <= 0.0500" in text
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


def test_reports_mcnemar_bootstrap_and_wilson_statistics() -> None:
    data = golden(20, reference_wrong=set(), regressed={2, 7}, improved=set())
    result = golden_regression(**data, resamples=500, seed=1)
    values = result.values
    # 2 discordant pairs, both regressions: P(X <= 0 | 2) = 1/4, doubled for two-sided
    assert values["p_value_worse"] == pytest.approx(0.25)
    assert values["p_value_two_sided"] == pytest.approx(0.5)
    assert values["accuracy_difference"] == pytest.approx(-0.1)
    assert values["accuracy_difference_ci_low"] <= -0.1 <= values["accuracy_difference_ci_high"]
    low, high = wilson_interval(2, 20, 0.95)
    assert (values["regression_rate_ci_low"], values["regression_rate_ci_high"]) == (low, high)
    assert 0.0 < low < 0.1 < high < 0.35
    assert result.evidence["mcnemar"] == {
        "regressed": 2,
        "improved": 0,
        "p_value_two_sided": pytest.approx(0.5),
        "p_value_worse": pytest.approx(0.25),
    }
    ci = result.evidence["accuracy_difference_ci"]
    assert (ci["resamples"], ci["seed"], ci["confidence"]) == (500, 1, 0.95)
    assert result.evidence["regression_rate_ci"]["low"] == low
    text = result.explain()
    assert "p_value_worse                0.2500" in text
    assert "accuracy_difference_ci: difference=-0.1000" in text
    assert "resamples=500, confidence=0.9500, seed=1" in text
    assert "mcnemar: regressed=2, improved=0, p_value_two_sided=0.5000" in text
    assert f"regression_rate_ci: low={low:.4f}, high={high:.4f}" in text


def test_bootstrap_covers_all_golden_examples_and_is_deterministic() -> None:
    data = golden(60, reference_wrong={1, 2, 3, 4}, regressed=set(range(10, 16)), improved={1, 2})
    first = golden_regression(**data, seed=7, resamples=2000)
    again = golden_regression(**data, seed=7, resamples=2000)
    other = golden_regression(**data, seed=8, resamples=2000)
    assert first.evidence["accuracy_difference_ci"] == again.evidence["accuracy_difference_ci"]
    assert first.to_dict() == again.to_dict()
    assert other.evidence["accuracy_difference_ci"] != first.evidence["accuracy_difference_ci"]
    reference = [
        float(r == e) for r, e in zip(data["reference_answers"], data["expected"], strict=True)
    ]
    candidate = [
        float(c == e) for c, e in zip(data["candidate_answers"], data["expected"], strict=True)
    ]
    direct = paired_bootstrap(reference, candidate, resamples=2000, seed=7)
    assert first.evidence["accuracy_difference_ci"] == direct.to_dict()
    assert first.values["accuracy_difference"] == pytest.approx((2 - 6) / 60)


def test_require_significance_passes_a_regression_that_is_not_significant() -> None:
    data = golden(20, reference_wrong=set(), regressed={2, 7}, improved=set())
    assert not golden_regression(**data).passed  # 10% > 5% without the option
    result = golden_regression(**data, require_significance=True)
    assert result.passed and result.error is None
    assert result.reason == (
        "2 of 20 golden examples the reference gets right regressed (10.00% > 5.00% allowed)"
        " but the drop is not significant (one-sided McNemar p = 0.2500 >= alpha 0.0500);"
        " passing because require_significance is set"
    )
    assert result.thresholds == {"regression_rate": 0.05, "p_value_worse": 0.05}
    assert result.directions == {"regression_rate": "<=", "p_value_worse": ">="}
    assert "p_value_worse                0.2500   >= 0.0500" in result.explain()


def test_require_significance_fails_a_significant_regression() -> None:
    data = golden(100, reference_wrong=set(), regressed=set(range(10)), improved=set())
    result = golden_regression(**data, require_significance=True)
    assert not result.passed and result.error is None
    assert result.values["p_value_worse"] == pytest.approx(0.5**10)
    assert result.reason.endswith(
        "(10.00% > 5.00% allowed) and the drop is significant"
        " (one-sided McNemar p = 0.0010 < alpha 0.0500)"
    )
    with pytest.raises(GateFailed, match="drop is significant"):
        result.check()


def test_require_significance_alpha_boundary() -> None:
    data = golden(20, reference_wrong=set(), regressed={2, 7}, improved=set())  # p = 0.25
    assert golden_regression(**data, require_significance=True, alpha=0.25).passed
    assert not golden_regression(**data, require_significance=True, alpha=0.2501).passed


def test_improvements_offset_regressions_in_the_significance_test() -> None:
    # 3 regressions of 27 reference-correct (11%) but 3 improvements: no evidence of worse
    data = golden(30, reference_wrong={0, 1, 2}, regressed={10, 11, 12}, improved={0, 1, 2})
    result = golden_regression(**data, require_significance=True)
    assert result.values["p_value_worse"] == pytest.approx(42 / 64)
    assert result.values["accuracy_difference"] == 0.0
    assert result.passed and "not significant" in result.reason
    assert not golden_regression(**data).passed


def test_require_significance_does_not_fail_a_rate_within_the_threshold() -> None:
    data = golden(100, reference_wrong=set(), regressed=set(range(5)), improved=set())
    result = golden_regression(**data, require_significance=True)
    assert result.values["p_value_worse"] < 0.05  # significant, yet within the 5 % allowed
    assert result.passed
    assert "(5.00% <= 5.00% allowed); one-sided McNemar p = 0.0312" in result.reason


def test_not_evaluated_keeps_the_significance_threshold() -> None:
    data = golden(4, set(), set(), set())
    data["expected"].pop()
    result = golden_regression(**data, require_significance=True, alpha=0.01)
    assert result.error is not None and "different lengths" in result.error
    assert result.thresholds == {"regression_rate": 0.05, "p_value_worse": 0.01}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": 1.0}, "alpha"),
        ({"alpha": float("nan")}, "alpha"),
        ({"resamples": 0}, "resamples"),
        ({"resamples": 2.5}, "resamples"),
    ],
)
def test_bad_statistics_settings_are_configuration_errors(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        golden_regression(**golden(3, set(), set(), set()), **options)


def test_statistics_record_is_json() -> None:
    data = golden(30, reference_wrong={0}, regressed={4, 5}, improved={0})
    record = golden_regression(**data, require_significance=True).to_dict()
    assert json.loads(json.dumps(record, allow_nan=False)) == record
    assert record["values"]["p_value_worse"] == pytest.approx(0.5)
    assert record["evidence"]["accuracy_difference_ci"]["resamples"] == 10_000
