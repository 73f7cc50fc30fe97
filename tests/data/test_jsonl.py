"""JSONL loading, writing and hashing of examples."""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import pytest

from tunegate.data import (
    DataError,
    Example,
    examples_sha256,
    file_sha256,
    load_examples,
    write_examples,
)

CHAT = {
    "id": "t-1",
    "messages": [
        {"role": "system", "content": "Route the ticket."},
        {"role": "user", "content": "My card was charged twice."},
        {"role": "assistant", "content": "billing"},
    ],
    "meta": {"source": "crm"},
}
PROMPT = {"id": "t-2", "prompt": "Reset my password — ünïcode", "reference": "account"}


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def load_error(path: Path) -> DataError:
    with pytest.raises(DataError) as caught:
        load_examples(path)
    return caught.value


def test_loads_chat_and_prompt_examples_skipping_blank_lines(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "a.jsonl", [json.dumps(CHAT), "", "   ", json.dumps(PROMPT)])
    examples = load_examples(path)
    assert [e.id for e in examples] == ["t-1", "t-2"]
    assert examples[0].label == "billing"
    assert examples[0].text == "My card was charged twice."
    assert examples[1].prompt == "Reset my password — ünïcode"


def test_invalid_json_names_file_and_line(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "a.jsonl", [json.dumps(CHAT), "", '{"id": "x", "prompt": }'])
    error = load_error(path)
    assert (error.path, error.line, error.field) == (path, 3, None)
    assert "invalid JSON" in error.reason and "column" in error.reason
    assert str(error).startswith(f"{path}:3: invalid JSON: ")


def test_non_object_line_is_rejected(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "a.jsonl", ['["t-1", "hello"]'])
    error = load_error(path)
    assert str(error) == f"{path}:1: expected a JSON object, got list"


def test_nested_field_error_uses_dotted_location(tmp_path: Path) -> None:
    bad = dict(CHAT, messages=[{"role": "user", "content": "x"}, {"role": "bot", "content": "y"}])
    path = write_lines(tmp_path / "a.jsonl", [json.dumps(PROMPT), json.dumps(bad)])
    error = load_error(path)
    assert (error.line, error.field) == (2, "messages.1.role")
    assert str(error) == (
        f"{path}:2: messages.1.role: Input should be 'system', 'user' or 'assistant'"
    )


@pytest.mark.parametrize(
    ("record", "field", "reason"),
    [
        ({"prompt": "p"}, "id", "Field required"),
        ({"id": "", "prompt": "p"}, "id", "String should have at least 1 character"),
        ({"id": "a", "prompt": "p", "lable": "x"}, "lable", "Extra inputs are not permitted"),
        ({"id": "a", "prompt": 3}, "prompt", "Input should be a valid string"),
    ],
)
def test_field_errors_name_the_field(
    tmp_path: Path, record: dict[str, object], field: str, reason: str
) -> None:
    path = write_lines(tmp_path / "a.jsonl", [json.dumps(record)])
    assert str(load_error(path)) == f"{path}:1: {field}: {reason}"


def test_whole_record_error_has_no_field(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "a.jsonl", [json.dumps({"id": "a"})])
    error = load_error(path)
    assert error.field is None
    assert str(error) == (
        f"{path}:1: Value error, exactly one of 'messages' or 'prompt' is required"
    )


def test_several_errors_on_one_line_are_counted(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "a.jsonl", [json.dumps({"prompt": 1, "x": 2})])
    assert str(load_error(path)).endswith("(and 2 more errors)")


def test_duplicate_id_names_both_lines(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "a.jsonl", [json.dumps(CHAT), json.dumps(PROMPT), "", json.dumps(CHAT)]
    )
    error = load_error(path)
    assert str(error) == f"{path}:4: id: duplicate id 't-1' (first seen on line 1)"


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(json.dumps(PROMPT).encode() + b'\n{"id": "\xff", "prompt": "p"}\n')
    error = load_error(path)
    assert (error.line, error.field) == (2, None)
    assert "not valid UTF-8" in error.reason


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.jsonl"
    error = load_error(path)
    assert (error.line, error.field, error.reason) == (None, None, "file not found")
    assert str(error) == f"{path}: file not found"


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_file_without_examples(tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text(content, encoding="utf-8")
    assert str(load_error(path)) == f"{path}: no examples"


def test_crlf_and_bom_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(PROMPT).encode() + b"\r\n\r\n")
    assert [e.id for e in load_examples(path)] == ["t-2"]


