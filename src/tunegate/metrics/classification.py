"""Classification quality from predicted and true labels.

Pure measurement: these functions know no thresholds (a gate decides what is good
enough). scikit-learn does the arithmetic and is imported inside the function so that
importing tunegate stays cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MetricInfo:
    """What a metric is and which direction is better; never a threshold."""

    name: str
    higher_is_better: bool
    description: str


METRICS: dict[str, MetricInfo] = {
    info.name: info
    for info in (
        MetricInfo("accuracy", True, "fraction of examples whose predicted label is the true one"),
        MetricInfo("macro_f1", True, "unweighted mean of the per-class F1 scores"),
        MetricInfo(
            "micro_f1", True, "F1 pooled over all classes; equals accuracy for one label each"
        ),
        MetricInfo("weighted_f1", True, "mean of the per-class F1 scores weighted by support"),
        MetricInfo("f1", True, "per class: harmonic mean of precision and recall"),
        MetricInfo("precision", True, "per class: fraction of its predictions that are right"),
        MetricInfo("recall", True, "per class: fraction of the class's examples predicted as it"),
    )
}


@dataclass(frozen=True)
class ClassMetrics:
    """Quality for one class; ``support`` is the number of its true examples."""

    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class ClassificationMetrics:
    """Quality of one set of predictions over a fixed label set.

    ``confusion[i][j]`` counts examples of true label ``labels[i]`` predicted as
    ``labels[j]``; predictions outside ``labels`` appear in no column, so a row may sum
    to less than the class's support.
    """

    labels: tuple[str, ...]
    accuracy: float
    per_class: dict[str, ClassMetrics]
    macro_f1: float
    micro_f1: float
    weighted_f1: float
    macro_precision: float
    macro_recall: float
    confusion: tuple[tuple[int, ...], ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values, for run records and reports."""
        return {
            "labels": list(self.labels),
            "accuracy": self.accuracy,
            "per_class": {
                label: {
                    "precision": m.precision,
                    "recall": m.recall,
                    "f1": m.f1,
                    "support": m.support,
                }
                for label, m in self.per_class.items()
            },
            "macro_f1": self.macro_f1,
            "micro_f1": self.micro_f1,
            "weighted_f1": self.weighted_f1,
            "macro_precision": self.macro_precision,
            "macro_recall": self.macro_recall,
            "confusion": [list(row) for row in self.confusion],
        }


def classification_metrics(
    y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]
) -> ClassificationMetrics:
    """Accuracy, per-class and averaged precision/recall/F1, and the confusion matrix.

    Classes with no predictions or no examples score 0 rather than NaN
    (``zero_division=0``). A prediction outside ``labels`` (say, a malformed generation)
    is a miss for its true class and a positive for no class. Micro-F1 counts it as a
    false positive all the same, so it equals accuracy (as it does for any single-label
    task) and an adapter cannot raise it by answering off-label; scikit-learn's
    ``labels=`` convention would leave such predictions out of the micro average.
    """
    label_list = _check_inputs(y_true, y_pred, labels)
    from sklearn.metrics import precision_recall_fscore_support

    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=label_list, average=None, zero_division=0
    )
    per_class = {
        label: ClassMetrics(float(p), float(r), float(f), int(s))
        for label, p, r, f, s in zip(label_list, precision, recall, f1, support, strict=True)
    }

    def averaged(average: str) -> tuple[float, float, float]:
        p, r, f, _ = precision_recall_fscore_support(
            y_true, y_pred, labels=label_list, average=average, zero_division=0
        )
        return float(p), float(r), float(f)

    macro_p, macro_r, macro_f = averaged("macro")
    correct = sum(t == p for t, p in zip(y_true, y_pred, strict=True))
    accuracy = correct / len(y_true)
    return ClassificationMetrics(
        labels=tuple(label_list),
        accuracy=accuracy,
        per_class=per_class,
        macro_f1=macro_f,
        micro_f1=accuracy,
        weighted_f1=averaged("weighted")[2],
        macro_precision=macro_p,
        macro_recall=macro_r,
        confusion=_confusion(y_true, y_pred, label_list),
    )


def _confusion(
    y_true: Sequence[str], y_pred: Sequence[str], labels: list[str]
) -> tuple[tuple[int, ...], ...]:
    """Counts of (true, predicted) pairs in label order; off-label predictions dropped.

    Counted here rather than with scikit-learn, which warns on a one-label matrix even
    when the labels are given.
    """
    index = {label: i for i, label in enumerate(labels)}
    counts = [[0] * len(labels) for _ in labels]
    for true, pred in zip(y_true, y_pred, strict=True):
        if pred in index:
            counts[index[true]][index[pred]] += 1
    return tuple(tuple(row) for row in counts)


def _check_inputs(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> list[str]:
    """Reject inputs that would make the numbers meaningless, naming the problem."""
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} labels but y_pred has {len(y_pred)}")
    if not y_true:
        raise ValueError("no examples: y_true and y_pred are empty")
    label_list = list(labels)
    if not label_list:
        raise ValueError("labels is empty")
    if len(set(label_list)) != len(label_list):
        duplicated = sorted({label for label in label_list if label_list.count(label) > 1})
        raise ValueError(f"labels contains duplicates: {duplicated}")
    unknown = sorted(set(y_true) - set(label_list))
    if unknown:
        raise ValueError(f"y_true contains labels not in labels: {unknown[:10]}")
    return label_list
