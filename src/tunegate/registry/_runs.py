"""Which gate runs judged a given adapter content, read from the run records.

Promotion and ``registry show`` ask only :func:`runs_of_adapter`; today it scans
``<report_dir>/runs/*.json``, and a run history store can replace the scan behind it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tunegate.report.record import RecordError, RunRecord, read_run_record


@dataclass(frozen=True)
class RecordProblem:
    """A run record that could not be read; it may be a run of the adapter asked about."""

    path: Path
    error: str
    may_concern: bool  # False only when the record plainly names another candidate

    def __str__(self) -> str:
        return f"{self.path}: {self.error}"


@dataclass(frozen=True)
class AdapterRuns:
    """The runs whose candidate was exactly this adapter content, oldest first."""

    sha256: str
    runs: list[RunRecord] = field(default_factory=list)
    problems: list[RecordProblem] = field(default_factory=list)

    @property
    def latest(self) -> RunRecord | None:
        """The last run to finish; on a tie, a failed one (fail closed)."""
        return max(self.runs, key=lambda run: (_finished(run), not run.passed), default=None)


def runs_dir(report_dir: Path) -> Path:
    return report_dir / "runs"


def candidate_sha256s(record: RunRecord) -> set[str]:
    """The content hashes of the run's candidate adapters (one per gated task)."""
    return {ref.adapter_sha256 for ref in record.references
            if ref.role == "candidate" and ref.adapter_sha256 is not None}


def runs_of_adapter(report_dir: Path, sha256: str) -> AdapterRuns:
    """Every recorded run with the candidate content ``sha256``, and every unreadable record.

    A record that cannot be read (bad JSON, a schema violation, a newer schema version)
    is reported as a problem, never skipped in silence: it might be the run that decides.
    """
    found = AdapterRuns(sha256)
    folder = runs_dir(report_dir)
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            record = read_run_record(path)
        except RecordError as exc:
            found.problems.append(_problem(path, _located(exc), sha256))
            continue
        try:
            _finished(record)
        except ValueError:
            found.problems.append(_problem(
                path, f"finished: not an ISO 8601 time: {record.finished!r}", sha256))
            continue
        if sha256 in candidate_sha256s(record):
            found.runs.append(record)
    found.runs.sort(key=lambda run: (_finished(run), run.run_id))
    return found


def _finished(run: RunRecord) -> datetime:
    """When a run finished, as an aware UTC time (``Z``, offsets and naive all compare)."""
    moment = datetime.fromisoformat(run.finished.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _located(exc: RecordError) -> str:
    """A record error without its path (the problem carries the path)."""
    where = [f"line {exc.line}"] if exc.line is not None else []
    where += [exc.field] if exc.field else []
    return ": ".join([*where, exc.reason])


def _problem(path: Path, error: str, sha256: str) -> RecordProblem:
    return RecordProblem(path, error, _may_concern(path, sha256))


def _may_concern(path: Path, sha256: str) -> bool:
    """False only when the raw record plainly names a candidate with other content."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        candidates = [ref for ref in data["references"] if ref.get("role") == "candidate"]
        other = [ref["adapter_sha256"] for ref in candidates]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
        return True
    return not other or any(value == sha256 or not isinstance(value, str) for value in other)