def test_data_error_is_a_value_error_and_pickles() -> None:
    error = DataError(Path("d.jsonl"), 7, "label", "bad")
    assert isinstance(error, ValueError)
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == "d.jsonl:7: label: bad"
    assert str(DataError("d.jsonl", None, "id", "x")) == "d.jsonl: id: x"


def test_write_then_load_round_trips(tmp_path: Path) -> None:
    examples = [
        Example.model_validate(CHAT),
        Example.model_validate(PROMPT),
        Example(id="t-3", prompt="Where is my parcel?", label="shipping", meta={"k": [1, 2]}),
    ]
    path = tmp_path / "out.jsonl"
    write_examples(path, examples)
    assert load_examples(path) == examples
    text = path.read_text(encoding="utf-8")
    assert "ünïcode" in text  # ensure_ascii=False
    assert len(text.splitlines()) == 3
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]  # no temp file left


def test_write_replaces_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text("old content\n", encoding="utf-8")
    write_examples(path, [Example.model_validate(PROMPT)])
    assert [e.id for e in load_examples(path)] == ["t-2"]


def test_write_refuses_duplicate_ids_and_keeps_old_file(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text("old\n", encoding="utf-8")
    example = Example.model_validate(PROMPT)
    with pytest.raises(DataError, match=r"out.jsonl:2: id: duplicate id 't-2'"):
        write_examples(path, [example, example])
    assert path.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_file_sha256_matches_hashlib(tmp_path: Path) -> None:
    path = tmp_path / "blob.bin"
    data = bytes(range(256)) * 10_000  # larger than one read chunk
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
    with pytest.raises(DataError, match="file not found"):
        file_sha256(tmp_path / "absent")


def test_examples_hash_ignores_file_formatting(tmp_path: Path) -> None:
    compact = write_lines(
        tmp_path / "compact.jsonl",
        [json.dumps(CHAT, separators=(",", ":")), json.dumps(PROMPT, ensure_ascii=True)],
    )
    reordered = {key: CHAT[key] for key in reversed(list(CHAT))}
    loose = write_lines(
        tmp_path / "loose.jsonl",
        [
            "",
            json.dumps(reordered, indent=None, separators=(" , ", " : ")),
            "",
            json.dumps(PROMPT, ensure_ascii=False),
        ],
    )
    assert file_sha256(compact) != file_sha256(loose)
    expected = examples_sha256(load_examples(compact))
    assert examples_sha256(load_examples(loose)) == expected
    assert len(expected) == 64 and int(expected, 16) >= 0


def test_examples_hash_is_stable_and_pinned() -> None:
    examples = [Example(id="a", prompt="p", reference="r")]
    canonical = '{"id":"a","prompt":"p","reference":"r"}\n'
    assert examples_sha256(examples) == hashlib.sha256(canonical.encode()).hexdigest()


def test_examples_hash_changes_with_content_and_order() -> None:
    a = Example(id="a", prompt="p", reference="r")
    b = Example(id="b", prompt="p", reference="r")
    base = examples_sha256([a, b])
    assert examples_sha256([b, a]) != base
    assert examples_sha256([a]) != base
    assert examples_sha256([a, Example(id="b", prompt="p", reference="r2")]) != base
    assert examples_sha256([a, Example(id="b", prompt="p", reference="r", meta={"t": 1})]) != base


def test_written_files_are_readable_by_everyone(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    write_examples(path, [Example(id="a", prompt="hi", label="x")])
    assert path.stat().st_mode & 0o777 == 0o644
