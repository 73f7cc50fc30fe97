"""Label drift (total variation, chi-square), class balance and annotator agreement."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from scipy.stats import chi2_contingency
from sklearn.metrics import cohen_kappa_score

from tunegate.data.hygiene import (
    Record,
    annotator_agreement,
    class_balance,
    label_drift,
    records_without_label,
)

CLASSES = ("billing", "shipping", "technical", "account", "returns", "other")


def labelled(counts: dict[str, int], meta: list[dict[str, Any]] | None = None) -> list[Record]:
    labels = [label for label, n in counts.items() for _ in range(n)]
    metas = meta or [{} for _ in labels]
    return [Record(Path("t.jsonl"), i + 1, f"r{i + 1}", f"text {i}", label, label, (),
                   {"id": f"r{i + 1}", "meta": m}) for i, (label, m) in
            enumerate(zip(labels, metas, strict=True))]


def test_drift_total_variation_and_chi_square_match_their_definitions() -> None:
    train = {"a": 50, "b": 30, "c": 20}
    checked = {"a": 20, "b": 20, "c": 10}
    drift = label_drift(labelled(train), labelled(checked))
    assert drift.labels == ("a", "b", "c")
    assert drift.total_variation == pytest.approx(0.5 * (0.1 + 0.1 + 0.0))
    expected = chi2_contingency([[50, 30, 20], [20, 20, 10]])
    assert drift.chi2 == pytest.approx(expected.statistic)
    assert drift.p_value == pytest.approx(expected.pvalue)
    assert drift.dof == 2


def test_a_modest_intended_shift_is_significant_but_small() -> None:
    """'other' at 13 % of a 1,260-example eval set and 19 % of a 2,000-example train
    set: chi-square says 'different' (p < 0.01), total variation stays at 0.06, under
    a 0.10 bound. With more data any shift becomes significant; its size does not grow."""
    eval_counts = {c: 219 for c in CLASSES[:-1]} | {"other": 165}  # other 13 %
    train_counts = {c: 324 for c in CLASSES[:-1]} | {"other": 380}  # other 19 %
    drift = label_drift(labelled(train_counts), labelled(eval_counts))
    assert drift.p_value < 0.01
    assert 0.05 < drift.total_variation < 0.10


def test_labels_on_one_side_only_are_named() -> None:
    drift = label_drift(labelled({"a": 5, "b": 5}), labelled({"a": 5, "c": 5}))
    assert (drift.only_in_reference, drift.only_in_checked) == (("b",), ("c",))
    assert drift.total_variation == pytest.approx(0.5)
    same = label_drift(labelled({"a": 4}), labelled({"a": 9}))
    assert (same.total_variation, same.p_value, same.dof) == (0.0, 1.0, 0)


def test_drift_without_labels_is_refused() -> None:
    unlabelled = [Record(Path("t.jsonl"), 1, "x", "text", None, None, (), {})]
    assert records_without_label(unlabelled) == unlabelled
    with pytest.raises(ValueError, match="labelled records"):
        label_drift(labelled({"a": 3}), unlabelled)


def test_class_balance_shares_and_ratio() -> None:
    balance = class_balance(labelled({"a": 60, "b": 30, "c": 10}))
    assert (balance.smallest, balance.largest, balance.total) == ("c", "a", 100)
    assert balance.min_share == pytest.approx(0.10)
    assert balance.ratio == pytest.approx(10 / 60)
    with pytest.raises(ValueError, match="no labelled records"):
        class_balance([])


def test_agreement_and_kappa_against_sklearn() -> None:
    first = ["a"] * 10 + ["b"] * 10
    second = ["a"] * 8 + ["b"] * 2 + ["b"] * 9 + ["a"]
    records = labelled({"a": 10, "b": 10}, [{"label_2": s} for s in second])
    records.append(Record(Path("t.jsonl"), 21, "r21", "x", "a", "a", (), {"meta": {}}))
    agreement = annotator_agreement(records, "meta.label_2")
    assert (agreement.compared, agreement.missing) == (20, 1)
    assert agreement.agreement == pytest.approx(17 / 20)
    assert agreement.kappa == pytest.approx(cohen_kappa_score(first, second))
    assert [(r.line, a, b) for r, a, b in agreement.disagreements] == [
        (9, "a", "b"), (10, "a", "b"), (20, "b", "a")]


def test_kappa_is_nan_when_both_columns_are_one_label() -> None:
    records = labelled({"a": 5}, [{"label_2": "a"}] * 5)
    agreement = annotator_agreement(records, "meta.label_2")
    assert agreement.agreement == 1.0 and math.isnan(agreement.kappa)


def test_agreement_without_second_column_is_refused() -> None:
    with pytest.raises(ValueError, match=r"meta\.label_2"):
        annotator_agreement(labelled({"a": 3}), "meta.label_2")
