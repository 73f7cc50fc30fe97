"""The registry's SQLite file: schema, invariants and transactions.

The invariants live in the database itself, so no writer (ours or a hand-typed
``sqlite3`` session) can break them: registered adapters and stage events cannot be
updated or deleted, each event must start from the adapter's current stage, and at
most one adapter can be in production.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from tunegate.registry._errors import RegistryError

SCHEMA_VERSION = 1
BUSY_TIMEOUT_SECONDS = 60.0
STAGES = ("candidate", "shadow", "production", "retired")

_STAGE_LIST = ", ".join(f"'{stage}'" for stage in STAGES)
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS adapters (
    name TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    registered TEXT NOT NULL,
    source TEXT NOT NULL,
    lineage TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    adapter TEXT NOT NULL REFERENCES adapters(name),
    from_stage TEXT CHECK (from_stage IS NULL OR from_stage IN ({_STAGE_LIST})),
    to_stage TEXT NOT NULL CHECK (to_stage IN ({_STAGE_LIST})),
    actor TEXT NOT NULL,
    run_id TEXT,
    forced INTEGER NOT NULL CHECK (forced IN (0, 1)),
    reason TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '',
    CHECK (forced = 0 OR length(trim(reason)) > 0)
);
CREATE INDEX IF NOT EXISTS events_by_adapter ON events (adapter, seq);
CREATE VIEW IF NOT EXISTS stages AS
    SELECT e.adapter AS name, e.to_stage AS stage FROM events e
    WHERE e.seq = (SELECT max(seq) FROM events WHERE adapter = e.adapter);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'registry events are append-only: no UPDATE'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'registry events are append-only: no DELETE'); END;
CREATE TRIGGER IF NOT EXISTS adapters_no_update BEFORE UPDATE ON adapters
    BEGIN SELECT RAISE(ABORT, 'registered adapters are immutable: no UPDATE'); END;
CREATE TRIGGER IF NOT EXISTS adapters_no_delete BEFORE DELETE ON adapters
    BEGIN SELECT RAISE(ABORT, 'registered adapters are immutable: no DELETE'); END;
CREATE TRIGGER IF NOT EXISTS events_chain BEFORE INSERT ON events
    WHEN NEW.from_stage IS NOT
        (SELECT to_stage FROM events WHERE adapter = NEW.adapter ORDER BY seq DESC LIMIT 1)
    BEGIN SELECT RAISE(ABORT, 'event does not start from the adapter''s current stage'); END;
CREATE TRIGGER IF NOT EXISTS one_production AFTER INSERT ON events
    WHEN NEW.to_stage = 'production'
        AND (SELECT count(*) FROM stages WHERE stage = 'production') > 1
    BEGIN SELECT RAISE(ABORT, 'at most one adapter can be in production'); END;
"""


def _connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode: transactions are begun explicitly."""
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
    db.execute("PRAGMA foreign_keys = ON")
    return db


@contextmanager
def transaction(db: sqlite3.Connection, mode: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
    """``BEGIN <mode>`` … ``COMMIT``, rolled back on any error.

    Writers use IMMEDIATE: the write lock is taken before anything is read, so the
    state a transition checks cannot change before it is written.
    """
    db.execute(f"BEGIN {mode}")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _schema_version(db: sqlite3.Connection) -> str | None:
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None
        raise
    return None if row is None else str(row[0])


def _ensure_schema(db: sqlite3.Connection, path: Path) -> None:
    """Create the tables, view and triggers once (idempotent, safe for concurrent openers)."""
    version = _schema_version(db)
    if version is None:
        try:
            db.executescript(
                "BEGIN IMMEDIATE;" + _SCHEMA
                + f"INSERT OR IGNORE INTO meta VALUES ('schema_version', '{SCHEMA_VERSION}');"
                + "COMMIT;"
            )
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        version = _schema_version(db)
    if version != str(SCHEMA_VERSION):
        raise RegistryError(
            f"{path}: registry schema version {version}, this tunegate reads {SCHEMA_VERSION}"
        )


@contextmanager
def open_registry(path: Path, *, create: bool) -> Iterator[sqlite3.Connection | None]:
    """A connection to the registry file; None when it does not exist and ``create`` is off.

    Readers do not create a registry: asking an empty one for its adapters should not
    leave files behind.
    """
    if not path.is_file():
        if not create:
            yield None
            return
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        db = _connect(path)
    except sqlite3.Error as exc:
        raise RegistryError(f"{path}: cannot open the registry: {exc}") from None
    with closing(db):
        try:
            _ensure_schema(db, path)
        except sqlite3.DatabaseError as exc:
            raise RegistryError(f"{path}: not a usable registry database: {exc}") from None
        try:
            yield db
        except sqlite3.Error as exc:  # e.g. still locked after the busy timeout
            raise RegistryError(f"{path}: {exc}") from exc
