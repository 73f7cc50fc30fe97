"""The capability result cache: a rerun with unchanged model and tasks computes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tunegate.capability import DocOutcome, ResultCache, TaskResult, result_key
from tunegate.config import load_config
from tunegate.session import GateSession


def write_config(root: Path, tiny_base: Path, candidate: Path, task: str, **extra: str) -> Path:
    lines = [f'base = "{tiny_base}"', f'candidate = "{candidate}"', 'cache_dir = ".tunegate"',
             *(f"{key} = {value}" for key, value in extra.items()),
             "[task]", 'labels = ["billing", "other"]', "[data]", 'eval = "eval.jsonl"',
             "[capability]", f'tasks = ["{task}"]', 'include_path = "tasks"', "batch_size = 8"]
    path = root / "tunegate.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path, tiny_base: Path, billing_adapter: Path, tiny_task: Any,
            tiny_docs: list[dict[str, Any]]) -> Path:
    tiny_task.write(tmp_path / "tasks", tiny_docs)
    return write_config(tmp_path, tiny_base, billing_adapter, tiny_task.name)


def test_a_rerun_in_a_new_session_computes_nothing(project: Path, tiny_task: Any) -> None:
    first = GateSession(load_config(project))
    computed = {ref.name: first.capability(ref)[tiny_task.name]
                for ref in (first.base, first.candidate)}
    assert all(r.error is None and not r.cached for r in computed.values())
    files = sorted((project.parent / ".tunegate" / "capability").glob("*.json"))
    assert len(files) == 2

    again = GateSession(load_config(project))
    candidate = again.capability(again.candidate)[tiny_task.name]
    base = again.capability(again.base)[tiny_task.name]
    assert candidate.cached and base.cached
    assert candidate.docs == computed["candidate"].docs and base.docs == computed["base"].docs
    assert again.backend.inner._peft is None  # the adapter was never even attached
    assert sorted((project.parent / ".tunegate" / "capability").glob("*.json")) == files


def test_changed_task_data_is_recomputed(project: Path, tiny_task: Any,
                                         tiny_docs: list[dict[str, Any]]) -> None:
    session = GateSession(load_config(project))
    assert not session.capability(session.base)[tiny_task.name].cached
    tiny_task.write(project.parent / "tasks", tiny_docs[:5])
    fresh = GateSession(load_config(project)).capability(session.base)[tiny_task.name]
    assert not fresh.cached and len(fresh.docs) == 5


def test_use_cache_false_stores_nothing(tmp_path: Path, tiny_base: Path, billing_adapter: Path,
                                        tiny_task: Any, tiny_docs: list[dict[str, Any]]) -> None:
    tiny_task.write(tmp_path / "tasks", tiny_docs)
    config = write_config(tmp_path, tiny_base, billing_adapter, tiny_task.name,
                          use_cache="false")
    session = GateSession(load_config(config))
    assert session.capability(session.base)[tiny_task.name].error is None
    assert not (tmp_path / ".tunegate" / "capability").exists()


def outcome(n: int) -> TaskResult:
    docs = tuple(DocOutcome(f"t/{i}", f"h{i}", i % 2 == 0, "p", "a", "a") for i in range(n))
    return TaskResult("t", "acc", "model", docs, None, 1.5, False, "0.4.13", "hash",
                      {"limit": None})


def test_round_trip_and_what_is_never_stored(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path / "capability")
    key = result_key("model", "t", "hash", "0.4.13", {"limit": None})
    assert cache.get(key) is None
    cache.put(key, outcome(3))
    stored = cache.get(key)
    assert stored is not None and stored.cached
    assert stored.docs == outcome(3).docs and stored.accuracy == pytest.approx(2 / 3)
    cache.put("failed", TaskResult("t", "acc", "model", error="lm-eval failed: boom"))
    assert cache.get("failed") is None and len(cache) == 1


def test_unreadable_or_old_entries_are_recomputed(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path)
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "old.json").write_text(json.dumps({"schema_version": 0}), encoding="utf-8")
    assert cache.get("broken") is None and cache.get("old") is None


def test_the_key_changes_with_everything_that_decides_the_results() -> None:
    parts = ("model", "task", "hash", "0.4.13", {"limit": None})
    keys = {
        result_key(*parts),
        result_key("model+adapter", *parts[1:]),
        result_key("model", "other_task", *parts[2:]),
        result_key("model", "task", "other_hash", *parts[3:]),
        result_key("model", "task", "hash", "0.4.14", {"limit": None}),
        result_key("model", "task", "hash", "0.4.13", {"limit": 10}),
    }
    assert len(keys) == 6
    assert result_key(*parts) == result_key(*parts)
