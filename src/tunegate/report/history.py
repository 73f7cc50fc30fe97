"""The history store: every run record in one SQLite file, queryable for trends.

The record JSON files stay the source of truth; the history is an index over them
that can always be rebuilt (``tunegate history import``). Several processes may add
runs to one file at once: WAL mode, a busy timeout and ``BEGIN IMMEDIATE`` writes.
The schema is versioned by ``PRAGMA user_version`` and moved forward by an ordered
list of migrations, each in one transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from tunegate.report.record import ExampleRecord, RunRecord

__all__ = ["MIGRATIONS", "History", "HistoryError", "MetricPoint", "RunSummary"]

BUSY_TIMEOUT_MS = 60_000

MIGRATIONS: tuple[str, ...] = (
    # 1: runs, gate results, and one row per (gate, metric) for trend queries.
    """
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        started TEXT NOT NULL,
        finished TEXT NOT NULL,
        passed INTEGER NOT NULL,
        exit_status INTEGER NOT NULL,
        candidate TEXT,
        candidate_sha256 TEXT,
        production TEXT,
        production_sha256 TEXT,
        config_hash TEXT NOT NULL,
        record TEXT NOT NULL
    );
    CREATE INDEX runs_finished ON runs (finished);
    CREATE TABLE gate_results (
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        test TEXT NOT NULL,
        name TEXT NOT NULL,
        passed INTEGER NOT NULL,
        status TEXT NOT NULL,
        reason TEXT NOT NULL,
        error TEXT,
        "values" TEXT NOT NULL,
        thresholds TEXT NOT NULL,
        PRIMARY KEY (run_id, position)
    );
    CREATE TABLE gate_metrics (
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        gate TEXT NOT NULL,
        metric TEXT NOT NULL,
        value REAL,
        threshold REAL,
        direction TEXT,
        PRIMARY KEY (run_id, position, metric)
    );
    CREATE INDEX gate_metrics_series ON gate_metrics (gate, metric);
    """,
    # 2 (run record v2): the suite that judged the run, and per-example outcomes.
    """
    ALTER TABLE runs ADD COLUMN suite_hash TEXT;
    ALTER TABLE runs ADD COLUMN complete INTEGER;
    CREATE TABLE example_outcomes (
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        task TEXT NOT NULL,
        role TEXT NOT NULL,
        split TEXT NOT NULL,
        example_id TEXT NOT NULL,
        gold TEXT,
        answer TEXT NOT NULL,
        correct INTEGER,
        confidence REAL
    );
    CREATE INDEX example_outcomes_run ON example_outcomes (run_id);
    """,
)
"""The schema, one migration per version: ``MIGRATIONS[n - 1]`` takes version n-1 to n."""


class HistoryError(Exception):
    """A history file that cannot be used; the message names it."""

    def __init__(self, path: Path, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, self.reason))


class RunSummary(NamedTuple):
    """One run as listed by :meth:`History.runs`."""

    run_id: str
    started: str
    finished: str
    passed: bool
    exit_status: int
    candidate: str | None
    candidate_sha256: str | None
    production: str | None
    production_sha256: str | None
    suite_hash: str | None
    complete: bool | None
    config_hash: str


class MetricPoint(NamedTuple):
    """One value of a gate metric in one run, with the threshold it was held to."""

    run_id: str
    finished: str
    value: float | None
    threshold: float | None


class History:
    """The run history in the SQLite file ``path`` (created and migrated on first use)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._ready = False

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in autocommit mode (transactions are explicit), closed after use."""
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000,
                                 isolation_level=None)
        except sqlite3.Error as exc:
            raise HistoryError(self.path, f"cannot open: {exc}") from None
        try:
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA foreign_keys = ON")
            if not self._ready:
                self._prepare(db)
                self._ready = True
            yield db
        except sqlite3.DatabaseError as exc:
            raise HistoryError(self.path, f"database error: {exc}") from exc
        finally:
            db.close()

    def _prepare(self, db: sqlite3.Connection) -> None:
        """The schema brought to the current version (or refused if newer), in WAL mode."""
        current = len(MIGRATIONS)
        for version in range(1, current + 1):
            with _transaction(db):
                found = db.execute("PRAGMA user_version").fetchone()[0]
                if found > current:
                    raise HistoryError(self.path, f"schema version {found} is newer than "
                                       f"this tunegate knows ({current}): upgrade tunegate")
                if found == current:
                    break
                if found == version - 1:
                    for statement in _statements(MIGRATIONS[version - 1]):
                        db.execute(statement)
                    db.execute(f"PRAGMA user_version = {version}")
        if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            db.execute("PRAGMA journal_mode = WAL")

    @property
    def version(self) -> int:
        """The schema version of the file (after migration: ``len(MIGRATIONS)``)."""
        with self._connect() as db:
            version: int = db.execute("PRAGMA user_version").fetchone()[0]
            return version

    def add(self, record: RunRecord) -> bool:
        """Add a run and its gates, metrics and example outcomes; False if already there."""
        with self._connect() as db, _transaction(db):
            if db.execute("SELECT 1 FROM runs WHERE run_id = ?", (record.run_id,)).fetchone():
                return False
            db.execute(
                "INSERT INTO runs (run_id, started, finished, passed, exit_status, candidate,"
                " candidate_sha256, production, production_sha256, config_hash, record,"
                " suite_hash, complete) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                _run_row(record),
            )
            _insert_gates(db, record)
            db.executemany(
                "INSERT INTO example_outcomes (run_id, task, role, split, example_id, gold,"
                " answer, correct, confidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(record.run_id, e.task, e.role, e.split, e.id, e.gold, e.answer, e.correct,
                  e.confidence) for e in record.examples],
            )
            return True

    def runs(
        self,
        since: str | datetime | None = None,
        candidate: str | None = None,
        limit: int | None = None,
    ) -> list[RunSummary]:
        """Runs newest first; ``since`` bounds ``finished``, ``candidate`` is a spec,
        an adapter folder or an adapter sha256."""
        where, params = _filters(since, candidate)
        sql = (f"SELECT {', '.join(RunSummary._fields)} FROM runs {where}"
               " ORDER BY finished DESC, run_id DESC")
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self._connect() as db:
            rows = db.execute(sql, params).fetchall()
        return [_summary(row) for row in rows]

    def get(self, run_id: str) -> RunRecord:
        """The full record of a run; KeyError when the history does not hold it."""
        with self._connect() as db:
            row = db.execute("SELECT record FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise KeyError(f"{self.path}: no run {run_id!r}")
        return RunRecord.model_validate_json(row[0])

    def metric_series(
        self, gate: str, metric: str, candidate: str | None = None, limit: int | None = None
    ) -> list[MetricPoint]:
        """A gate metric over runs, oldest first (the newest ``limit`` runs when given)."""
        where, params = _filters(None, candidate)
        where = (where + " AND" if where else "WHERE") + " m.gate = ? AND m.metric = ?"
        sql = ("SELECT runs.run_id, runs.finished, m.value, m.threshold FROM gate_metrics m"
               f" JOIN runs ON runs.run_id = m.run_id {where}"
               " ORDER BY runs.finished DESC, runs.run_id DESC, m.position DESC")
        params += [gate, metric]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self._connect() as db:
            rows = db.execute(sql, params).fetchall()
        return [MetricPoint(*row) for row in reversed(rows)]

    def example_outcomes(self, run_id: str) -> list[ExampleRecord]:
        """The per-example outcomes of a run, in the order the record lists them."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT role, task, split, example_id, gold, answer, correct, confidence"
                " FROM example_outcomes WHERE run_id = ? ORDER BY rowid", (run_id,),
            ).fetchall()
        return [ExampleRecord(role=r[0], task=r[1], split=r[2], id=r[3], gold=r[4],
                              answer=r[5], correct=None if r[6] is None else bool(r[6]),
                              confidence=r[7]) for r in rows]


