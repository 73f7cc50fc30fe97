"""JSONL storage of examples: loading with line-numbered errors, atomic writing, hashing.

Data files are the boundary where user input enters tunegate, so every problem is
reported as a :class:`DataError` naming the file, the 1-based line and the field,
before any model is loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tunegate.data._example import Example

_CHUNK = 1 << 20


class DataError(ValueError):
    """A data file that cannot be used, located as precisely as known."""

    def __init__(self, path: str | Path, line: int | None, field: str | None, reason: str):
        self.path = Path(path)
        self.line = line
        self.field = field
        self.reason = reason
        super().__init__(str(self))

    def __str__(self) -> str:
        where = str(self.path)
        if self.line is not None:
            where += f":{self.line}"
        parts = [where] if self.field is None else [where, self.field]
        return ": ".join([*parts, self.reason])

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, self.line, self.field, self.reason))


def load_examples(path: str | Path) -> list[Example]:
    """Read one :class:`Example` per non-blank line; raise on the first bad line."""
    path = Path(path)
    raw = _read_bytes(path)
    examples: list[Example] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        example = _parse_line(path, number, line)
        if example.id in first_line:
            raise DataError(
                path,
                number,
                "id",
                f"duplicate id {example.id!r} (first seen on line {first_line[example.id]})",
            )
        first_line[example.id] = number
        examples.append(example)
    if not examples:
        raise DataError(path, None, None, "no examples")
    return examples


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(path, None, None, "file not found") from None
    except IsADirectoryError:
        raise DataError(path, None, None, "is a directory, not a file") from None
    except OSError as exc:
        raise DataError(path, None, None, f"cannot read: {exc.strerror or exc}") from exc


def _parse_json_line(path: Path, number: int, line: bytes) -> Any:
    """Decode and parse one line (a BOM allowed on the first), or raise DataError."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(path, number, None, f"not valid UTF-8: {exc.reason}") from None
    if number == 1:
        text = text.removeprefix("\ufeff")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        reason = f"invalid JSON: {exc.msg} (column {exc.colno})"
        raise DataError(path, number, None, reason) from None


def _parse_line(path: Path, number: int, line: bytes) -> Example:
    """Decode, parse and validate one line, translating every failure to DataError."""
    data = _parse_json_line(path, number, line)
    if not isinstance(data, dict):
        reason = f"expected a JSON object, got {type(data).__name__}"
        raise DataError(path, number, None, reason)
    try:
        return Example.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(path, number, exc) from None


def _validation_error(path: Path, number: int, exc: ValidationError) -> DataError:
    """The first pydantic error as a DataError with a dotted field path."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    reason = first["msg"]
    if len(errors) > 1:
        reason += f" (and {len(errors) - 1} more error{'s' if len(errors) > 2 else ''})"
    return DataError(path, number, field, reason)


def write_examples(path: str | Path, examples: Iterable[Example]) -> None:
    """Write examples as JSONL atomically: readers see the old file or the new, never half.

    Duplicate ids are refused here so that a written file always loads back.
    """
    path = Path(path)
    write_text_atomic(path, "".join(_record_lines(path, examples)))


def write_json(path: str | Path, payload: dict[str, Any]) -> None:
    """Write a JSON document atomically (temporary file beside it, then a rename), 0644."""
    text = json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    write_text_atomic(Path(path), text)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: a temporary file beside it, synced, then a
    rename, so a reader sees the old file or the new one, never half of one; on any
    error the temporary file is removed and ``path`` is left as it was. Mode 0644."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o644)  # mkstemp creates 0600; these files are for everyone to read
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def provenance_path(out: str | Path) -> Path:
    """Where a set's provenance lives: ``golden/x.jsonl`` -> ``golden/x.provenance.json``."""
    out = Path(out)
    return out.with_name(out.name.removesuffix(".jsonl") + ".provenance.json")


def _record_lines(path: Path, examples: Iterable[Example]) -> list[str]:
    lines: list[str] = []
    seen: dict[str, int] = {}
    for number, example in enumerate(examples, start=1):
        if example.id in seen:
            reason = f"duplicate id {example.id!r} (first at example {seen[example.id]})"
            raise DataError(path, number, "id", reason)
        seen[example.id] = number
        lines.append(json.dumps(example.to_record(), ensure_ascii=False) + "\n")
    return lines


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks so large files stay cheap."""
    digest = hashlib.sha256()
    try:
        with Path(path).open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    except FileNotFoundError:
        raise DataError(path, None, None, "file not found") from None
    return digest.hexdigest()


def examples_sha256(examples: Iterable[Example]) -> str:
    """Hex SHA-256 of the examples' content, independent of how the file was formatted.

    Each example is hashed as its canonical JSON record (sorted keys, no spaces), one a
    line, in order: reordering examples changes the hash, reformatting the file does not.
    """
    digest = hashlib.sha256()
    for example in examples:
        line = json.dumps(
            example.to_record(), sort_keys=True, ensure_ascii=False, separators=(",", ":")
        )
        digest.update(line.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()
