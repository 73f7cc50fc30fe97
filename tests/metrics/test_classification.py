"""Classification metrics, checked against scikit-learn's own report."""

from __future__ import annotations

import json
import random
import warnings

import pytest
from sklearn.metrics import classification_report, confusion_matrix

from tunegate.metrics import METRICS, ClassificationMetrics, classification, classification_metrics

LABELS = ("billing", "account", "shipping", "refund", "other")


def noisy_predictions(seed: int, n: int) -> tuple[list[str], list[str]]:
    """Skewed true labels, predictions right about 70% of the time."""
    rng = random.Random(seed)
    y_true = rng.choices(LABELS, weights=[5, 3, 2, 1, 1], k=n)
    y_pred = [t if rng.random() < 0.7 else rng.choice(LABELS) for t in y_true]
    return y_true, y_pred


def test_matches_sklearn_report_on_seeded_sample() -> None:
    y_true, y_pred = noisy_predictions(seed=1234, n=300)
    metrics = classification_metrics(y_true, y_pred, LABELS)
    report = classification_report(
        y_true, y_pred, labels=list(LABELS), output_dict=True, zero_division=0
    )
    for label in LABELS:
        ours, theirs = metrics.per_class[label], report[label]
        assert ours.precision == pytest.approx(theirs["precision"], abs=1e-12)
        assert ours.recall == pytest.approx(theirs["recall"], abs=1e-12)
        assert ours.f1 == pytest.approx(theirs["f1-score"], abs=1e-12)
        assert ours.support == theirs["support"]
    assert metrics.accuracy == pytest.approx(report["accuracy"], abs=1e-12)
    assert metrics.micro_f1 == pytest.approx(report["accuracy"], abs=1e-12)
    assert metrics.macro_f1 == pytest.approx(report["macro avg"]["f1-score"], abs=1e-12)
    assert metrics.macro_precision == pytest.approx(report["macro avg"]["precision"], abs=1e-12)
    assert metrics.macro_recall == pytest.approx(report["macro avg"]["recall"], abs=1e-12)
    assert metrics.weighted_f1 == pytest.approx(report["weighted avg"]["f1-score"], abs=1e-12)
    expected_matrix = confusion_matrix(y_true, y_pred, labels=list(LABELS)).tolist()
    assert [list(row) for row in metrics.confusion] == expected_matrix
    assert metrics.labels == LABELS
    assert 0.6 < metrics.accuracy < 0.9  # the sample is the noisy one intended


def test_small_case_by_hand() -> None:
    metrics = classification_metrics(["a", "a", "b", "b"], ["a", "b", "b", "b"], ["a", "b"])
    assert metrics.accuracy == 0.75
    assert metrics.per_class["a"].precision == 1.0
    assert metrics.per_class["a"].recall == 0.5
    assert metrics.per_class["b"].precision == pytest.approx(2 / 3)
    assert metrics.per_class["b"].f1 == pytest.approx(0.8)
    assert metrics.confusion == ((1, 1), (0, 2))


def test_label_order_sets_confusion_order() -> None:
    y_true, y_pred = ["a", "b", "b"], ["b", "b", "a"]
    forward = classification_metrics(y_true, y_pred, ["a", "b"])
    backward = classification_metrics(y_true, y_pred, ["b", "a"])
    assert forward.confusion == ((0, 1), (1, 1))
    assert backward.confusion == ((1, 1), (1, 0))
    assert list(backward.per_class) == ["b", "a"]


def test_perfect_predictions() -> None:
    labels = ["x", "y"]
    metrics = classification_metrics(labels * 3, labels * 3, labels)
    assert metrics.accuracy == metrics.macro_f1 == metrics.weighted_f1 == 1.0
    assert metrics.confusion == ((3, 0), (0, 3))


def test_class_without_examples_or_predictions_scores_zero_not_nan() -> None:
    metrics = classification_metrics(["a", "a"], ["a", "a"], ["a", "b"])
    assert metrics.per_class["b"] == type(metrics.per_class["b"])(0.0, 0.0, 0.0, 0)
    assert metrics.macro_f1 == 0.5
    assert metrics.weighted_f1 == 1.0


def test_predictions_outside_labels_are_wrong_for_every_class() -> None:
    y_true = ["a", "a", "b", "b"]
    y_pred = ["a", "garbage", "b", "garbage"]
    metrics = classification_metrics(y_true, y_pred, ["a", "b"])
    assert metrics.accuracy == 0.5
    assert metrics.per_class["a"].recall == 0.5
    assert metrics.per_class["a"].precision == 1.0
    assert metrics.confusion == ((1, 0), (0, 1))  # rows sum below support
    # off-label answers count as false positives in the micro average: no gaming it
    assert metrics.micro_f1 == metrics.accuracy == 0.5
    wrong_label = classification_metrics(y_true, ["a", "b", "b", "a"], ["a", "b"])
    assert metrics.micro_f1 == wrong_label.micro_f1


@pytest.mark.parametrize(
    ("y_true", "y_pred", "labels", "message"),
    [
        (["a"], ["a", "b"], ["a", "b"], "y_true has 1 labels but y_pred has 2"),
        ([], [], ["a"], "no examples"),
        (["a"], ["a"], [], "labels is empty"),
        (["a", "c", "d"], ["a", "a", "a"], ["a", "b"], r"not in labels: \['c', 'd'\]"),
        (["a"], ["a"], ["a", "b", "a"], r"duplicates: \['a'\]"),
    ],
)
def test_rejects_bad_input(
    y_true: list[str], y_pred: list[str], labels: list[str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        classification_metrics(y_true, y_pred, labels)


def test_to_dict_is_plain_json() -> None:
    y_true, y_pred = noisy_predictions(seed=7, n=40)
    metrics = classification_metrics(y_true, y_pred, LABELS)
    record = metrics.to_dict()
    assert json.loads(json.dumps(record)) == record
    assert record["labels"] == list(LABELS)
    assert record["confusion"] == [list(row) for row in metrics.confusion]
    assert record["per_class"]["billing"]["support"] == metrics.per_class["billing"].support
    assert type(record["per_class"]["billing"]["f1"]) is float
    assert type(record["macro_f1"]) is float
    assert type(record["per_class"]["refund"]["support"]) is int


def test_metrics_are_frozen() -> None:
    metrics = classification_metrics(["a"], ["a"], ["a"])
    assert isinstance(metrics, ClassificationMetrics)
    with pytest.raises(AttributeError):
        metrics.accuracy = 0.0  # type: ignore[misc]


def test_registry_declares_direction_and_no_threshold() -> None:
    expected = {"accuracy", "macro_f1", "micro_f1", "weighted_f1", "f1", "precision", "recall"}
    assert set(classification.METRICS) == expected
    assert classification.METRICS.items() <= METRICS.items()
    for key, info in classification.METRICS.items():
        assert info.name == key
        assert info.higher_is_better is True
        assert info.description
        assert not hasattr(info, "threshold")


def test_single_label_task_raises_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metrics = classification_metrics(["a", "a"], ["a", "b"], ["a"])
    assert metrics.confusion == ((1,),)
    assert metrics.accuracy == 0.5
