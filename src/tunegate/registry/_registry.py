"""The adapter registry: named, content-addressed adapters and their stage history.

A registry is a folder: ``registry.sqlite`` (adapters, append-only stage events) and
``adapters/<sha256>/``, a read-only copy of each registered adapter, so the registry
hands back exactly the bytes that were registered and gated, wherever the original
folder went. An adapter's stage is never stored: it is the last event's to-stage.
"""

from __future__ import annotations

import getpass
import os
import shutil
import sqlite3
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

from tunegate.backends._fingerprint import folder_fingerprint
from tunegate.config import ConfigError
from tunegate.registry._db import open_registry, transaction
from tunegate.registry._errors import (
    NameConflictError,
    RegistryError,
    TransitionError,
    UnknownAdapterError,
)
from tunegate.registry._lineage import Lineage, read_lineage
from tunegate.registry._names import validate_name

if TYPE_CHECKING:
    from tunegate.config import GateConfig

REGISTRY_SPEC = "registry"  # the reference spec that means: production, per the registry
Stage = Literal["candidate", "shadow", "production", "retired"]
# Which stages an adapter may be promoted from; anything else is a demotion or a no-op.
PROMOTABLE_FROM: dict[str, tuple[str, ...]] = {
    "shadow": ("candidate", "retired"),
    "production": ("candidate", "shadow", "retired"),
}


@dataclass(frozen=True)
class StageEvent:
    """One stage transition, as recorded (never changed afterwards)."""

    seq: int
    at: str
    adapter: str
    from_stage: Stage | None
    to_stage: Stage
    actor: str
    run_id: str | None
    forced: bool
    reason: str
    detail: str


@dataclass(frozen=True)
class RegisteredAdapter:
    """A registered adapter: its name, content, copy, lineage and current stage."""

    name: str
    sha256: str
    folder: Path  # the registry's content-addressed copy
    registered: str
    source: str  # the folder it was registered from
    lineage: Lineage
    stage: Stage


@dataclass(frozen=True)
class Registration:
    adapter: RegisteredAdapter
    created: bool  # False: the same content was already registered under this name


def now() -> str:
    """UTC timestamp with milliseconds: events a few ms apart still read in order."""
    stamp = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(stamp)) + f".{int(stamp % 1 * 1000):03d}Z"


def current_actor() -> str:
    """Who is acting: $TUNEGATE_ACTOR (for CI), else the login name."""
    actor = os.environ.get("TUNEGATE_ACTOR", "").strip()
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in some containers
        return "unknown"


def registry_dir(config: GateConfig) -> Path:
    """The configured registry folder: ``registry``, else ``<report_dir>/registry``."""
    if config.registry is not None:
        return config.resolve(config.registry)
    return config.resolve(config.report_dir) / "registry"


