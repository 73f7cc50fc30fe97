"""Raw JSONL records for hygiene checks: every line kept with its file and line number.

:func:`tunegate.data.load_examples` stops at the first bad line, which is right for a
gate that needs the data; a hygiene check must instead see the whole file and report
every bad line. Lines that cannot be read at all (not UTF-8, not JSON) are a
:class:`DataError`; lines that parse but break the chat format become :class:`Issue`
entries, and the record is kept for the other checks whenever its text can be found.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunegate.data._example import Example
from tunegate.data._jsonl import DataError, _parse_json_line, _read_bytes

__all__ = [
    "ROLES",
    "ChatRules",
    "Issue",
    "Record",
    "RecordSet",
    "all_records",
    "display_path",
    "field_value",
    "read_records",
    "records_from_examples",
    "validate_chat",
]

ROLES = ("system", "user", "assistant")
_TOP_KEYS = frozenset({"id", "messages", "prompt", "reference", "label", "meta"})
_MESSAGE_KEYS = frozenset({"role", "content"})


@dataclass(frozen=True)
class ChatRules:
    """What a valid chat example looks like: length bounds in characters, and whether
    the conversation must end with the assistant's answer (training data must)."""

    min_chars: int = 1
    max_chars: int = 32_000
    require_answer: bool = True


@dataclass(frozen=True)
class Issue:
    """One problem with one line: where it is, which field, and what is wrong."""

    path: Path
    line: int
    field: str | None
    reason: str

    @property
    def where(self) -> str:
        return f"{display_path(self.path)}:{self.line}"

    def __str__(self) -> str:
        return ": ".join(p for p in (self.where, self.field, self.reason) if p)


@dataclass(frozen=True)
class Record:
    """One example as hygiene checks see it.

    ``text`` is the input (the non-system turns before the answer, or the prompt): the
    part that duplicates and leakage are about. ``contents`` holds every text field
    with its dotted name, for the personal-data scan. ``raw`` is the parsed line.
    """

    path: Path
    line: int
    id: str
    text: str
    answer: str | None
    label: str | None
    contents: tuple[tuple[str, str], ...]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def where(self) -> str:
        return f"{display_path(self.path)}:{self.line}"


@dataclass(frozen=True)
class RecordSet:
    """The records of one file (or one in-memory set) and the issues found in it."""

    path: Path
    records: tuple[Record, ...]
    issues: tuple[Issue, ...]
    lines: int

    @property
    def name(self) -> str:
        return display_path(self.path)


