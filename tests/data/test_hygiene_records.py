"""Raw records for hygiene checks: every bad line reported with file:line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunegate.data import DataError, Example, Message
from tunegate.data.hygiene import (
    ChatRules,
    field_value,
    read_records,
    records_from_examples,
    validate_chat,
)

SYSTEM = {"role": "system", "content": "Route the ticket."}


def chat(ident: str, *turns: tuple[str, str], **extra: object) -> dict[str, object]:
    return {"id": ident, "messages": [{"role": r, "content": c} for r, c in turns], **extra}


GOOD = chat("ok-1", ("system", "Route."), ("user", "I was charged twice."),
            ("assistant", "billing"))


def write(path: Path, rows: list[object]) -> Path:
    lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_valid_file_yields_records_with_text_answer_and_label(tmp_path: Path) -> None:
    rows = [GOOD, "", {"id": "p-1", "prompt": "Reset my password", "reference": "account",
                       "label": "account", "meta": {"label_2": "billing"}}]
    records = read_records(write(tmp_path / "a.jsonl", rows))
    assert records.issues == ()
    assert records.lines == 2
    first, second = records.records
    assert (first.id, first.line, first.text, first.answer, first.label) == (
        "ok-1", 1, "I was charged twice.", "billing", "billing")
    assert (second.line, second.text, second.label) == (3, "Reset my password", "account")
    assert field_value(second, "meta.label_2") == "billing"
    assert field_value(first, "meta.label_2") is None
    assert ("messages.1.content", "I was charged twice.") in first.contents


def test_every_bad_line_is_reported_with_its_line_and_field(tmp_path: Path) -> None:
    rows = [
        GOOD,
        chat("bad-order", ("user", "hi"), ("user", "again"), ("assistant", "other")),
        chat("no-answer", ("system", "Route."), ("user", "Where is my parcel?")),
        chat("empty", ("user", "   "), ("assistant", "shipping")),
        chat("role", ("customer", "hello"), ("assistant", "other")),
        chat("late-system", ("user", "hi"), ("assistant", "other"), ("system", "x")),
        {"id": "", "prompt": "text", "reference": "x"},
        {"id": "both", "prompt": "a", "messages": []},
        [1, 2],
        chat("ok-1", ("user", "duplicate id"), ("assistant", "other")),
        chat("extra", ("user", "hi"), ("assistant", "other"), weight=1),
    ]
    path = write(tmp_path / "train.jsonl", rows)
    records = read_records(path)
    found = {(i.line, i.field) for i in records.issues}
    assert found == {
        (2, "messages.1.role"), (3, "messages.1.role"), (4, "messages.0.content"),
        (5, "messages.0.role"), (6, "messages.2.role"), (7, "id"), (8, None), (9, None),
        (10, "id"), (11, "weight"),
    }
    by_line = {i.line: i for i in records.issues}
    assert str(by_line[3]).endswith(
        "train.jsonl:3: messages.1.role: the conversation must end with an assistant "
        "turn (the answer)")
    assert "expected 'assistant' after 'user', got 'user'" in by_line[2].reason
    assert by_line[4].reason == "empty content"
    assert by_line[6].reason == "a system turn is only allowed first"
    assert "first on line 1" in by_line[10].reason
    # records whose text can be found are kept for the other checks, never dropped
    assert {r.line for r in records.records} == {1, 2, 3, 4, 5, 6, 7, 8, 10, 11}


def test_length_bounds_are_configurable() -> None:
    rules = ChatRules(min_chars=10, max_chars=20)
    short = chat("s", ("user", "hi"), ("assistant", "x"))
    long = chat("l", ("user", "a" * 30), ("assistant", "x"))
    assert validate_chat(short, rules) == [("messages", "3 characters, below min_chars 10")]
    assert validate_chat(long, rules) == [("messages", "31 characters, above max_chars 20")]
    assert validate_chat(long, ChatRules()) == []


def test_eval_data_may_omit_the_answer_when_allowed() -> None:
    question = chat("q", ("user", "Where is my parcel?"))
    assert validate_chat(question, ChatRules(require_answer=False)) == []
    assert validate_chat(question, ChatRules()) != []


def test_unreadable_lines_raise_naming_the_first_and_counting_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(json.dumps(GOOD).encode() + b"\n{not json\n\xff\xfe\n{\"id\": 1,}\n")
    with pytest.raises(DataError) as caught:
        read_records(path)
    error = caught.value
    assert (error.path, error.line) == (path, 2)
    assert "invalid JSON" in error.reason
    assert "and 2 more unreadable lines: 3, 4" in error.reason


@pytest.mark.parametrize(("content", "reason"), [(None, "file not found"), ("\n\n", "no examples")])
def test_missing_or_empty_file_is_a_data_error(tmp_path: Path, content: str | None,
                                               reason: str) -> None:
    path = tmp_path / "a.jsonl"
    if content is not None:
        path.write_text(content)
    with pytest.raises(DataError, match=reason):
        read_records(path)


def test_records_from_examples_number_them_from_one() -> None:
    examples = [Example(id=f"e{i}", messages=(Message(role="user", content=f"text {i}"),),
                        reference="billing") for i in range(3)]
    records = records_from_examples(examples, "<probes>")
    assert [(r.id, r.line, r.text, r.label) for r in records.records] == [
        ("e0", 1, "text 0", "billing"), ("e1", 2, "text 1", "billing"),
        ("e2", 3, "text 2", "billing")]
    assert records.records[0].where == "<probes>:1"


def test_public_surface() -> None:
    import tunegate.data.hygiene as hygiene
    import tunegate.gates.hygiene as gates

    assert hygiene.__all__ == sorted(hygiene.__all__, key=lambda n: (not n.isupper(), n))
    assert {"read_records", "find_duplicates", "find_leakage", "detect_pii", "redact",
            "label_drift", "class_balance", "annotator_agreement"} <= set(hygiene.__all__)
    assert all(hasattr(hygiene, name) for name in hygiene.__all__)
    assert {"chat_format_valid", "duplicate_share_at_most", "no_leakage", "no_personal_data",
            "label_drift_at_most", "class_balance_floor", "annotator_agreement_floor",
            "check_data"} <= set(gates.__all__)
    assert all(hasattr(gates, name) for name in gates.__all__)
