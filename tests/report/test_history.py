"""The SQLite history: round trip, idempotence, queries, migration, concurrent writers."""

from __future__ import annotations

import multiprocessing
import sqlite3
from contextlib import closing

import pytest

from tunegate.cli import main
from tunegate.report.history import MIGRATIONS, History, HistoryError
from tunegate.report.record import write_run_record

# The schema of version 1 as it shipped, kept literally: the migration test must not
# follow later edits of MIGRATIONS[0].
V1_DDL = """
CREATE TABLE runs (run_id TEXT PRIMARY KEY, started TEXT NOT NULL, finished TEXT NOT NULL,
    passed INTEGER NOT NULL, exit_status INTEGER NOT NULL, candidate TEXT,
    candidate_sha256 TEXT, production TEXT, production_sha256 TEXT,
    config_hash TEXT NOT NULL, record TEXT NOT NULL);
CREATE INDEX runs_finished ON runs (finished);
CREATE TABLE gate_results (run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    position INTEGER NOT NULL, test TEXT NOT NULL, name TEXT NOT NULL,
    passed INTEGER NOT NULL, status TEXT NOT NULL, reason TEXT NOT NULL, error TEXT,
    "values" TEXT NOT NULL, thresholds TEXT NOT NULL, PRIMARY KEY (run_id, position));
CREATE TABLE gate_metrics (run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    position INTEGER NOT NULL, gate TEXT NOT NULL, metric TEXT NOT NULL, value REAL,
    threshold REAL, direction TEXT, PRIMARY KEY (run_id, position, metric));
CREATE INDEX gate_metrics_series ON gate_metrics (gate, metric);
PRAGMA user_version = 1;
"""


def count(path, table: str) -> int:
    with closing(sqlite3.connect(path)) as db:
        rows: int = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        return rows


def test_round_trip_and_idempotent_add(tmp_path, record_factory):
    history = History(tmp_path / "h.sqlite")
    record = record_factory(examples=5)
    assert history.add(record) is True
    assert history.add(record) is False  # the same run again: nothing changes
    assert history.get(record.run_id) == record
    assert history.example_outcomes(record.run_id) == record.examples
    assert count(history.path, "runs") == 1
    assert count(history.path, "gate_results") == 2
    assert count(history.path, "gate_metrics") == 3  # macro_f1; ece and brier
    assert count(history.path, "example_outcomes") == 5


