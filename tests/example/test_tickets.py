"""The ticket-routing example data: deterministic, leak-free and hard in the right way."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from tunegate.data import Example
from tunegate.example.tickets import (
    LABELS,
    SYSTEM_PROMPT,
    build_datasets,
    general_corpus,
    general_facts,
    write_datasets,
)

SIZES = {"train": 1920, "eval": 420, "golden": 180, "ood": 120}


@pytest.fixture(scope="module")
def splits() -> dict[str, list[Example]]:
    return build_datasets(seed=0)


def _normalise(text: str) -> str:
    return " ".join(text.lower().split())


def _share(examples: list[Example], predicate: Callable[[Example], bool]) -> float:
    return sum(1 for e in examples if predicate(e)) / len(examples)


def test_same_seed_gives_identical_records(splits: dict[str, list[Example]]) -> None:
    again = build_datasets(seed=0)
    for split in SIZES:
        first = [json.dumps(e.to_record(), ensure_ascii=False) for e in splits[split]]
        second = [json.dumps(e.to_record(), ensure_ascii=False) for e in again[split]]
        assert first == second


def test_another_seed_gives_other_texts(splits: dict[str, list[Example]]) -> None:
    other = build_datasets(seed=1)
    for split in ("train", "eval", "golden"):
        texts = {e.text for e in splits[split]}
        assert sum(e.text in texts for e in other[split]) < len(texts) * 0.1
        assert [e.label for e in splits[split]] != [e.label for e in other[split]]


def test_split_sizes_and_ids(splits: dict[str, list[Example]]) -> None:
    assert {split: len(examples) for split, examples in splits.items()} == SIZES
    for split, examples in splits.items():
        assert [e.id for e in examples] == [f"{split}-{i:05d}" for i in range(1, SIZES[split] + 1)]


def test_examples_are_chat_classification_items(splits: dict[str, list[Example]]) -> None:
    for examples in splits.values():
        for e in examples:
            assert e.messages is not None
            assert len(e.messages) == 2
            assert e.messages[0].role == "system"
            assert e.messages[0].content == SYSTEM_PROMPT
            assert e.messages[1].role == "user"
            assert e.text.strip()
            assert e.label in LABELS
            assert e.reference == e.label
            assert set(e.meta) == {"kind", "typo", "topic", "created"}
            assert isinstance(e.meta["typo"], bool)
            assert e.meta["topic"]
            record = e.to_record()
            assert record["messages"][-1] == {"role": "assistant", "content": e.label}


def test_every_class_in_every_labelled_split(splits: dict[str, list[Example]]) -> None:
    for split in ("train", "eval", "golden"):
        assert {e.label for e in splits[split]} == set(LABELS)


def test_class_balance_is_moderate(splits: dict[str, list[Example]]) -> None:
    for split in ("train", "eval"):
        in_domain = [e for e in splits[split] if e.meta["kind"] != "ood"]
        counts = Counter(e.label for e in in_domain)
        assert 1.2 <= max(counts.values()) / min(counts.values()) <= 1.9
        assert 0.08 <= counts["other"] / len(in_domain) <= 0.14
    train = Counter(e.label for e in splits["train"])
    assert 0.14 <= train["other"] / len(splits["train"]) <= 0.19  # with the off-topic ones


def test_train_has_off_topic_requests_from_the_ood_domains(
    splits: dict[str, list[Example]],
) -> None:
    off_topic = [e for e in splits["train"] if e.meta["kind"] == "ood"]
    assert len(off_topic) == 120
    assert all(e.label == "other" for e in off_topic)
    domains = Counter(e.meta["topic"] for e in off_topic)
    assert set(domains) == {e.meta["topic"] for e in splits["ood"]}  # every domain, evenly
    assert max(domains.values()) - min(domains.values()) <= 1
    older = sum(str(e.meta["created"]) < "2025-12-01" for e in off_topic)
    assert 0.35 * len(off_topic) <= older <= 0.6 * len(off_topic)  # production has some too
    texts = {e.text.lower() for e in splits["ood"]}
    assert not any(e.text.lower() in texts for e in off_topic)


def test_golden_is_stratified_and_clear_cut(splits: dict[str, list[Example]]) -> None:
    golden = splits["golden"]
    assert Counter(e.label for e in golden) == dict.fromkeys(LABELS, 30)
    kinds = Counter(e.meta["kind"] for e in golden)
    assert set(kinds) == {"plain", "negation"}  # multi-intent flips between runs
    assert kinds["plain"] >= 60
    assert 0.05 <= _share(golden, lambda e: e.meta["typo"]) <= 0.15


def test_no_text_shared_within_or_across_splits(splits: dict[str, list[Example]]) -> None:
    texts = [_normalise(e.text) for examples in splits.values() for e in examples]
    assert len(texts) == len(set(texts))


def test_vague_share(splits: dict[str, list[Example]]) -> None:
    for split in ("train", "eval"):
        vague = [e for e in splits[split] if e.meta["kind"] == "vague"]
        assert 0.05 <= len(vague) / len(splits[split]) <= 0.11
        assert all(e.meta["topic"] == "vague" for e in vague)
        assert len({e.label for e in vague}) >= 4
    for split in ("golden", "ood"):
        assert not any(e.meta["kind"] == "vague" for e in splits[split])


def test_kinds_and_typos(splits: dict[str, list[Example]]) -> None:
    for split in ("train", "eval"):
        examples = [e for e in splits[split] if e.meta["kind"] != "ood"]
        kinds = Counter(e.meta["kind"] for e in examples)
        assert set(kinds) == {"plain", "negation", "multi", "vague"}
        assert 0.08 <= kinds["negation"] / len(examples) <= 0.2
        assert 0.15 <= kinds["multi"] / len(examples) <= 0.3
        assert 0.07 <= _share(examples, lambda e: e.meta["typo"]) <= 0.13


def test_every_class_has_several_topics(splits: dict[str, list[Example]]) -> None:
    topics: dict[str, set[str]] = {}
    for e in splits["train"]:
        if e.meta["kind"] not in ("vague", "ood"):
            topics.setdefault(str(e.label), set()).add(e.meta["topic"])
    assert set(topics) == set(LABELS)
    assert all(3 <= len(names) <= 6 for names in topics.values())


def test_negations_name_a_wrong_team(splits: dict[str, list[Example]]) -> None:
    negations = [e for e in splits["train"] if e.meta["kind"] == "negation"]
    naming = [e for e in negations
              if any(re.search(rf"\b{team}\b", e.text.lower()) for team in LABELS
                     if team != e.label)]
    assert len(naming) >= len(negations) * 0.25


def test_shared_vocabulary_across_classes(splits: dict[str, list[Example]]) -> None:
    plain = [e for e in splits["train"] if e.meta["kind"] == "plain"]
    for word in ("order", "account", "charge", "app", "package", "refund"):
        pattern = re.compile(rf"\b{word}(s|d|ed)?\b")
        classes = {e.label for e in plain if pattern.search(e.text.lower())}
        assert len(classes) >= 2, word


def test_ood_is_out_of_domain_other(splits: dict[str, list[Example]]) -> None:
    ood = splits["ood"]
    assert all(e.label == "other" and e.meta["kind"] == "ood" for e in ood)
    assert len({e.meta["topic"] for e in ood}) >= 8


def test_created_dates(splits: dict[str, list[Example]]) -> None:
    train_dates = [date.fromisoformat(e.meta["created"]) for e in splits["train"]]
    assert min(train_dates) == date(2025, 1, 1)
    assert max(train_dates) == date(2026, 10, 31)
    assert train_dates == sorted(train_dates)
    older = sum(d < date(2025, 12, 1) for d in train_dates) / len(train_dates)
    assert 0.4 <= older <= 0.52
    for split in ("eval", "golden", "ood"):
        for e in splits[split]:
            assert date.fromisoformat(e.meta["created"]) > date(2026, 10, 31)


def test_general_corpus_is_deterministic() -> None:
    corpus = general_corpus(seed=0, n=3000)
    assert len(corpus) == 3000
    assert corpus == general_corpus(seed=0, n=3000)
    assert corpus != general_corpus(seed=1, n=3000)
    assert all(s and s == s.lower() for s in corpus)


def test_general_facts_appear_in_the_corpus() -> None:
    facts = general_facts()
    assert {"capital", "opposite", "next_day", "animal_sound", "sum"} <= set(facts)
    assert len(facts["capital"]) >= 35
    assert ("monday", "tuesday") in facts["next_day"]
    assert ("two plus three", "five") in facts["sum"]
    corpus = general_corpus()
    for relation, pairs in facts.items():
        for subject, answer in pairs:
            pattern = re.compile(rf"\b{re.escape(subject)}\b.*\b{re.escape(answer)}\b|"
                                 rf"\b{re.escape(answer)}\b.*\b{re.escape(subject)}\b")
            assert any(pattern.search(s) for s in corpus), (relation, subject, answer)


def test_write_datasets_round_trip(tmp_path: Path, splits: dict[str, list[Example]]) -> None:
    paths = write_datasets(tmp_path, seed=0)
    assert paths == {
        "train": tmp_path / "train" / "tickets.jsonl",
        "eval": tmp_path / "evals" / "tickets_eval.jsonl",
        "golden": tmp_path / "golden" / "tickets_golden.jsonl",
        "ood": tmp_path / "evals" / "tickets_ood.jsonl",
    }
    for split, path in paths.items():
        raw = path.read_bytes()
        assert raw.endswith(b"\n")
        assert b"\r\n" not in raw
        loaded = [Example.model_validate(json.loads(line)) for line in raw.decode().splitlines()]
        assert loaded == splits[split]
    assert sorted(p.name for p in tmp_path.rglob("*")) == sorted(
        ["train", "evals", "golden", *(p.name for p in paths.values())]
    )