class Registry:
    """The registry in one folder; every call opens, uses and closes the database."""

    def __init__(self, root: Path):
        self.root = root
        self.db_path = root / "registry.sqlite"

    @classmethod
    def for_config(cls, config: GateConfig) -> Registry:
        return cls(registry_dir(config))

    def __repr__(self) -> str:
        return f"Registry({str(self.root)!r})"

    def __str__(self) -> str:
        return str(self.root)

    # -- reading ----------------------------------------------------------------------

    def get(self, name: str) -> RegisteredAdapter:
        """The adapter registered under ``name``, with its current stage."""
        validate_name(name)
        with open_registry(self.db_path, create=False) as db:
            found = None if db is None else self._adapter(db, name)
        if found is None:
            raise UnknownAdapterError(name, self.root)
        return found

    def adapters(self) -> list[RegisteredAdapter]:
        """Every registered adapter, in registration order."""
        with open_registry(self.db_path, create=False) as db:
            if db is None:
                return []
            with transaction(db, "DEFERRED"):
                names = [row[0] for row in db.execute(
                    "SELECT name FROM adapters ORDER BY registered, name")]
                return [cast(RegisteredAdapter, self._adapter(db, name)) for name in names]

    def events(self, name: str | None = None) -> list[StageEvent]:
        """The stage events of one adapter (or of all), oldest first."""
        if name is not None:
            self.get(name)
        with open_registry(self.db_path, create=False) as db:
            if db is None:
                return []
            query = "SELECT * FROM events" + (" WHERE adapter = ?" if name else "")
            rows = db.execute(query + " ORDER BY seq", (name,) if name else ()).fetchall()
        return [_event(row) for row in rows]

    def production(self) -> RegisteredAdapter | None:
        """The adapter in production, if any."""
        with open_registry(self.db_path, create=False) as db:
            if db is None:
                return None
            row = db.execute("SELECT name FROM stages WHERE stage = 'production'").fetchone()
            return None if row is None else self._adapter(db, row[0])

    def adapter_folder(self, adapter: RegisteredAdapter) -> Path:
        """The registered copy of ``adapter``, checked to still hold the registered bytes."""
        if not adapter.folder.is_dir():
            raise RegistryError(f"{adapter.folder}: the registered copy of {adapter.name!r} "
                                "is missing")
        found = folder_fingerprint(adapter.folder)
        if found != adapter.sha256:
            raise RegistryError(
                f"{adapter.folder}: the registered copy of {adapter.name!r} was modified "
                f"(sha256 {found}, registered {adapter.sha256})"
            )
        return adapter.folder

    def _adapter(self, db: sqlite3.Connection, name: str) -> RegisteredAdapter | None:
        row = db.execute(
            "SELECT a.name, a.sha256, a.registered, a.source, a.lineage, s.stage "
            "FROM adapters a JOIN stages s ON s.name = a.name WHERE a.name = ?", (name,)
        ).fetchone()
        if row is None:
            return None
        return RegisteredAdapter(
            name=row[0], sha256=row[1], folder=self._copy_of(row[1]), registered=row[2],
            source=row[3], lineage=Lineage.model_validate_json(row[4]), stage=row[5],
        )

    def _copy_of(self, sha256: str) -> Path:
        return self.root / "adapters" / sha256

    # -- writing ----------------------------------------------------------------------

    def register(self, path: Path, name: str, *, actor: str | None = None) -> Registration:
        """Register the adapter folder ``path`` under ``name``, as a candidate.

        Names are immutable handles: other content under a taken name, or this content
        under a second name, is refused; the same content under the same name again is
        a no-op. The files are copied into the registry before the name is recorded.
        """
        validate_name(name)
        folder = _adapter_source(path)
        sha256 = folder_fingerprint(folder)
        lineage = read_lineage(folder, sha256)
        with open_registry(self.db_path, create=False) as db:
            existing = None if db is None else self._registered_as(db, name, sha256)
        if existing is not None:
            return Registration(existing, created=False)
        self._store_copy(folder, sha256)
        with open_registry(self.db_path, create=True) as db:
            assert db is not None
            with transaction(db):
                existing = self._registered_as(db, name, sha256)
                if existing is not None:
                    return Registration(existing, created=False)
                at = now()
                db.execute("INSERT INTO adapters VALUES (?, ?, ?, ?, ?)",
                           (name, sha256, at, str(folder.resolve()), lineage.model_dump_json()))
                _insert_event(db, at, name, None, "candidate", actor or current_actor(),
                              detail="registered")
                adapter = self._adapter(db, name)
        return Registration(cast(RegisteredAdapter, adapter), created=True)

    def transition(
        self, name: str, to: Stage, *, run_id: str | None = None, forced: bool = False,
        reason: str = "", detail: str = "", actor: str | None = None,
    ) -> list[StageEvent]:
        """Move ``name`` to ``to`` in one transaction and return the events written.

        The stage is read inside the write transaction, so concurrent transitions
        serialise. Promoting to production first retires the adapter in production (an
        event too). Already in ``to``: nothing is written. Demotions are refused.
        """
        validate_name(name)
        if to not in PROMOTABLE_FROM:
            raise TransitionError(f"cannot promote to {to!r}: the stages to promote to are "
                                  f"{', '.join(PROMOTABLE_FROM)}")
        if forced and not reason.strip():
            raise RegistryError(f"forcing {name!r} to {to} needs a reason")
        actor = actor or current_actor()
        with open_registry(self.db_path, create=False) as db:
            if db is None:
                raise UnknownAdapterError(name, self.root)
            with transaction(db):
                adapter = self._adapter(db, name)
                if adapter is None:
                    raise UnknownAdapterError(name, self.root)
                if adapter.stage == to:
                    return []
                if adapter.stage not in PROMOTABLE_FROM[to]:
                    raise TransitionError(f"{name!r} is in {adapter.stage}: promoting it to "
                                          f"{to} would be a demotion")
                last = db.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
                at = now()
                if to == "production":
                    for (old,) in db.execute(
                            "SELECT name FROM stages WHERE stage = 'production'").fetchall():
                        _insert_event(db, at, old, "production", "retired", actor,
                                      run_id=run_id, detail=f"replaced by {name}")
                _insert_event(db, at, name, adapter.stage, to, actor, run_id=run_id,
                              forced=forced, reason=reason, detail=detail)
                rows = db.execute(f"SELECT {_EVENT_COLUMNS} FROM events WHERE seq > ? "
                                  "ORDER BY seq", (last,)).fetchall()
        return [_event(row) for row in rows]

    def _registered_as(
        self, db: sqlite3.Connection, name: str, sha256: str
    ) -> RegisteredAdapter | None:
        """The adapter when ``name`` already holds ``sha256``; an error on a conflict."""
        existing = self._adapter(db, name)
        if existing is not None:
            if existing.sha256 != sha256:
                raise NameConflictError(
                    f"{name!r} is already registered with other content (sha256 "
                    f"{existing.sha256}, this folder {sha256}); names are immutable: "
                    "register the new adapter under a new name"
                )
            return existing
        row = db.execute("SELECT name FROM adapters WHERE sha256 = ?", (sha256,)).fetchone()
        if row is not None:
            raise NameConflictError(
                f"this adapter content (sha256 {sha256}) is already registered as {row[0]!r}"
            )
        return None

    def _store_copy(self, folder: Path, sha256: str) -> Path:
        """Copy the adapter's files to ``adapters/<sha256>/``: a temp folder, then rename.

        The copy is read-only and checked against ``sha256``, so a folder that changes
        while it is registered is refused rather than half-copied.
        """
        target = self._copy_of(sha256)
        if target.is_dir():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{sha256[:12]}-", dir=target.parent))
        try:
            for source in sorted(folder.iterdir()):
                if source.is_file() and not source.name.startswith("."):
                    shutil.copyfile(source, scratch / source.name)
                    (scratch / source.name).chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
            scratch.chmod(0o755)  # mkdtemp's folder is private; the copy is for every reader
            copied = folder_fingerprint(scratch)
            if copied != sha256:
                raise RegistryError(f"{folder}: changed while it was being registered "
                                    f"(sha256 {sha256} before, {copied} after copying)")
            try:
                os.rename(scratch, target)
            except OSError:  # another process stored the same content first
                if not target.is_dir():
                    raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return target


