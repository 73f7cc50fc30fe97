"""The run record: one versioned JSON document per gate run.

Reports, the history store and promotion read run records, never pytest internals.
Records of an older schema version load (migrated by filling defaults); a record of a
newer version than this code is refused with an error naming the file.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, model_validator

from tunegate.data import DataError, write_json
from tunegate.report.decision import DecisionRow

SCHEMA_VERSION = 3

__all__ = [
    "SCHEMA_VERSION",
    "DecisionRow",
    "ExampleRecord",
    "GateRecord",
    "RecordError",
    "ReferenceRecord",
    "RunRecord",
    "SuiteRecord",
    "TestRecord",
    "config_hash",
    "read_run_record",
    "suite_files",
    "suite_hash",
    "write_run_record",
]


class RecordError(DataError):
    """A run record file that cannot be read: bad JSON, a schema violation, a newer version."""


class ReferenceRecord(BaseModel):
    role: str
    base: str
    adapter: str | None
    fingerprint: str | None
    # sha256 over the adapter folder's own files (``folder_fingerprint``): the identity
    # the registry promotes, whatever the folder is called or where it lies.
    adapter_sha256: str | None = None
    task: str = "main"  # the configured task whose reference this is
    prompting: str | None = None  # a prompted baseline's strategy ("4-shot", key)


class SuiteRecord(BaseModel):
    """The suite that judged the run: every Python file under its directory, hashed."""

    directory: str
    files: dict[str, str]  # path relative to ``directory`` (POSIX) -> sha256
    hash: str  # ``suite_hash(files)``
    complete: bool  # every test of the suite ran: no -k/-m deselection, no file subset


class GateRecord(BaseModel):
    test: str
    name: str
    passed: bool
    status: str
    values: dict[str, float | None]
    thresholds: dict[str, float | None]
    reason: str = ""
    error: str | None = None
    evidence: dict[str, Any] = Field(default_factory=dict)
    directions: dict[str, str] = Field(default_factory=dict)  # threshold -> '>=' or '<='


class TestRecord(BaseModel):
    """One test's outcome: ``passed``, ``failed``, ``skipped`` or ``error``."""

    __test__ = False  # not a pytest test class, whatever its name

    nodeid: str
    outcome: str
    duration_s: float
    message: str = ""  # the skip reason, or the first line of the failure


class ExampleRecord(BaseModel):
    """One example's outcome for one reference: what it answered, and whether rightly."""

    role: str
    task: str
    split: str
    id: str
    gold: str | None  # the gold label, or the reference answer (canonical JSON)
    answer: str
    correct: bool | None  # None when the example has no gold answer
    confidence: float | None = None  # classification: the probability of the answer


class RunRecord(BaseModel):
    """Everything needed to tell later what was gated, how, and with what verdict."""

    schema_version: int = SCHEMA_VERSION
    run_id: str
    started: str
    finished: str
    duration_s: float | None = None
    exit_status: int
    passed: bool
    seed: int
    seeds: dict[str, int | str] = Field(default_factory=dict)
    config: dict[str, Any]
    config_hash: str
    references: list[ReferenceRecord]
    gates: list[GateRecord]
    environment: dict[str, str]
    suite: SuiteRecord | None = None
    tests: list[TestRecord] = Field(default_factory=list)
    examples: list[ExampleRecord] = Field(default_factory=list)
    decision: list[DecisionRow] = Field(default_factory=list)  # since version 3

    @model_validator(mode="before")
    @classmethod
    def _migrate(cls, data: Any) -> Any:
        """Bring an older record up to this version; refuse a newer one."""
        if not isinstance(data, dict):
            return data
        version = data.get("schema_version", SCHEMA_VERSION)
        if isinstance(version, int) and version > SCHEMA_VERSION:
            raise ValueError(f"schema_version {version} is newer than this tunegate "
                             f"reads ({SCHEMA_VERSION}): upgrade tunegate")
        if version == 1:
            data = _from_v1(data)
        if version in (1, 2):  # version 2 had no decision table: an empty one
            data = {**data, "schema_version": SCHEMA_VERSION}
        return data


def _from_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 lacked the config hash, the seeds, test and example outcomes."""
    data = {**data, "schema_version": SCHEMA_VERSION}
    if isinstance(data.get("config"), dict):
        data.setdefault("config_hash", config_hash(data["config"]))
    if "seed" in data:
        data.setdefault("seeds", {"gate": data["seed"]})
    return data


def config_hash(config: dict[str, Any]) -> str:
    """sha256 of the configuration's canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def suite_files(directory: Path) -> dict[str, str]:
    """sha256 of every ``*.py`` file under ``directory``, by POSIX path relative to it.

    Hidden folders (``.venv``, ``.tox``, ...) and ``__pycache__`` are not the suite.
    """
    from tunegate.data import file_sha256

    files = {}
    for path in sorted(directory.rglob("*.py")):
        folders = path.relative_to(directory).parts[:-1]
        if not any(part == "__pycache__" or part.startswith(".") for part in folders):
            files[path.relative_to(directory).as_posix()] = file_sha256(path)
    return files


def suite_hash(files: dict[str, str]) -> str:
    """One hash for a suite: over the sorted (relative path, sha256) pairs."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(f"{name}\0{files[name]}\n".encode())
    return digest.hexdigest()


def write_run_record(record: RunRecord, report_dir: Path) -> Path:
    """Write ``record`` atomically as ``<report_dir>/runs/<run_id>.json``; return the path."""
    path = report_dir / "runs" / f"{record.run_id}.json"
    write_json(path, json.loads(record.model_dump_json()))
    return path


def read_run_record(path: Path) -> RunRecord:
    """Load a record of this or an older schema version; :class:`RecordError` otherwise."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RecordError(path, None, None, f"cannot read: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        line = exc.lineno if isinstance(exc, json.JSONDecodeError) else None
        raise RecordError(path, line, None, f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise RecordError(path, None, None, "a run record must be a JSON object")
    try:
        return RunRecord.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "schema_version"
        more = len(exc.errors()) - 1
        reason = error["msg"].removeprefix("Value error, ")
        if more:
            reason += f" (and {more} more error{'s' if more > 1 else ''})"
        raise RecordError(path, None, field, reason) from None
