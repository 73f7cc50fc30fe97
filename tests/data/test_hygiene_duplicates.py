"""Exact and near duplicates within a set, and leakage of eval items into train."""

from __future__ import annotations

import itertools
import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from tunegate.data.hygiene import (
    NearDuplicateSpec,
    Record,
    find_duplicates,
    find_leakage,
    jaccard,
    normalize_text,
    read_records,
    shingle_hashes,
    text_key,
)

ROOT = Path(__file__).resolve().parents[2]
SPEC = NearDuplicateSpec(threshold=0.8)
WORDS = [f"{c}{v}{n}" for n, (c, v) in enumerate(itertools.product("bdfgklmnprst", "aeiou"))]


def records(texts: list[str], name: str = "train.jsonl") -> list[Record]:
    return [Record(Path(name), i + 1, f"{name[0]}{i + 1}", text, None, None, (), {})
            for i, text in enumerate(texts)]


def random_texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 30))) for _ in range(n)]


def with_one_word_changed(text: str) -> str:
    """The last word replaced: one shingle of the 10-28 differs, Jaccard >= 0.83."""
    words = text.split()
    words[-1] = "zzz"
    return " ".join(words)


def exact_jaccard(a: str, b: str) -> float:
    first, second = set(shingle_hashes(a)), set(shingle_hashes(b))
    return len(first & second) / len(first | second)


def test_normalisation_folds_case_width_and_whitespace() -> None:
    assert normalize_text("  Ｈｅｌｌｏ\tWORLD \n again ") == "hello world again"
    assert text_key("Straße  ist") == text_key("STRASSE ist")
    assert text_key("a b") != text_key("a  b c")


def test_shingles_word_and_char() -> None:
    assert len(shingle_hashes("one two three four")) == 2
    assert shingle_hashes("One, two; THREE") == shingle_hashes("one two three")
    assert len(shingle_hashes("ab", kind="word")) == 1  # shorter than a shingle: one
    assert len(shingle_hashes("abcd", kind="char", size=3)) == 2
    assert shingle_hashes("  ") == []


def test_jaccard_of_hash_arrays() -> None:
    a, b = np.array([1, 2, 3], dtype=np.uint32), np.array([2, 3, 4, 5], dtype=np.uint32)
    assert jaccard(a, b) == pytest.approx(2 / 5)
    assert jaccard(a[:0], b[:0]) == 1.0


def test_exact_and_near_duplicates_are_found_and_clustered() -> None:
    texts = random_texts(60)
    texts += [texts[3].upper() + "  ", with_one_word_changed(texts[10]), texts[10]]
    report = find_duplicates(records(texts), SPEC)
    assert [[r.line for r in g] for g in report.exact_groups] == [[4, 61], [11, 63]]
    assert report.exact_redundant == 2
    [pair] = report.near_pairs
    assert (pair.first.line, pair.second.line) == (11, 62)
    assert pair.jaccard == pytest.approx(exact_jaccard(texts[10], texts[61]))
    assert pair.jaccard >= 0.8 and not pair.exact
    assert sorted(len(c) for c in report.clusters) == [2, 3]
    assert report.redundant == 3


def test_clean_random_texts_have_no_duplicates() -> None:
    report = find_duplicates(records(random_texts(300)), SPEC)
    assert (report.exact_groups, report.near_pairs, report.redundant) == ((), (), 0)


def test_near_pairs_match_exhaustive_comparison() -> None:
    """Every pair at or above the threshold, and none below it, on planted data."""
    rng = random.Random(1)
    texts = [f"{a} {b} {c}" for a, b, c in zip(*[iter(random_texts(450, seed=1))] * 3,
                                                strict=True)]
    for _ in range(40):
        words = rng.choice(texts).split()
        for _ in range(rng.randint(1, 3)):
            words[rng.randrange(len(words))] = rng.choice(WORDS)
        texts.append(" ".join(words))
    sets = [set(shingle_hashes(t)) for t in texts]
    truth = {(i + 1, j + 1) for i, j in itertools.combinations(range(len(texts)), 2)
             if text_key(texts[i]) != text_key(texts[j])
             and len(sets[i] & sets[j]) / len(sets[i] | sets[j]) >= 0.8}
    report = find_duplicates(records(texts), SPEC)
    found = {(p.first.line, p.second.line) for p in report.near_pairs}
    assert found <= truth  # verified: never a MinHash estimate
    assert len(truth) >= 20 and len(found) >= 0.9 * len(truth), (len(found), len(truth))


def test_threshold_one_and_char_shingles_work() -> None:
    texts = ["The parcel never arrived.", "the parcel never arrived", "Another thing entirely."]
    strict = find_duplicates(records(texts), NearDuplicateSpec(threshold=1.0))
    assert [(p.first.line, p.second.line) for p in strict.near_pairs] == [(1, 2)]
    chars = find_duplicates(records(texts), NearDuplicateSpec(shingles="char", shingle_size=4))
    assert [(p.first.line, p.second.line) for p in chars.near_pairs] == [(1, 2)]


def test_spec_validates() -> None:
    with pytest.raises(ValueError, match="threshold"):
        NearDuplicateSpec(threshold=0.0)
    with pytest.raises(ValueError, match="shingles"):
        NearDuplicateSpec(shingles="line")  # type: ignore[arg-type]


def test_leakage_reports_exact_and_near_items_with_their_best_match() -> None:
    train = random_texts(80)
    held_out = random_texts(20, seed=2)
    held_out[4] = train[7].lower()
    held_out[9] = with_one_word_changed(train[30])
    report = find_leakage(records(train), records(held_out, "eval.jsonl"), SPEC)
    assert report.examples == 20
    assert [(p.item.line, p.source.line, p.exact) for p in report.pairs] == [
        (5, 8, True), (10, 31, False)]
    assert report.pairs[1].jaccard == pytest.approx(exact_jaccard(held_out[9], train[30]))
    assert (report.leaked, report.exact) == (2, 1)


def test_leakage_planted_into_a_copy_of_the_example_eval(tmp_path: Path) -> None:
    """Train items copied into eval (one verbatim, one reworded) are found by file:line."""
    train_path, eval_path = ROOT / "train/tickets.jsonl", ROOT / "evals/tickets_eval.jsonl"
    if not (train_path.is_file() and eval_path.is_file()):
        pytest.skip("the example's data is not in this checkout")
    train = read_records(train_path).records
    before = find_leakage(train, read_records(eval_path).records, SPEC)
    copy = tmp_path / "eval.jsonl"
    shutil.copy(eval_path, copy)
    planted = [train[5].raw, train[17].raw]
    lines = copy.read_text(encoding="utf-8").splitlines()
    for n, raw in enumerate(planted):
        row = json.loads(json.dumps(raw))
        row["id"] = f"planted-{n}"
        if n == 1:
            row["messages"][1]["content"] = row["messages"][1]["content"] + " Thanks a lot!"
        lines.append(json.dumps(row))
    copy.write_text("\n".join(lines) + "\n", encoding="utf-8")
    after = find_leakage(train, read_records(copy).records, SPEC)
    new = {p.item.id: p for p in after.pairs} .keys() - {p.item.id for p in before.pairs}
    assert new == {"planted-0", "planted-1"}
    found = {p.item.id: p for p in after.pairs}
    assert found["planted-0"].exact and found["planted-0"].source.line == 6
    assert found["planted-0"].item.where.endswith(f"eval.jsonl:{len(lines) - 1}")
    assert not found["planted-1"].exact and found["planted-1"].source.id == train[17].id
