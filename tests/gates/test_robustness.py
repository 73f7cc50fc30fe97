"""Robustness gates: flip rates relative to the reference, injections, out-of-distribution."""

from __future__ import annotations

import pytest

from tunegate.gates import injection_resistance, ood_abstention, probe_flip_regression
from tunegate.metrics import wilson_interval

CLEAN = {"a": "billing", "b": "shipping", "c": "returns", "d": "account"}
SOURCES = ["a", "b", "c", "d", "a", "b", "c", "d", "a", "b"]
IDS = [f"{s}::typos::{i}" for i, s in enumerate(SOURCES)]


def flip(answers: list[str], flipped: set[int]) -> list[str]:
    return ["other" if i in flipped else answers[i] for i in range(len(answers))]


def test_flip_rate_increase_within_bound_passes():
    same = [CLEAN[s] for s in SOURCES]
    result = probe_flip_regression(
        "typos", IDS, SOURCES, CLEAN, flip(same, {0, 1}), CLEAN, flip(same, {0}), 0.10,
    )
    assert result.passed and result.error is None
    assert result.values["candidate_flip_rate"] == pytest.approx(0.2)
    assert result.values["reference_flip_rate"] == pytest.approx(0.1)
    assert result.values["flip_rate_increase"] == pytest.approx(0.1)  # at the bound: passes
    low, high = wilson_interval(2, 10)
    assert (result.values["candidate_flip_rate_ci_low"],
            result.values["candidate_flip_rate_ci_high"]) == (low, high)
    assert result.name == "robustness[typos]"


def test_flips_are_against_each_models_own_clean_answer():
    # The reference is wrong on clean "a" and stays wrong the same way: no flip.
    reference_clean = {**CLEAN, "a": "other"}
    same = [CLEAN[s] for s in SOURCES]
    reference_probe = [reference_clean[s] for s in SOURCES]
    result = probe_flip_regression("casing", IDS, SOURCES, CLEAN, same, reference_clean,
                                   reference_probe, 0.0)
    assert result.passed
    assert result.values["reference_flip_rate"] == 0.0


def test_a_more_brittle_candidate_fails_with_its_worst_probes_first():
    same = [CLEAN[s] for s in SOURCES]
    result = probe_flip_regression(
        "unicode", IDS, SOURCES, CLEAN, flip(same, {1, 3, 5, 7}), CLEAN, flip(same, {3}), 0.1,
        clean_inputs={s: f"clean {s}" for s in CLEAN},
        probe_inputs=[f"probe {i}" for i in range(10)],
    )
    assert not result.passed and result.error is None
    assert result.values["flip_rate_increase"] == pytest.approx(0.3)
    worst = result.evidence["worst_probes"]
    assert [row["id"] for row in worst] == [IDS[1], IDS[5], IDS[7], IDS[3]]  # candidate-only first
    assert worst[0] == {"id": IDS[1], "clean": "clean b", "probe": "probe 1",
                        "candidate clean": "shipping", "candidate probe": "other",
                        "reference probe": "shipping"}
    assert result.evidence["candidate_only_flips"] == 3
    assert "unicode" in result.reason and "> +10.0% allowed" in result.reason


def test_flip_gate_cannot_be_evaluated_without_probes_or_clean_answers():
    empty = probe_flip_regression("typos", [], [], CLEAN, [], CLEAN, [], 0.1)
    assert not empty.passed and "no typos probes" in (empty.error or "")
    unequal = probe_flip_regression("typos", IDS, SOURCES, CLEAN, ["x"], CLEAN, ["x"] * 10, 0.1)
    assert not unequal.passed and unequal.error is not None
    partial = {k: v for k, v in CLEAN.items() if k != "c"}
    same = [CLEAN[s] for s in SOURCES]
    missing = probe_flip_regression("typos", IDS, SOURCES, partial, same, CLEAN, same, 0.1)
    assert not missing.passed and "source example(s) c" in (missing.error or "")
    with pytest.raises(ValueError, match="max_increase"):
        probe_flip_regression("typos", IDS, SOURCES, CLEAN, same, CLEAN, same, 1.5)


def test_injection_success_rate():
    injected = ["technical", "billing", "other", "returns"]
    answers = ["technical", "shipping", "other", "account"]
    failing = injection_resistance(["p1", "p2", "p3", "p4"], injected, answers, 0.25)
    assert not failing.passed
    assert failing.values["injection_success_rate"] == 0.5
    assert [row["id"] for row in failing.evidence["followed"]] == ["p1", "p3"]
    passing = injection_resistance(["p1", "p2", "p3", "p4"], injected, answers, 0.5)
    assert passing.passed
    empty = injection_resistance([], [], [], 0.1)
    assert not empty.passed and empty.error is not None


def test_ood_confident_wrong_and_abstention():
    ids = ["o1", "o2", "o3", "o4", "o5"]
    answers = ["other", "billing", "other", "technical", "shipping"]
    confidence = [0.9, 0.95, 0.6, 0.4, 0.81]
    result = ood_abstention(ids, answers, confidence, "other", confidence_cut=0.8,
                            max_confident_wrong=0.2, min_abstain=0.5)
    assert result.values["confident_wrong_rate"] == pytest.approx(0.4)  # o2 and o5
    assert result.values["abstain_rate"] == pytest.approx(0.4)
    assert not result.passed
    assert [row["id"] for row in result.evidence["confident_wrong"]] == ["o2", "o5"]
    assert "> 20.0%" in result.reason and "< 50.0%" in result.reason
    assert [row["id"] for row in result.evidence["not_abstained"]] == ["o2", "o5", "o4"]
    lenient = ood_abstention(ids, answers, confidence, "other", confidence_cut=0.8,
                             max_confident_wrong=0.4, min_abstain=0.4)
    assert lenient.passed


def test_ood_abstain_rate_by_group():
    result = ood_abstention(["o1", "o2", "o3"], ["other", "billing", "other"], [0.9, 0.5, 0.7],
                            "other", confidence_cut=0.8, max_confident_wrong=0.1,
                            min_abstain=0.5, groups=["sports", "sports", "weather"])
    assert result.evidence["abstain_rate_by_group"] == {"sports": 0.5, "weather": 1.0}
    unequal = ood_abstention(["o1"], ["other"], [0.9], "other", confidence_cut=0.8,
                             max_confident_wrong=0.1, min_abstain=0.5, groups=["a", "b"])
    assert not unequal.passed and unequal.error is not None


def test_ood_gate_fails_closed_on_bad_confidences():
    result = ood_abstention(["o1"], ["billing"], [float("nan")], "other", confidence_cut=0.8,
                            max_confident_wrong=0.1, min_abstain=0.5)
    assert not result.passed and "probabilities" in (result.error or "")
    with pytest.raises(ValueError, match="confidence_cut"):
        ood_abstention(["o1"], ["other"], [0.5], "other", confidence_cut=2.0,
                       max_confident_wrong=0.1, min_abstain=0.5)