_EVENT_COLUMNS = "seq, at, adapter, from_stage, to_stage, actor, run_id, forced, reason, detail"


def _event(row: tuple[object, ...]) -> StageEvent:
    seq, at, adapter, from_stage, to_stage, actor, run_id, forced, reason, detail = row
    return StageEvent(
        seq=cast(int, seq), at=cast(str, at), adapter=cast(str, adapter),
        from_stage=cast("Stage | None", from_stage), to_stage=cast(Stage, to_stage),
        actor=cast(str, actor), run_id=cast("str | None", run_id), forced=bool(forced),
        reason=cast(str, reason), detail=cast(str, detail),
    )


def _insert_event(
    db: sqlite3.Connection, at: str, adapter: str, from_stage: str | None, to_stage: str,
    actor: str, *, run_id: str | None = None, forced: bool = False, reason: str = "",
    detail: str = "",
) -> None:
    db.execute(
        "INSERT INTO events (at, adapter, from_stage, to_stage, actor, run_id, forced, reason,"
        " detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (at, adapter, from_stage, to_stage, actor, run_id, int(forced), reason, detail),
    )


def _adapter_source(path: Path) -> Path:
    """``path`` when it is a peft adapter folder; else an error naming it."""
    if not path.is_dir():
        raise RegistryError(f"{path}: not a folder")
    if not (path / "adapter_config.json").is_file():
        raise RegistryError(f"{path}: not a peft adapter folder (no adapter_config.json)")
    return path


def resolve_registry_spec(config: GateConfig, spec: str, where: str, *, main_task: bool) -> Path:
    """The adapter folder that ``registry`` (production) or ``registry:NAME`` stands for.

    Errors are configuration errors located at ``where`` (``production``, say): the
    gate cannot run against a reference the registry cannot provide.
    """
    registry = Registry.for_config(config)
    try:
        if spec == REGISTRY_SPEC:
            if not main_task:
                raise ConfigError(config.source, None, where, "'registry' names the main "
                                  "task's production adapter; use 'registry:NAME' here")
            adapter = registry.production()
            if adapter is None:
                raise ConfigError(
                    config.source, None, where,
                    f"'registry': no adapter is in production in the registry at {registry} "
                    "(promote one: tunegate promote NAME --to production)",
                )
        else:
            adapter = registry.get(spec.removeprefix(REGISTRY_SPEC + ":"))
        return registry.adapter_folder(adapter)
    except RegistryError as exc:
        raise ConfigError(config.source, None, where, str(exc)) from None

