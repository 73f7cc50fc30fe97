"""The JSON-extraction example data: deterministic, schema-valid, leak-free, committed."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import jsonschema
import pytest

from tunegate.data import Example, load_examples
from tunegate.example.extraction import (
    EXACT_FIELDS,
    SCHEMA,
    SPLIT_FILES,
    SYSTEM_PROMPT,
    TEXT_FIELDS,
    build_datasets,
    write_datasets,
)
from tunegate.example.tickets import LABELS

ROOT = Path(__file__).resolve().parents[2]
SIZES = {"train": 900, "eval": 300, "golden": 150}
CUES = {
    "high": ("This is urgent!", "Please help ASAP.", "I need this sorted today.",
             "URGENT, please respond quickly.", "This is really urgent for me."),
    "low": ("No rush at all.", "Whenever you have time.", "Low priority, just letting you know.",
            "No hurry on this one."),
}


@pytest.fixture(scope="module")
def splits() -> dict[str, list[Example]]:
    return build_datasets(seed=0)


def records(examples: list[Example]) -> list[str]:
    return [json.dumps(e.to_record(), ensure_ascii=False) for e in examples]


def test_same_seed_gives_identical_records(splits: dict[str, list[Example]]) -> None:
    again = build_datasets(seed=0)
    assert list(again) == list(SIZES)
    for split in SIZES:
        assert records(again[split]) == records(splits[split])


def test_another_seed_gives_other_records(splits: dict[str, list[Example]]) -> None:
    other = build_datasets(seed=1)
    for split in SIZES:
        texts = {e.text for e in splits[split]}
        assert sum(e.text in texts for e in other[split]) < 0.1 * len(texts)
        assert [e.reference for e in other[split]] != [e.reference for e in splits[split]]


def test_split_sizes_ids_and_prompt(splits: dict[str, list[Example]]) -> None:
    assert {split: len(examples) for split, examples in splits.items()} == SIZES
    for split, examples in splits.items():
        assert [e.id for e in examples] == [f"x{split}-{i:05d}" for i in range(1, SIZES[split] + 1)]
        for e in examples:
            assert e.messages is not None and len(e.messages) == 2
            assert (e.messages[0].role, e.messages[0].content) == ("system", SYSTEM_PROMPT)
            assert e.messages[1].role == "user"
            assert e.label is None or e.label == e.reference  # no classification label


def test_every_reference_is_schema_valid_json(splits: dict[str, list[Example]]) -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    validator = jsonschema.Draft202012Validator(SCHEMA)
    assert set(SCHEMA["required"]) == {*EXACT_FIELDS, *TEXT_FIELDS}
    for examples in splits.values():
        for e in examples:
            assert e.reference is not None
            value = json.loads(e.reference)
            assert list(validator.iter_errors(value)) == [], (e.id, value)
            assert value["urgency"] == e.meta["urgency"]
            assert e.reference == json.dumps(value, ensure_ascii=False)  # strict JSON text


def test_references_cover_every_value(splits: dict[str, list[Example]]) -> None:
    values = [json.loads(e.reference or "") for e in splits["eval"]]
    assert {v["category"] for v in values} == set(LABELS)
    assert Counter(v["urgency"] for v in values) == {"normal": 195, "high": 60, "low": 45}
    assert 0 < sum(v["order_id"] is not None for v in values) < len(values)
    assert 0 < sum(v["product"] is not None for v in values) < len(values)


def test_no_text_is_shared_across_splits(splits: dict[str, list[Example]]) -> None:
    def normalise(text: str) -> str:
        return " ".join(text.lower().split())

    seen: dict[str, str] = {}
    for split, examples in splits.items():
        texts = {normalise(e.text) for e in examples}
        assert len(texts) == len(examples), f"duplicate texts within {split}"
        for text in texts:
            assert text not in seen, f"{split} repeats a {seen.get(text)} ticket: {text}"
            seen[text] = split


def test_order_id_digits_appear_in_the_ticket(splits: dict[str, list[Example]]) -> None:
    with_order = 0
    for examples in splits.values():
        for e in examples:
            order_id = json.loads(e.reference or "")["order_id"]
            if order_id is not None:
                with_order += 1
                assert re.search(rf"(?<!\d){order_id}(?!\d)", e.text), (e.id, order_id, e.text)
    assert with_order > 100


def test_urgent_and_unhurried_tickets_say_so(splits: dict[str, list[Example]]) -> None:
    every_cue = [cue for cues in CUES.values() for cue in cues]
    counts: Counter[str] = Counter()
    for examples in splits.values():
        for e in examples:
            urgency = json.loads(e.reference or "")["urgency"]
            counts[urgency] += 1
            if urgency == "normal":
                assert not any(cue in e.text for cue in every_cue), e.text
            else:
                assert any(cue in e.text for cue in CUES[urgency]), (urgency, e.text)
    total = sum(SIZES.values())  # 20 % urgent and 15 % unhurried in every split
    assert counts["high"] >= 0.19 * total and counts["low"] >= 0.14 * total


def test_committed_files_equal_the_generator(tmp_path: Path) -> None:
    written = write_datasets(tmp_path, seed=0)
    assert {name: path.relative_to(tmp_path).as_posix() for name, path in written.items()} == (
        dict(SPLIT_FILES)
    )
    for name in ("train", "eval", "golden", "schema"):
        relative = SPLIT_FILES[name]
        assert (ROOT / relative).read_bytes() == (tmp_path / relative).read_bytes(), relative
    assert json.loads((ROOT / SPLIT_FILES["schema"]).read_text()) == SCHEMA
    assert [e.id for e in load_examples(ROOT / SPLIT_FILES["eval"])][:2] == [
        "xeval-00001", "xeval-00002"
    ]
