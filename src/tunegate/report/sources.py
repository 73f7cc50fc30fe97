"""Where reports find runs: the SQLite history, or a folder of run record files.

``tunegate report`` and ``tunegate compare`` read runs through :class:`RunSource` and
nothing else, so both work on a CI job's ``reports/runs/`` folder (no history yet) as
on a nightly history file. Both sources answer the same questions the same way: runs
newest first, filtered by finish time and candidate, full records by id, and the
values of one gate metric across chosen runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from tunegate.report.history import History, HistoryError, MetricPoint
from tunegate.report.record import RecordError, RunRecord, read_run_record

__all__ = [
    "HistorySource",
    "ReportError",
    "RunSource",
    "RunsFolderSource",
    "find_runs",
    "open_source",
    "parse_since",
]


class ReportError(Exception):
    """A report or comparison that cannot be made: no runs, unknown run ids, bad input."""


class RunSource(Protocol):
    """Runs as reports see them; ``location`` names the file or folder for messages."""

    location: str

    def run_ids(self, since: datetime | None = None,
                candidate: str | None = None) -> list[tuple[str, str]]:
        """(run id, finished) pairs, newest first."""

    def record(self, run_id: str) -> RunRecord:
        """The full record; :class:`ReportError` naming the id when there is none."""

    def has(self, run_id: str) -> bool:
        """Whether the source holds the run."""

    def metric_points(self, gate: str, metric: str,
                      run_ids: Sequence[str]) -> dict[str, MetricPoint]:
        """The gate metric's value and threshold in each of ``run_ids`` that recorded it."""


class HistorySource:
    """Runs from a history database (``tunegate history import`` fills it)."""

    def __init__(self, path: Path):
        if not path.is_file():
            raise ReportError(f"{path}: no such history file")
        self.location = str(path)
        self._history = History(path)

    def run_ids(self, since: datetime | None = None,
                candidate: str | None = None) -> list[tuple[str, str]]:
        try:
            return [(run.run_id, run.finished)
                    for run in self._history.runs(since=since, candidate=candidate)]
        except HistoryError as exc:
            raise ReportError(str(exc)) from None

    def record(self, run_id: str) -> RunRecord:
        try:
            return self._history.get(run_id)
        except KeyError:
            raise ReportError(f"{self.location}: no run {run_id!r}") from None

    def has(self, run_id: str) -> bool:
        return any(run_id == found for found, _ in self.run_ids())

    def metric_points(self, gate: str, metric: str,
                      run_ids: Sequence[str]) -> dict[str, MetricPoint]:
        wanted = set(run_ids)
        return {point.run_id: point for point in self._history.metric_series(gate, metric)
                if point.run_id in wanted}


class RunsFolderSource:
    """Runs from ``<report_dir>/runs/*.json``; every file is read (and must be valid)."""

    def __init__(self, folder: Path):
        if not folder.is_dir():
            raise ReportError(f"{folder}: no such runs folder")
        self.location = str(folder)
        self._records: dict[str, RunRecord] = {}
        for path in sorted(folder.glob("*.json")):
            try:
                record = read_run_record(path)
            except RecordError as exc:
                raise ReportError(str(exc)) from None
            self._records[record.run_id] = record

    def run_ids(self, since: datetime | None = None,
                candidate: str | None = None) -> list[tuple[str, str]]:
        bound = None if since is None else since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        chosen = [r for r in self._records.values()
                  if (bound is None or r.finished >= bound)
                  and (candidate is None or _is_candidate(r, candidate))]
        chosen.sort(key=lambda r: (r.finished, r.run_id), reverse=True)
        return [(r.run_id, r.finished) for r in chosen]

    def record(self, run_id: str) -> RunRecord:
        if run_id not in self._records:
            raise ReportError(f"{self.location}: no run {run_id!r}")
        return self._records[run_id]

    def has(self, run_id: str) -> bool:
        return run_id in self._records

    def metric_points(self, gate: str, metric: str,
                      run_ids: Sequence[str]) -> dict[str, MetricPoint]:
        points = {}
        for run_id in run_ids:
            record = self._records[run_id]
            for found in record.gates:
                if found.name == gate and (metric in found.values or metric in found.thresholds):
                    points[run_id] = MetricPoint(run_id, record.finished,
                                                 found.values.get(metric),
                                                 found.thresholds.get(metric))
        return points


def _is_candidate(record: RunRecord, spec: str) -> bool:
    """The history's candidate filter: the configured spec, adapter sha256 or folder."""
    if str(record.config.get("candidate")) == spec:
        return True
    return any(ref.role == "candidate" and spec in (ref.adapter_sha256, ref.adapter)
               for ref in record.references)


def open_source(history: str | None, runs: str | None, report_dir: Path | None) -> RunSource:
    """The source named by ``--history`` or ``--runs``; else the report dir's history
    file when it exists, else its ``runs/`` folder."""
    if history is not None and runs is not None:
        raise ReportError("give --history or --runs, not both")
    if history is not None:
        return HistorySource(Path(history))
    if runs is not None:
        return RunsFolderSource(Path(runs))
    if report_dir is None:
        raise ReportError("no runs to read: give --history or --runs")
    if (report_dir / "history.sqlite").is_file():
        return HistorySource(report_dir / "history.sqlite")
    if (report_dir / "runs").is_dir():
        return RunsFolderSource(report_dir / "runs")
    raise ReportError(f"no runs in {report_dir}: neither history.sqlite nor runs/ exists")


def parse_since(text: str) -> datetime:
    """``--since``: a date (``2026-11-01``) or an ISO time; without a zone, UTC."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ReportError(f"--since: not an ISO date or time: {text!r}") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def find_runs(wanted: Sequence[str], source: Callable[[], RunSource]) -> list[RunRecord]:
    """Each of ``wanted`` as a record: a run record file, else a run id of ``source()``
    (opened only when some id is not a file); ReportError naming every unknown id."""
    opened = None if all(Path(w).is_file() for w in wanted) else source()
    unknown = [w for w in wanted if not Path(w).is_file()
               and (opened is None or not opened.has(w))]
    if opened is not None and unknown:
        plural = "s" if len(unknown) > 1 else ""
        raise ReportError(f"unknown run{plural} in {opened.location}: {', '.join(unknown)}")
    records = []
    for name in wanted:
        if Path(name).is_file():
            try:
                records.append(read_run_record(Path(name)))
            except RecordError as exc:
                raise ReportError(str(exc)) from None
        elif opened is not None:
            records.append(opened.record(name))
    return records
