"""Registration, lineage, the content-addressed copy, and the append-only event log."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tunegate.backends._fingerprint import folder_fingerprint
from tunegate.config import ConfigError
from tunegate.registry import (
    NameConflictError,
    RegistryError,
    TransitionError,
    UnknownAdapterError,
)
from tunegate.session import GateSession

STORE_LINEAGE = {  # what tunegate.training._store writes beside a trained adapter
    "lineage_version": 1, "name": "good", "key": "k" * 64, "base": "/models/tiny",
    "base_fingerprint": "b" * 64, "data_sha256": "d" * 64, "data_source": "good",
    "examples": 128, "training": {"r": 8, "alpha": 16, "seed": 0, "max_steps": 30},
    "outcome": {"seconds": 1.5, "steps": 30, "final_loss": 0.4},
    "created": "2026-05-01T09:00:00Z", "environment": {"torch": "2.13.0"},
}


def test_register_copies_the_content_by_hash(project) -> None:
    source = project.adapter("a", b"weights-a", STORE_LINEAGE)
    done = project.registry.register(source, "ticket-router")
    sha = folder_fingerprint(source)
    assert done.created
    assert done.adapter.sha256 == sha and done.adapter.stage == "candidate"
    copy = project.report_dir / "registry" / "adapters" / sha
    assert done.adapter.folder == copy
    assert (copy / "adapter_model.safetensors").read_bytes() == b"weights-a"
    assert (copy / "lineage.json").is_file()  # the backend checks the base against it
    assert folder_fingerprint(copy) == sha
    assert all(path.stat().st_mode & 0o222 == 0 for path in copy.iterdir())  # read-only
    assert copy.stat().st_mode & 0o777 == 0o755
    assert not [p for p in copy.parent.iterdir() if p.name.startswith(".")]  # no scratch left


def test_the_copy_outlives_the_original(project) -> None:
    source = project.adapter("a", b"weights-a")
    project.registry.register(source, "router")
    for path in source.iterdir():
        path.unlink()
    adapter = project.registry.get("router")
    assert project.registry.adapter_folder(adapter) == adapter.folder


def test_registering_the_same_content_again_is_a_no_op(project) -> None:
    source = project.adapter("a", b"weights-a")
    first = project.registry.register(source, "router")
    again = project.registry.register(source, "router")
    assert not again.created and again.adapter == first.adapter
    assert [e.to_stage for e in project.registry.events("router")] == ["candidate"]


def test_a_name_is_an_immutable_handle(project) -> None:
    project.registry.register(project.adapter("a", b"weights-a"), "router")
    with pytest.raises(NameConflictError, match="'router' is already registered with other"):
        project.registry.register(project.adapter("b", b"weights-b"), "router")
    with pytest.raises(NameConflictError, match="already registered as 'router'"):
        project.registry.register(project.adapter("a-again", b"weights-a"), "router-2")
    assert [a.name for a in project.registry.adapters()] == ["router"]


def test_lineage_comes_from_lineage_json(project) -> None:
    project.registry.register(project.adapter("a", b"weights-a", STORE_LINEAGE), "router")
    lineage = project.registry.get("router").lineage
    assert lineage.from_lineage_file
    assert lineage.base == "/models/tiny" and lineage.base_fingerprint == "b" * 64
    assert lineage.data_sha256 == "d" * 64 and lineage.data_source == "good"
    assert lineage.training == STORE_LINEAGE["training"] and lineage.examples == 128
    assert lineage.training_key == "k" * 64


def test_missing_lineage_is_recorded_as_unknown(project) -> None:
    project.registry.register(project.adapter("a", b"weights-a"), "router")
    lineage = project.registry.get("router").lineage
    assert not lineage.from_lineage_file
    assert lineage.base == "tiny-llama"  # from adapter_config.json
    assert lineage.base_fingerprint is None and lineage.data_sha256 is None
    assert lineage.training is None


def test_a_broken_lineage_file_is_named(project) -> None:
    source = project.adapter("a", b"weights-a")
    (source / "lineage.json").write_text('{"examples": "many"}')
    with pytest.raises(RegistryError, match=r"lineage.json: examples: "):
        project.registry.register(source, "router")
    (source / "lineage.json").write_text("{not json")
    with pytest.raises(RegistryError, match=r"lineage.json: unreadable"):
        project.registry.register(source, "router")


def test_a_folder_without_adapter_config_is_refused(project, tmp_path: Path) -> None:
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "model.bin").write_bytes(b"x")
    with pytest.raises(RegistryError, match="not a peft adapter folder"):
        project.registry.register(tmp_path / "weights", "router")
    with pytest.raises(RegistryError, match="not a folder"):
        project.registry.register(tmp_path / "missing", "router")


def test_reading_an_absent_registry_creates_nothing(project) -> None:
    registry = project.registry
    assert registry.adapters() == [] and registry.production() is None
    with pytest.raises(UnknownAdapterError, match="no adapter named 'x'"):
        registry.get("x")
    assert not registry.root.exists()


def test_production_retires_the_previous_one_in_the_same_step(project) -> None:
    registry = project.registry
    for name in ("a", "b"):
        registry.register(project.adapter(name, name.encode()), name)
    registry.transition("a", "shadow")
    registry.transition("a", "production", run_id="run-a")
    events = registry.transition("b", "production", run_id="run-b")
    assert [(e.adapter, e.from_stage, e.to_stage) for e in events] == [
        ("a", "production", "retired"), ("b", "candidate", "production")]
    assert events[0].detail == "replaced by b" and events[1].run_id == "run-b"
    assert registry.production().name == "b"  # type: ignore[union-attr]
    assert registry.get("a").stage == "retired"
    assert registry.transition("b", "production") == []  # already there: nothing written
    with pytest.raises(TransitionError, match=r"'b' is in production: .* demotion"):
        registry.transition("b", "shadow")
    registry.transition("a", "production")  # a rollback is a promotion of a retired adapter
    assert registry.production().name == "a"  # type: ignore[union-attr]


def test_events_are_append_only_in_the_database_itself(project) -> None:
    project.registry.register(project.adapter("a", b"a"), "a")
    project.registry.transition("a", "production", forced=True, reason="hotfix")
    db = sqlite3.connect(project.registry.db_path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only: no UPDATE"):
        db.execute("UPDATE events SET forced = 0, reason = ''")
    with pytest.raises(sqlite3.IntegrityError, match="append-only: no DELETE"):
        db.execute("DELETE FROM events")
    with pytest.raises(sqlite3.IntegrityError, match="immutable: no UPDATE"):
        db.execute("UPDATE adapters SET sha256 = 'x'")
    with pytest.raises(sqlite3.IntegrityError, match="immutable: no DELETE"):
        db.execute("DELETE FROM adapters")
    with pytest.raises(sqlite3.IntegrityError, match="current stage"):  # must chain
        db.execute("INSERT INTO events (at, adapter, from_stage, to_stage, actor, forced)"
                   " VALUES ('t', 'a', 'candidate', 'shadow', 'me', 0)")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):  # forced needs a reason
        db.execute("INSERT INTO events (at, adapter, from_stage, to_stage, actor, forced)"
                   " VALUES ('t', 'a', 'production', 'retired', 'me', 1)")
    db.close()
    assert [(e.to_stage, e.forced, e.reason) for e in project.registry.events("a")] == [
        ("candidate", False, ""), ("production", True, "hotfix")]


def test_at_most_one_production_even_for_raw_writers(project) -> None:
    for name in ("a", "b"):
        project.registry.register(project.adapter(name, name.encode()), name)
    project.registry.transition("a", "production")
    db = sqlite3.connect(project.registry.db_path)
    with pytest.raises(sqlite3.IntegrityError, match="at most one adapter"):
        db.execute("INSERT INTO events (at, adapter, from_stage, to_stage, actor, forced)"
                   " VALUES ('t', 'b', 'candidate', 'production', 'me', 0)")
    db.close()


def test_actor_comes_from_the_environment(project, monkeypatch) -> None:
    monkeypatch.setenv("TUNEGATE_ACTOR", "ci-bot")
    project.registry.register(project.adapter("a", b"a"), "a")
    assert project.registry.events("a")[0].actor == "ci-bot"


def test_an_unusable_registry_file_is_named(project) -> None:
    registry = project.registry
    registry.root.mkdir(parents=True)
    registry.db_path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(RegistryError, match=r"registry\.sqlite: not a usable registry"):
        registry.adapters()


# -- the registry as a reference of a gate session ---------------------------------


def test_production_registry_resolves_to_the_registered_copy(project) -> None:
    source = project.adapter("a", b"weights-a")
    project.registry.register(source, "router")
    config = project.config.with_overrides(production="registry")  # as --tg-production does
    with pytest.raises(ConfigError, match="production: 'registry': no adapter is in production"):
        _ = GateSession(config).production
    project.registry.transition("router", "production", forced=True, reason="first release")
    ref = GateSession(config).production
    assert ref is not None and ref.name == "production"
    assert ref.adapter == project.report_dir / "registry" / "adapters" / folder_fingerprint(source)
    assert ref.base == str(project.root / "base-model")


def test_registry_name_spec_and_the_configured_folder(project) -> None:
    project.config_path.write_text(project.config_path.read_text().replace(
        'report_dir = "reports"', 'report_dir = "reports"\nregistry = "shared/registry"'))
    project.registry.register(project.adapter("a", b"weights-a"), "router")
    assert project.registry.root == project.root / "shared" / "registry"
    session = GateSession(project.config.with_overrides(candidate="registry:router"))
    assert session.candidate.adapter == project.registry.get("router").folder
    with pytest.raises(ConfigError, match="candidate: no adapter named 'nope'"):
        _ = GateSession(project.config.with_overrides(candidate="registry:nope")).candidate
    with pytest.raises(ConfigError, match=r"candidate: invalid adapter name '\.\./x'"):
        _ = GateSession(project.config.with_overrides(candidate="registry:../x")).candidate


def test_a_modified_copy_is_not_handed_back(project) -> None:
    project.registry.register(project.adapter("a", b"weights-a"), "router")
    project.registry.transition("router", "production", forced=True, reason="first release")
    weights = project.registry.get("router").folder / "adapter_model.safetensors"
    weights.chmod(0o644)
    weights.write_bytes(b"tampered")
    config = project.config.with_overrides(production="registry")
    with pytest.raises(ConfigError, match="copy of 'router' was modified"):
        _ = GateSession(config).production


def test_the_public_surface() -> None:
    import tunegate.registry as registry

    assert sorted(registry.__all__) == sorted([
        "REGISTRY_SPEC", "AdapterRuns", "InvalidNameError", "Lineage", "NameConflictError",
        "Promotion", "PromotionCheck", "PromotionRefused", "RecordProblem", "RegisteredAdapter",
        "Registration", "Registry", "RegistryError", "Stage", "StageEvent", "TransitionError",
        "UnknownAdapterError", "adapter_details", "adapter_table", "check_promotion",
        "current_actor", "current_suite_hash", "promote", "read_lineage",
        "registry_dir", "resolve_registry_spec", "run_blockers", "runs_of_adapter",
        "validate_name",
    ])
    assert all(hasattr(registry, name) for name in registry.__all__)
