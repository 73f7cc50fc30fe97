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


def test_a_backend_that_cannot_identify_a_model_is_an_error(tiny_base: Path,
                                                            task_folder: Path) -> None:
    [result] = run(object(), ModelRef("base", str(tiny_base)), task_folder).values()
    assert "no fingerprint" in (result.error or "")


class RequestsOnly:
    """The transformers backend seen through the backend protocol only (score, generate,
    fingerprint), as vLLM's or an OpenAI server's is: no model to hand to HFLM, so
    lm-eval runs through tunegate's requests. It computes with the real model."""

    def __init__(self, backend: Any):
        self.score, self.generate = backend.score, backend.generate
        self.fingerprint = backend.fingerprint


def test_through_the_backends_requests_lm_eval_gets_what_hflm_gets(
    tiny_backend: Any, tiny_base: Path, billing_adapter: Path, task_folder: Path,
) -> None:
    bridge = RequestsOnly(tiny_backend)
    assert not hasattr(bridge, "activate")
    for ref in (ModelRef("base", str(tiny_base)),
                ModelRef("candidate", str(tiny_base), billing_adapter)):
        hflm, ours = run(tiny_backend, ref, task_folder)[TASK], run(bridge, ref, task_folder)[TASK]
        assert ours.error is None, ours.error
        assert [(d.key, d.doc_hash, d.prompt, d.target, d.answer, d.correct)
                for d in ours.docs] == [(d.key, d.doc_hash, d.prompt, d.target, d.answer,
                                         d.correct) for d in hflm.docs]
        assert ours.model_fingerprint == hflm.model_fingerprint


GENERATE_YAML = """task: tiny_routing
dataset_path: json
dataset_kwargs:
  data_files:
    test: data/tiny_routing.jsonl
test_split: test
output_type: generate_until
doc_to_text: context
doc_to_target: "{{choices[label]}}"
generation_kwargs:
  until: ["\\n", "</s>"]
  max_gen_toks: 8
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
    regexes_to_ignore: [" "]
"""


def test_generate_until_tasks_run_through_the_backends_requests(
    tiny_backend: Any, tiny_base: Path, billing_adapter: Path, tmp_path: Path,
    tiny_docs: list[dict[str, Any]], tiny_task: Any,
) -> None:
    folder = tiny_task.write(tmp_path / "gen", tiny_docs, GENERATE_YAML)
    ref = ModelRef("candidate", str(tiny_base), billing_adapter)
    hflm = run(tiny_backend, ref, folder, metric="exact_match")[TASK]
    ours = run(RequestsOnly(tiny_backend), ref, folder, metric="exact_match")[TASK]
    assert hflm.error is None and ours.error is None, (hflm.error, ours.error)
    assert [(d.answer, d.correct) for d in ours.docs] == [(d.answer, d.correct)
                                                          for d in hflm.docs]
    assert {d.answer for d in ours.docs} == {" billing"}  # the generated text itself
    assert [d.correct for d in ours.docs] == [d.target == "billing" for d in ours.docs]


def test_a_task_the_requests_cannot_evaluate_is_refused_by_name(
    tiny_backend: Any, tiny_base: Path, tmp_path: Path, tiny_docs: list[dict[str, Any]],
    tiny_task: Any,
) -> None:
    yaml_text = tiny_task.yaml.replace("output_type: multiple_choice",
                                       "output_type: loglikelihood").replace(
        "doc_to_choice: choices\n", "").replace("doc_to_target: label",
                                                 'doc_to_target: "{{choices[label]}}"')
    folder = tiny_task.write(tmp_path / "ll", tiny_docs, yaml_text)
    [result] = run(RequestsOnly(tiny_backend), ModelRef("base", str(tiny_base)),
                   folder).values()
    assert result.error is not None
    assert "'tiny_routing' is a loglikelihood task" in result.error
    assert "RequestsOnly" in result.error and "transformers backend" in result.error
    assert result.docs == ()


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
