"""The hygiene gates: verdicts, values vs thresholds, evidence by file:line, fail closed."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tunegate.config import HygieneConfig
from tunegate.data.hygiene import NearDuplicateSpec, Record, read_records
from tunegate.gates.hygiene import (
    EVIDENCE_ROWS,
    annotator_agreement_floor,
    chat_format_valid,
    chat_rules,
    class_balance_floor,
    duplicate_share_at_most,
    label_drift_at_most,
    near_duplicate_spec,
    no_leakage,
    no_personal_data,
)

SPEC = NearDuplicateSpec()
SENTENCES = [
    "My card was charged twice for the same order last week.",
    "The parcel shows delivered but nothing arrived at my door.",
    "The app crashes whenever I open the settings page on Android.",
    "I cannot log in since I changed my email address yesterday.",
    "I would like to send back the shoes because they are too small.",
    "Do you sell gift cards that can be used in the physical stores?",
    "Why was I billed for a subscription I cancelled in March?",
    "The courier left my package with a neighbour I do not know.",
]


def record(line: int, text: str, label: str | None = "billing", name: str = "train.jsonl",
           **raw: object) -> Record:
    contents = (("messages.0.content", text),)
    return Record(Path(name), line, f"{name[0]}{line}", text, label, label, contents,
                  {"id": f"{name[0]}{line}", **raw})


def distinct(n: int = 8, name: str = "train.jsonl") -> list[Record]:
    return [record(i + 1, s, name=name) for i, s in enumerate(SENTENCES[:n])]


def test_chat_format_lists_every_issue_with_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text(
        '{"id": "a", "messages": [{"role": "user", "content": "hi"}, '
        '{"role": "assistant", "content": "billing"}]}\n'
        '{"id": "b", "messages": [{"role": "user", "content": ""}]}\n', encoding="utf-8")
    result = chat_format_valid([read_records(path)])
    assert not result.passed
    assert result.values == {"invalid_examples": 1.0}
    assert result.thresholds == {"invalid_examples": 0.0}
    issues = result.evidence["issues"]
    assert [(i["at"].rsplit("/", 1)[-1], i["field"]) for i in issues] == [
        ("train.jsonl:2", "messages.0.content"), ("train.jsonl:2", "messages.0.role")]
    assert "1 of 2 examples break the chat format" in result.reason
    assert chat_format_valid([read_records(path)], max_invalid=1).passed


def test_chat_format_without_examples_fails_closed() -> None:
    result = chat_format_valid([])
    assert result.status == "NOT EVALUATED" and not result.passed


def test_duplicates_gate_holds_both_shares() -> None:
    records = [*distinct(), record(9, SENTENCES[0].upper()),
               record(10, SENTENCES[1].replace("door.", "door today."))]
    result = duplicate_share_at_most(records, SPEC, max_exact_share=0.0, max_near_share=0.5)
    assert not result.passed
    assert result.values == {"exact_duplicate_share": 0.1, "near_duplicate_share": 0.2}
    [exact] = result.evidence["exact_duplicates"]
    assert (exact["id"], exact["at"], exact["same_as"], exact["same_as_at"]) == (
        "t9", "train.jsonl:9", "t1", "train.jsonl:1")
    [near] = result.evidence["near_duplicates"]
    assert (near["at"], near["near_at"]) == ("train.jsonl:2", "train.jsonl:10")
    assert "exact_duplicate_share 0.1000 > 0.0000" in result.reason
    assert duplicate_share_at_most(records, SPEC, max_exact_share=0.1,
                                   max_near_share=0.2).passed
    assert duplicate_share_at_most([], SPEC, max_exact_share=0, max_near_share=0).error


def test_leakage_gate_names_both_sides() -> None:
    held_out = [record(1, SENTENCES[2], name="eval.jsonl"),
                record(2, "Something unrelated about the weather.", name="eval.jsonl")]
    result = no_leakage(distinct(), held_out, SPEC)
    assert not result.passed and result.values == {"leaked_share": 0.5}
    [row] = result.evidence["leaked_pairs"]
    assert (row["id"], row["at"], row["train_id"], row["train_at"], row["kind"]) == (
        "e1", "eval.jsonl:1", "t3", "train.jsonl:3", "exact")
    assert no_leakage(distinct(), held_out, SPEC, max_leaked_share=0.5).passed
    assert no_leakage(distinct(), [], SPEC).status == "NOT EVALUATED"


def test_personal_data_gate_never_records_the_value() -> None:
    secret = "jane.doe@example.com"
    records = [*distinct(3), record(4, f"Please write to {secret} about my refund.")]
    result = no_personal_data(records)
    assert not result.passed and result.values == {"pii_findings": 1.0}
    [row] = result.evidence["findings"]
    assert (row["at"], row["field"], row["kind"], row["span"]) == (
        "train.jsonl:4", "messages.0.content", "EMAIL", "16-36")
    assert row["excerpt"] == "Please write to [EMAIL] about my refund."
    assert secret not in json.dumps(result.to_dict()) + result.explain()
    assert no_personal_data(records, kinds=["PHONE"]).passed
    assert no_personal_data(records, max_findings=1).passed
    assert no_personal_data([]).status == "NOT EVALUATED"


def test_excerpt_redacts_neighbours_cut_by_its_edge() -> None:
    text = "card 4111 1111 1111 1111" + " filler" * 3 + " mail someone@example.org"
    rows = no_personal_data([record(1, text)]).evidence["findings"]
    assert all("@" not in row["excerpt"] and "4111" not in row["excerpt"] for row in rows)


def test_label_drift_gates_on_total_variation_and_reports_p() -> None:
    train = [record(i, SENTENCES[0], label) for i, label in enumerate("aaaabbbbcc", 1)]
    checked = [record(i, SENTENCES[0], label) for i, label in enumerate("aabbbbbbcc", 1)]
    result = label_drift_at_most(train, checked, max_tv=0.1)
    assert not result.passed
    assert result.values["total_variation"] == pytest.approx(0.2)
    assert 0 < result.values["chi2_p_value"] <= 1
    assert set(result.thresholds) == {"total_variation"}
    assert [row["label"] for row in result.evidence["shares"]] == ["a", "b", "c"]
    assert label_drift_at_most(train, checked, max_tv=0.2).passed
    unlabelled = [record(1, "x", None)]
    assert label_drift_at_most(train, unlabelled, max_tv=0.1).status == "NOT EVALUATED"


def test_class_balance_gate() -> None:
    records = [record(i, "x", label) for i, label in enumerate("aaaaaaaabc", 1)]
    result = class_balance_floor(records, min_share=0.05, min_ratio=0.2)
    assert not result.passed
    assert result.values == {"min_class_share": 0.1, "class_ratio": 0.125}
    assert "class_ratio 0.1250 < 0.2000" in result.reason
    assert class_balance_floor(records, min_share=0.1, min_ratio=0.125).passed
    assert class_balance_floor([], min_share=0, min_ratio=0).status == "NOT EVALUATED"


def test_agreement_gate_flags_under_ninety_percent() -> None:
    second = ["a"] * 8 + ["b", "b"]
    records = [record(i + 1, "x", "a", meta={"label_2": s}) for i, s in enumerate(second)]
    result = annotator_agreement_floor(records, field="meta.label_2", min_agreement=0.9)
    assert not result.passed and result.values["agreement"] == pytest.approx(0.8)
    assert math.isfinite(result.values["kappa"])
    assert [row["at"] for row in result.evidence["disagreements"]] == [
        "train.jsonl:9", "train.jsonl:10"]
    assert annotator_agreement_floor(records, field="meta.label_2", min_agreement=0.8).passed
    missing = annotator_agreement_floor(distinct(), field="meta.x", min_agreement=0.9)
    assert missing.status == "NOT EVALUATED" and "meta.x" in (missing.error or "")


def test_evidence_is_capped_and_counted() -> None:
    records = [record(i, f"Write to user{i}@example.com please.") for i in range(1, 251)]
    result = no_personal_data(records)
    assert len(result.evidence["findings"]) == EVIDENCE_ROWS
    assert result.evidence["findings_total"] == 250


def test_settings_come_from_the_config() -> None:
    config = HygieneConfig(near_duplicate_jaccard=0.9, shingles="char", shingle_size=5,
                           min_chars=3, max_chars=99)
    spec = near_duplicate_spec(config)
    assert (spec.threshold, spec.shingles, spec.shingle_size) == (0.9, "char", 5)
    assert (chat_rules(config).min_chars, chat_rules(config).max_chars) == (3, 99)


def test_config_refuses_crossed_length_bounds() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="max_chars must be >= min_chars"):
        HygieneConfig(min_chars=10, max_chars=5)