def display_path(path: Path) -> str:
    """The path relative to the working directory when it lies below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


def read_records(path: str | Path, rules: ChatRules | None = None) -> RecordSet:
    """Every record of a JSONL file, with the chat-format issues of each line.

    Raises DataError when the file cannot be read, has no records, or has lines that
    are not UTF-8 JSON (naming the first such line and counting the others).
    """
    path = Path(path)
    rules = rules or ChatRules()
    parsed, unreadable = _parse_lines(path)
    if unreadable:
        first = unreadable[0]
        more = [str(e.line) for e in unreadable[1:]]
        extra = f" (and {len(more)} more unreadable lines: {', '.join(more[:10])})" if more else ""
        raise DataError(path, first.line, first.field, first.reason + extra)
    if not parsed:
        raise DataError(path, None, None, "no examples")
    return _collect(path, parsed, rules)


def records_from_examples(examples: Sequence[Example], source: str) -> RecordSet:
    """Records of in-memory examples (generated probes, say); line = position from 1."""
    parsed = [(n, e.to_record()) for n, e in enumerate(examples, start=1)]
    return _collect(Path(source), parsed, ChatRules(min_chars=0, max_chars=10**9))


def _collect(path: Path, parsed: Sequence[tuple[int, Any]], rules: ChatRules) -> RecordSet:
    records: list[Record] = []
    issues: list[Issue] = []
    first_line: dict[str, int] = {}
    for number, data in parsed:
        problems = validate_chat(data, rules)
        record = _record(path, number, data)
        if record is not None and isinstance(data.get("id"), str):
            seen = first_line.setdefault(record.id, number)
            if seen != number:
                problems.append(("id", f"duplicate id {record.id!r} (first on line {seen})"))
        issues.extend(Issue(path, number, f, reason) for f, reason in problems)
        if record is not None:
            records.append(record)
    return RecordSet(path, tuple(records), tuple(issues), len(parsed))


def _parse_lines(path: Path) -> tuple[list[tuple[int, Any]], list[DataError]]:
    raw = _read_bytes(path)
    parsed: list[tuple[int, Any]] = []
    bad: list[DataError] = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            parsed.append((number, _parse_json_line(path, number, line)))
        except DataError as error:
            bad.append(error)
    return parsed, bad


def validate_chat(data: Any, rules: ChatRules) -> list[tuple[str | None, str]]:
    """The (field, reason) problems of one parsed line against the chat format."""
    if not isinstance(data, dict):
        return [(None, f"expected a JSON object, got {type(data).__name__}")]
    problems: list[tuple[str | None, str]] = []
    problems += [(key, "unknown field") for key in data if key not in _TOP_KEYS]
    if not isinstance(data.get("id"), str) or not data["id"].strip():
        problems.append(("id", "missing or empty id"))
    for key, kind in (("label", str), ("reference", str), ("meta", dict)):
        if key in data and data[key] is not None and not isinstance(data[key], kind):
            problems.append((key, f"must be a {kind.__name__}, got {type(data[key]).__name__}"))
    has_messages, has_prompt = "messages" in data, "prompt" in data
    if has_messages == has_prompt:
        problems.append((None, "exactly one of 'messages' or 'prompt' is required"))
    elif has_messages:
        problems += _message_problems(data["messages"], rules)
    else:
        problems += _prompt_problems(data, rules)
    return problems


def _prompt_problems(data: dict[str, Any], rules: ChatRules) -> list[tuple[str | None, str]]:
    prompt = data["prompt"]
    if not isinstance(prompt, str):
        return [("prompt", f"must be a string, got {type(prompt).__name__}")]
    problems: list[tuple[str | None, str]] = []
    if not prompt.strip():
        problems.append(("prompt", "empty content"))
    reference = data.get("reference")
    if rules.require_answer and not (isinstance(reference, str) and reference.strip()):
        problems.append(("reference", "missing or empty answer"))
    size = len(prompt) + (len(reference) if isinstance(reference, str) else 0)
    return problems + _length_problems("prompt", size, rules)


def _message_problems(messages: Any, rules: ChatRules) -> list[tuple[str | None, str]]:
    if not isinstance(messages, list) or not messages:
        return [("messages", "must be a non-empty list of chat turns")]
    problems: list[tuple[str | None, str]] = []
    roles: list[str | None] = []
    size = 0
    for i, turn in enumerate(messages):
        where = f"messages.{i}"
        if not isinstance(turn, dict):
            problems.append((where, f"must be an object, got {type(turn).__name__}"))
            roles.append(None)
            continue
        problems += [(f"{where}.{k}", "unknown field") for k in turn if k not in _MESSAGE_KEYS]
        role, content = turn.get("role"), turn.get("content")
        if role not in ROLES:
            problems.append((f"{where}.role", f"unknown role {role!r} (roles: {', '.join(ROLES)})"))
        if not isinstance(content, str):
            problems.append((f"{where}.content", "missing or not a string"))
        elif not content.strip():
            problems.append((f"{where}.content", "empty content"))
        else:
            size += len(content)
        roles.append(role if role in ROLES else None)
    problems += _order_problems(roles, rules)
    return problems + _length_problems("messages", size, rules)


def _order_problems(roles: list[str | None], rules: ChatRules) -> list[tuple[str | None, str]]:
    """Optional system first, then user and assistant alternating, user first.

    Only the first turn out of order is reported: what follows it is ambiguous.
    """
    start = 1 if roles and roles[0] == "system" else 0
    for i, role in enumerate(roles[start:], start=start):
        expected = "user" if (i - start) % 2 == 0 else "assistant"
        if role is not None and role != expected:
            after = f" after {roles[i - 1]!r}" if i > 0 else " first"
            reason = ("a system turn is only allowed first" if role == "system"
                      else f"expected {expected!r}{after}, got {role!r}")
            return [(f"messages.{i}.role", reason)]
    if len(roles) == start:
        return [("messages", "no user turn")]
    if rules.require_answer and roles[-1] != "assistant":
        return [(f"messages.{len(roles) - 1}.role",
                 "the conversation must end with an assistant turn (the answer)")]
    return []


def _length_problems(name: str, size: int, rules: ChatRules) -> list[tuple[str | None, str]]:
    """Total characters out of bounds; nothing at all is reported as empty content."""
    if 0 < size < rules.min_chars:
        return [(name, f"{size} characters, below min_chars {rules.min_chars}")]
    if size > rules.max_chars:
        return [(name, f"{size} characters, above max_chars {rules.max_chars}")]
    return []


def _record(path: Path, number: int, data: Any) -> Record | None:
    """The record of a parsed line, or None when no input text can be found in it."""
    if not isinstance(data, dict):
        return None
    contents = list(_contents(data))
    answer = _answer(data)
    text = _input_text(data)
    if text is None:
        return None
    label = data.get("label") if isinstance(data.get("label"), str) else answer
    ident = data.get("id") if isinstance(data.get("id"), str) and data["id"] else None
    return Record(path, number, ident or f"{path.name}:{number}", text, answer, label,
                  tuple(contents), data)


def _input_text(data: dict[str, Any]) -> str | None:
    if isinstance(data.get("prompt"), str):
        return str(data["prompt"])
    messages = data.get("messages")
    if not isinstance(messages, list):
        return None
    turns = [m for m in messages if isinstance(m, dict) and isinstance(m.get("content"), str)]
    if turns and turns[-1].get("role") == "assistant":
        turns = turns[:-1]
    parts = [m["content"] for m in turns if m.get("role") != "system"]
    return "\n".join(parts) if parts else None


def _answer(data: dict[str, Any]) -> str | None:
    messages = data.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[-1], dict):
        last = messages[-1]
        if last.get("role") == "assistant" and isinstance(last.get("content"), str):
            return str(last["content"])
    reference = data.get("reference")
    return reference if isinstance(reference, str) else None


def _contents(data: dict[str, Any]) -> Iterable[tuple[str, str]]:
    for key in ("prompt", "reference", "label"):
        if isinstance(data.get(key), str):
            yield key, data[key]
    messages = data.get("messages")
    if isinstance(messages, list):
        for i, turn in enumerate(messages):
            if isinstance(turn, dict) and isinstance(turn.get("content"), str):
                yield f"messages.{i}.content", turn["content"]


def field_value(record: Record, dotted: str) -> Any:
    """The value at a dotted path in the raw record (``meta.label_2``), or None."""
    value: Any = record.raw
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def all_records(sets: Iterable[RecordSet]) -> list[Record]:
    """The records of several sets, in order."""
    return [record for records in sets for record in records.records]