def _summary(row: tuple[Any, ...]) -> RunSummary:
    """A ``runs`` row (columns in :class:`RunSummary` order) with its booleans restored."""
    values = dict(zip(RunSummary._fields, row, strict=True))
    values["passed"] = bool(values["passed"])
    if values["complete"] is not None:
        values["complete"] = bool(values["complete"])
    return RunSummary(**values)


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` (take the write lock now, waiting for it), commit or roll back."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _statements(script: str) -> list[str]:
    """A migration's statements (``executescript`` would commit the open transaction)."""
    return [s.strip() for s in script.split(";") if s.strip()]


def _main_reference(record: RunRecord, role: str) -> tuple[str | None, str | None]:
    """A role's configured spec and adapter sha256, for the run's main task."""
    task = record.config.get("name", "main")
    sha = next((r.adapter_sha256 for r in record.references
                if r.role == role and r.task == task), None)
    spec = record.config.get(role)
    return (None if spec is None else str(spec)), sha


def _run_row(record: RunRecord) -> tuple[Any, ...]:
    candidate, candidate_sha = _main_reference(record, "candidate")
    production, production_sha = _main_reference(record, "production")
    suite = record.suite
    return (
        record.run_id, record.started, record.finished, record.passed, record.exit_status,
        candidate, candidate_sha, production, production_sha, record.config_hash,
        record.model_dump_json(), suite.hash if suite else None,
        suite.complete if suite else None,
    )


def _insert_gates(db: sqlite3.Connection, record: RunRecord) -> None:
    for position, gate in enumerate(record.gates):
        db.execute(
            'INSERT INTO gate_results (run_id, position, test, name, passed, status, reason,'
            ' error, "values", thresholds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
            (record.run_id, position, gate.test, gate.name, gate.passed, gate.status,
             gate.reason, gate.error, json.dumps(gate.values), json.dumps(gate.thresholds)),
        )
        metrics = [*gate.values, *(k for k in gate.thresholds if k not in gate.values)]
        db.executemany(
            "INSERT INTO gate_metrics (run_id, position, gate, metric, value, threshold,"
            " direction) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(record.run_id, position, gate.name, metric, gate.values.get(metric),
              gate.thresholds.get(metric), gate.directions.get(metric)) for metric in metrics],
        )


def _filters(since: str | datetime | None, candidate: str | None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if since is not None:
        if isinstance(since, datetime):
            since = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        clauses.append("runs.finished >= ?")
        params.append(since)
    if candidate is not None:
        clauses.append("(runs.candidate = ? OR runs.candidate_sha256 = ? OR EXISTS (SELECT 1"
                       " FROM json_each(runs.record, '$.references') AS r WHERE"
                       " json_extract(r.value, '$.role') = 'candidate' AND"
                       " json_extract(r.value, '$.adapter') = ?))")
        params += [candidate, candidate, candidate]
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), params
