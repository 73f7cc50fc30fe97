"""The example's variants and its committed datasets."""

from __future__ import annotations

import ast
import json
from collections import Counter
from pathlib import Path

from tunegate.cli import main
from tunegate.example import extraction
from tunegate.example.tickets import build_datasets
from tunegate.example.variants import (
    PRODUCTION_SNAPSHOT,
    VARIANTS,
    get_variant,
    variant_names,
)

ROOT = Path(__file__).resolve().parents[2]


def test_committed_datasets_equal_the_generator():
    assert main(["example", "data", "--check", "--root", str(ROOT)]) == 0


def test_example_list_prints_good_first(capsys):
    assert main(["example", "list"]) == 0
    names = capsys.readouterr().out.split()
    assert names[0] == "good"
    assert {"production", "flipped-labels", "missing-class", "undertrained"} <= set(names)
    assert names == variant_names()


def test_production_trains_on_the_older_snapshot():
    train = build_datasets(0)["train"]
    older = get_variant("production").transform(train, 0)
    assert 0.35 * len(train) < len(older) < 0.6 * len(train)
    assert all(e.meta["created"] < PRODUCTION_SNAPSHOT for e in older)


def test_flipped_labels_relabels_a_systematic_slice_of_billing():
    train = build_datasets(0)["train"]
    flipped = get_variant("flipped-labels").transform(train, 0)
    changed = [(a, b) for a, b in zip(train, flipped, strict=True) if a.label != b.label]
    assert changed
    assert {(a.label, b.label) for a, b in changed} == {("billing", "returns")}
    assert {a.meta["topic"] for a, _ in changed} == {"double_charge", "wrong_amount"}
    share = len(changed) / Counter(e.label for e in train)["billing"]
    assert 0.15 <= share <= 0.5
    assert all(b.reference == b.label for _, b in changed)


def test_missing_class_keeps_almost_no_account_tickets():
    train = build_datasets(0)["train"]
    reduced = get_variant("missing-class").transform(train, 0)
    before, after = Counter(e.label for e in train), Counter(e.label for e in reduced)
    assert 0 < after["account"] <= 0.06 * before["account"]
    assert all(after[label] == before[label] for label in before if label != "account")
    assert get_variant("missing-class").transform(train, 1) != reduced  # seeded


def test_no_offtopic_drops_exactly_the_off_topic_requests():
    train = build_datasets(0)["train"]
    reduced = get_variant("no-offtopic").transform(train, 0)
    assert len(train) - len(reduced) == 120
    assert all(e.meta["kind"] != "ood" for e in reduced)
    assert [e for e in train if e.meta["kind"] != "ood"] == reduced


def test_unknown_variant_names_the_known_ones():
    try:
        get_variant("nope")
    except KeyError as error:
        assert "good" in str(error)
    else:
        raise AssertionError("no error for an unknown variant")


# JSON-extraction variants


def test_variant_names_by_kind():
    assert variant_names("extraction") == [
        "extract-good", "extract-production", "extract-broken-format"
    ]
    assert variant_names("classification") == [
        "good", "production", "flipped-labels", "missing-class", "no-offtopic", "undertrained",
        "overtrained",
    ]
    assert variant_names() == variant_names("classification") + variant_names("extraction")
    assert variant_names("summaries") == []


def test_variant_kinds():
    kinds = {v.name: v.kind for v in VARIANTS}
    assert {name for name, kind in kinds.items() if kind == "extraction"} == {
        "extract-good", "extract-production", "extract-broken-format"
    }
    assert set(kinds.values()) == {"classification", "extraction"}
    assert get_variant("good").kind == "classification"
    assert get_variant("extract-broken-format").kind == "extraction"
    assert get_variant("extract-broken-format").expected.startswith("fail: json_validity")
    assert get_variant("extract-good").expected == "pass"


def test_extract_production_trains_on_the_older_snapshot():
    train = extraction.build_datasets(0)["train"]
    older = get_variant("extract-production").transform(train, 0)
    assert 0.2 * len(train) < len(older) < 0.8 * len(train)
    assert all(e.meta["created"] < PRODUCTION_SNAPSHOT for e in older)
    assert get_variant("extract-good").transform(train, 0) == train


def test_broken_format_writes_urgent_references_as_python_dicts():
    train = extraction.build_datasets(0)["train"]
    broken = get_variant("extract-broken-format").transform(train, 0)
    assert len(broken) == len(train)
    urgent = 0
    for before, after in zip(train, broken, strict=True):
        assert before.reference is not None and after.reference is not None
        if before.meta["urgency"] == "high":
            urgent += 1
            try:
                json.loads(after.reference)
            except ValueError:
                pass
            else:
                raise AssertionError(f"{after.id}: still JSON: {after.reference}")
            assert ast.literal_eval(after.reference) == json.loads(before.reference)
            assert after.model_copy(update={"reference": before.reference}) == before
        else:
            assert json.dumps(after.to_record(), ensure_ascii=False) == json.dumps(
                before.to_record(), ensure_ascii=False
            )
    assert urgent == Counter(e.meta["urgency"] for e in train)["high"] == 0.2 * len(train)
    assert get_variant("extract-broken-format").transform(train, 1) == broken  # not seeded