def test_file_is_wal_and_at_the_current_version(tmp_path, record_factory):
    history = History(tmp_path / "h.sqlite")
    history.add(record_factory())
    assert history.version == len(MIGRATIONS) == 2
    with closing(sqlite3.connect(history.path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_runs_are_newest_first_and_filtered(tmp_path, record_factory):
    history = History(tmp_path / "h.sqlite")
    history.add(record_factory("r1", finished="2026-01-01T00:00:00Z", candidate_sha="1" * 64))
    history.add(record_factory("r2", finished="2026-01-03T00:00:00Z", candidate_sha="2" * 64))
    history.add(record_factory("r3", finished="2026-01-02T00:00:00Z", candidate_sha="1" * 64,
                               passed=False))
    assert [r.run_id for r in history.runs()] == ["r2", "r3", "r1"]
    assert [r.run_id for r in history.runs(limit=2)] == ["r2", "r3"]
    assert [r.run_id for r in history.runs(since="2026-01-02T00:00:00Z")] == ["r2", "r3"]
    assert [r.run_id for r in history.runs(candidate="1" * 64)] == ["r3", "r1"]
    assert [r.run_id for r in history.runs(candidate="/m/cand")] == ["r2", "r3", "r1"]
    assert [r.run_id for r in history.runs(candidate="nothing")] == []
    latest = history.runs()[1]
    assert (latest.passed, latest.complete, latest.candidate, latest.production) == \
        (False, True, "good", "production")
    assert latest.production_sha256 == "p" * 64 and latest.suite_hash == "h" * 64


def test_metric_series_is_chronological_with_thresholds(tmp_path, record_factory):
    history = History(tmp_path / "h.sqlite")
    for day, f1 in ((3, 0.9), (1, 0.7), (2, 0.8)):
        history.add(record_factory(f"r{day}", finished=f"2026-01-0{day}T00:00:00Z", f1=f1))
    series = history.metric_series("macro_f1", "macro_f1")
    assert [(p.run_id, p.value, p.threshold) for p in series] == \
        [("r1", 0.7, 0.7), ("r2", 0.8, 0.7), ("r3", 0.9, 0.7)]
    assert [p.run_id for p in history.metric_series("macro_f1", "macro_f1", limit=2)] == \
        ["r2", "r3"]
    assert history.metric_series("calibration", "brier")[0].value is None
    assert history.metric_series("macro_f1", "macro_f1", candidate="nothing") == []


def test_unknown_run_is_a_key_error(tmp_path):
    with pytest.raises(KeyError, match="no run 'nope'"):
        History(tmp_path / "h.sqlite").get("nope")


def test_version_1_database_migrates_without_losing_rows(tmp_path, record_factory):
    path = tmp_path / "old.sqlite"
    old = record_factory("old-run")
    with closing(sqlite3.connect(path)) as db:
        db.executescript(V1_DDL)
        db.execute("INSERT INTO runs VALUES (?, ?, ?, 1, 0, 'good', ?, NULL, NULL, ?, ?)",
                   (old.run_id, old.started, old.finished, "c" * 64, old.config_hash,
                    old.model_dump_json()))
        db.execute("INSERT INTO gate_results VALUES (?, 0, 't', 'macro_f1', 1, 'PASSED', '',"
                   " NULL, '{}', '{}')", (old.run_id,))
        db.execute("INSERT INTO gate_metrics VALUES (?, 0, 'macro_f1', 'macro_f1', 0.8, 0.7,"
                   " '>=')", (old.run_id,))
        db.commit()
    history = History(path)
    assert history.version == 2
    [summary] = history.runs()
    assert (summary.run_id, summary.candidate_sha256, summary.suite_hash) == \
        ("old-run", "c" * 64, None)
    assert history.get("old-run") == old
    assert [p.value for p in history.metric_series("macro_f1", "macro_f1")] == [0.8]
    assert history.add(record_factory("new-run", examples=3)) is True
    assert count(path, "runs") == 2 and count(path, "example_outcomes") == 3


def test_newer_database_is_refused_naming_the_file(tmp_path, record_factory):
    path = tmp_path / "future.sqlite"
    with closing(sqlite3.connect(path)) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(HistoryError, match=rf"^{path}: schema version 3 is newer"):
        History(path).add(record_factory())
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0


def test_concurrent_writers_lose_nothing(tmp_path, record_factory):
    """Four processes import different records into one new file at the same time."""
    records = []
    for n in range(40):
        record = record_factory(f"run-{n:02d}", examples=300)
        records.append(write_run_record(record, tmp_path / "records"))
    db = tmp_path / "shared.sqlite"
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=main, args=(["history", "import", "--db", str(db),
                                            *map(str, records[k::4])],))
        for k in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]
    assert count(db, "runs") == 40
    assert count(db, "example_outcomes") == 40 * 300
    assert count(db, "gate_results") == 80
    assert {r.run_id for r in History(db).runs()} == {f"run-{n:02d}" for n in range(40)}


def test_cli_import_rebuilds_a_history_and_reports_each_run(tmp_path, record_factory, capsys):
    paths = [write_run_record(record_factory(f"r{n}"), tmp_path) for n in range(2)]
    db = tmp_path / "h.sqlite"
    assert main(["history", "import", "--db", str(db), *map(str, paths)]) == 0
    assert main(["history", "import", "--db", str(db), str(paths[0])]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["added\tr0", "added\tr1", "present\tr0"]
    assert [r.run_id for r in History(db).runs()] == ["r1", "r0"]


def test_cli_import_refuses_a_bad_record_before_adding_any(tmp_path, record_factory, capsys):
    good = write_run_record(record_factory("r0"), tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    db = tmp_path / "h.sqlite"
    assert main(["history", "import", "--db", str(db), str(good), str(bad)]) == 2
    assert f"tunegate: {bad}:1: not JSON" in capsys.readouterr().err
    assert not db.exists() or History(db).runs() == []
