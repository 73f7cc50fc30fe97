"""The lm-eval bridge on the tiny model: real lm-eval, a tiny local task, real adapters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tunegate.backends import ModelRef, ScoreRequest
from tunegate.capability import TaskResult, run_capability
from tunegate.config import CapabilityConfig

TASK = "tiny_routing"  # the conftest's tiny task


def run(backend: Any, ref: ModelRef, folder: Path, **changes: Any) -> dict[str, TaskResult]:
    settings = CapabilityConfig(**{"tasks": (TASK,), "batch_size": 8, **changes})
    return run_capability(backend, ref, settings, include_path=folder, cache=None)


def backend_answers(backend: Any, ref: ModelRef, docs: list[dict[str, Any]]) -> list[str]:
    """What tunegate's own scoring picks for each document (same model, same choices)."""
    requests = [ScoreRequest(tuple(f" {c}" for c in d["choices"]), prompt=d["context"])
                for d in docs]
    scores = backend.score(ref, requests)
    return [d["choices"][max(range(len(s.logprobs)), key=s.logprobs.__getitem__)]
            for d, s in zip(docs, scores, strict=True)]


def test_lm_eval_scores_the_loaded_model_as_the_backend_does(
    tiny_backend: Any, tiny_base: Path, billing_adapter: Path, task_folder: Path,
    tiny_docs: list[dict[str, Any]], tiny_task: Any,
) -> None:
    base = ModelRef("base", str(tiny_base))
    candidate = ModelRef("candidate", str(tiny_base), billing_adapter)
    base_result = run(tiny_backend, base, task_folder)[TASK]
    candidate_result = run(tiny_backend, candidate, task_folder)[TASK]
    assert base_result.error is None and candidate_result.error is None
    assert [d.key for d in base_result.docs] == [f"{TASK}/{i}" for i in range(tiny_task.docs)]
    # the same documents on both sides, so the gate can pair them
    assert [(d.key, d.doc_hash) for d in base_result.docs] == [
        (d.key, d.doc_hash) for d in candidate_result.docs]
    assert [d.answer for d in base_result.docs] == backend_answers(tiny_backend, base, tiny_docs)
    # the peft adapter was active inside lm-eval: it answers billing to everything
    assert {d.answer for d in candidate_result.docs} == {"billing"}
    assert {d.answer for d in base_result.docs} != {"billing"}
    for doc, source in zip(candidate_result.docs, tiny_docs, strict=True):
        assert doc.target == tiny_task.labels[source["label"]]
        assert doc.correct == (doc.answer == doc.target)
        assert doc.prompt == source["context"]
    assert candidate_result.model_fingerprint == tiny_backend.fingerprint(candidate)
    assert candidate_result.task_hash and candidate_result.lm_eval_version


def test_limit_evaluates_the_first_documents(
    tiny_backend: Any, tiny_base: Path, task_folder: Path
) -> None:
    [result] = run(tiny_backend, ModelRef("base", str(tiny_base)), task_folder, limit=3).values()
    assert [d.key for d in result.docs] == [f"{TASK}/0", f"{TASK}/1", f"{TASK}/2"]


def test_relative_data_files_resolve_against_the_yaml_not_the_cwd(
    tiny_backend: Any, tiny_base: Path, task_folder: Path, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path, tiny_docs: list[dict[str, Any]],
) -> None:
    monkeypatch.chdir(tmp_path)  # no data/ folder here
    [result] = run(tiny_backend, ModelRef("base", str(tiny_base)), task_folder).values()
    assert result.error is None and len(result.docs) == len(tiny_docs)


def test_an_unknown_task_is_an_error_result_not_an_exception(
    tiny_backend: Any, tiny_base: Path, task_folder: Path
) -> None:
    results = run(tiny_backend, ModelRef("base", str(tiny_base)), task_folder,
                  tasks=("no_such_task", TASK))
    assert "lm-eval knows no task 'no_such_task'" in (results["no_such_task"].error or "")
    assert results["no_such_task"].docs == ()
    assert results[TASK].error is None  # the other task still ran


def test_a_metric_the_task_does_not_report_is_an_error(
    tiny_backend: Any, tiny_base: Path, task_folder: Path
) -> None:
    [result] = run(tiny_backend, ModelRef("base", str(tiny_base)), task_folder,
                   metric="exact_match").values()
    assert result.error == (f"task {TASK!r} reports no per-document 'exact_match' "
                            "(its metrics: acc)")


def test_missing_data_and_broken_documents_are_error_results(
    tiny_backend: Any, tiny_base: Path, tmp_path: Path, tiny_docs: list[dict[str, Any]],
    tiny_task: Any,
) -> None:
    write_task = tiny_task.write
    base = ModelRef("base", str(tiny_base))
    missing = write_task(tmp_path / "missing", tiny_docs)
    (missing / "data" / f"{TASK}.jsonl").unlink()
    [result] = run(tiny_backend, base, missing).values()
    assert "data files not found" in (result.error or "")
    first_broken = write_task(tmp_path / "first", [{**tiny_docs[0], "label": 99}, *tiny_docs])
    [result] = run(tiny_backend, base, first_broken).values()
    assert result.error == f"lm-eval could not load task {TASK!r}: list index out of range"
    no_choices = {key: value for key, value in tiny_docs[0].items() if key != "choices"}
    last_broken = write_task(tmp_path / "last", [*tiny_docs, no_choices])
    [result] = run(tiny_backend, base, last_broken).values()
    assert result.error is not None and result.error.startswith("lm-eval failed: ")
    assert result.docs == ()


def test_a_non_transformers_backend_cannot_run_lm_eval(tiny_base: Path, task_folder: Path) -> None:
    [result] = run(object(), ModelRef("base", str(tiny_base)), task_folder).values()
    assert "transformers backend" in (result.error or "")


def test_the_task_hash_follows_the_task_content(
    tiny_backend: Any, tiny_base: Path, tmp_path: Path, tiny_docs: list[dict[str, Any]],
    tiny_task: Any,
) -> None:
    write_task = tiny_task.write
    base = ModelRef("base", str(tiny_base))
    first = run(tiny_backend, base, write_task(tmp_path / "a", tiny_docs), limit=1)[TASK]
    same = run(tiny_backend, base, write_task(tmp_path / "b", tiny_docs), limit=1)[TASK]
    other_data = run(tiny_backend, base, write_task(tmp_path / "c", tiny_docs[1:]), limit=1)[TASK]
    other_yaml = run(tiny_backend, base, write_task(tmp_path / "d", tiny_docs,
                                                    tiny_task.yaml + "num_fewshot: 0\n"), limit=1)
    assert first.task_hash == same.task_hash
    assert len({first.task_hash, other_data.task_hash, other_yaml[TASK].task_hash}) == 3
