"""The bridge to lm-eval: find tasks, evaluate a loaded model, read per-document results.

lm-eval is imported inside the functions (``pip install 'tunegate[eval]'``). Local
tasks come from ``include_path`` with lm-eval's ``TaskManager(include_defaults=False)``,
which avoids indexing its thousands of built-in tasks; the built-in index is built only
when a configured task is not a local one (hellaswag, arc_easy, mmlu subsets).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tunegate.capability._results import CapabilityError, DocOutcome


def import_lm_eval() -> Any:
    """The lm_eval package, or an error that says how to install it."""
    try:
        import lm_eval
        import lm_eval.evaluator
        import lm_eval.models.huggingface
        import lm_eval.tasks
    except ImportError as exc:
        raise CapabilityError(
            f"the capability gate needs lm-eval ({exc.name} is missing): "
            "pip install 'tunegate[eval]'"
        ) from exc
    return lm_eval


def lm_eval_version() -> str:
    """The installed lm-eval's version (part of every cache key)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lm_eval")
    except PackageNotFoundError:
        raise CapabilityError("the capability gate needs lm-eval: "
                              "pip install 'tunegate[eval]'") from None


class TaskCatalog:
    """lm-eval tasks by name: local YAML tasks first, then lm-eval's built-in ones."""

    def __init__(self, include_path: Path | None):
        self.include_path = include_path
        self._managers: dict[bool, Any] = {}

    def _manager(self, defaults: bool) -> Any:
        if defaults not in self._managers:
            lm_eval = import_lm_eval()
            local = self.include_path if self.include_path and self.include_path.is_dir() else None
            self._managers[defaults] = lm_eval.tasks.TaskManager(
                include_path=str(local) if local else None, include_defaults=defaults
            )
        return self._managers[defaults]

    def _find(self, name: str) -> tuple[Any, Any]:
        """(task manager, index entry) of a task, group or tag name."""
        for defaults in (False, True):
            manager = self._manager(defaults)
            if name in manager.task_index:
                return manager, manager.task_index[name]
        where = f"{self.include_path} nor " if self.include_path else ""
        raise CapabilityError(f"lm-eval knows no task {name!r} (not in {where}lm-eval's tasks)")

    def content_hash(self, name: str) -> str:
        """A hash of the task's content: its YAML and its local data files.

        Built-in tasks are pinned by the lm-eval version, which the cache key also holds.
        """
        return self._resolve(name)[2]

    def load(self, name: str) -> dict[str, Any]:
        """lm-eval's loaded task dict (``tasks``, ``groups``) of a task, group or tag."""
        manager, spec, _ = self._resolve(name)
        try:
            loaded: dict[str, Any] = manager.load([spec])
        except Exception as exc:  # a broken YAML or dataset: the task cannot be evaluated
            raise CapabilityError(f"lm-eval could not load task {name!r}: {exc}") from exc
        if not loaded["tasks"]:
            raise CapabilityError(f"task {name!r} has no subtasks")
        return loaded

    def _resolve(self, name: str) -> tuple[Any, str | dict[str, Any], str]:
        """(task manager, what to load, content hash) of a task name.

        A local task's relative ``dataset_kwargs.data_files`` are resolved against its
        YAML's folder (lm-eval alone would resolve them against the working directory).
        """
        manager, entry = self._find(name)
        spec: str | dict[str, Any] = name
        digest = hashlib.sha256(name.encode() + b"\0")
        yaml_path = Path(entry.yaml_path) if entry.yaml_path else None
        if yaml_path is not None:
            digest.update(yaml_path.read_bytes())
            local = _local_spec(yaml_path)
            if local is not None:
                spec, data_files = local
                for path in data_files:
                    digest.update(b"\0" + path.read_bytes())
        return manager, spec, digest.hexdigest()


def _local_spec(yaml_path: Path) -> tuple[dict[str, Any], list[Path]] | None:
    """The config of a self-contained YAML task with data files made absolute.

    None when the YAML cannot be read safely (``!function``), includes another file, or
    names no relative data files: lm-eval then loads it by name, unchanged.
    """
    import yaml

    try:
        config = yaml.safe_load(yaml_path.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        return None
    files = (config or {}).get("dataset_kwargs", {}).get("data_files")
    if not isinstance(config, dict) or "include" in config or not isinstance(files, dict):
        return None
    resolved = {split: yaml_path.parent / str(p) for split, p in files.items()}
    if all(Path(str(p)).is_absolute() for p in files.values()):
        return None
    missing = [str(p) for p in resolved.values() if not p.is_file()]
    if missing:
        raise CapabilityError(f"{yaml_path}: data files not found: {', '.join(missing)}")
    config["dataset_kwargs"] = {
        **config["dataset_kwargs"], "data_files": {k: str(p) for k, p in resolved.items()}
    }
    return config, list(resolved.values())


def evaluate_loaded(
    lm: Any, loaded: dict[str, Any], metric: str, *, limit: int | None,
    num_fewshot: int | None, seed: int,
) -> list[DocOutcome]:
    """Run lm-eval on a loaded task dict and return every document's outcome.

    ``lm_eval.evaluator.evaluate`` rather than ``simple_evaluate``: the model is already
    loaded, and ``simple_evaluate`` also collects environment details and shells out
    to ``git`` for the results header, which a gate does not need.
    """
    lm_eval = import_lm_eval()
    for task in loaded["tasks"].values():
        if num_fewshot is not None:
            task.set_config(key="num_fewshot", value=num_fewshot)
        elif task.get_config("num_fewshot") is None:
            task.set_config(key="num_fewshot", value=0)
        task.set_fewshot_seed(seed=seed)
    try:
        results = lm_eval.evaluator.evaluate(
            lm=lm, task_dict=loaded, limit=limit, bootstrap_iters=0, log_samples=True
        )
    except Exception as exc:  # lm-eval failed on this task: report it, fail closed
        raise CapabilityError(f"lm-eval failed: {type(exc).__name__}: {exc}") from exc
    outcomes: list[DocOutcome] = []
    for name, task in sorted(loaded["tasks"].items()):
        samples = results.get("samples", {}).get(name, [])
        multiple_choice = task.OUTPUT_TYPE == "multiple_choice"
        outcomes += [_outcome(name, s, metric, multiple_choice) for s in samples]
    return outcomes


def _outcome(task: str, sample: dict[str, Any], metric: str, multiple_choice: bool) -> DocOutcome:
    """One logged sample as a right/wrong outcome with the prompt and both answers."""
    if metric not in sample:
        shown = ", ".join(sample.get("metrics", [])) or "none"
        raise CapabilityError(f"task {task!r} reports no per-document {metric!r} "
                              f"(its metrics: {shown})")
    value = float(sample[metric])
    if value not in (0.0, 1.0):
        raise CapabilityError(f"task {task!r}: {metric} = {value} on document "
                              f"{sample['doc_id']}; the gate needs right/wrong (0 or 1) values")
    arguments: Sequence[Any] = sample.get("arguments", ())
    prompt = str(arguments[0][0]) if arguments else ""
    responses = sample.get("filtered_resps", "")
    if isinstance(responses, list) and len(responses) == 1 and isinstance(responses[0], str):
        responses = responses[0]  # a generate_until task's one generation
    target, answer = str(sample.get("target", "")), str(responses)
    if multiple_choice and arguments:
        choices = [str(a[1]).strip() for a in arguments]
        scores = [float(r[0]) for r in sample["filtered_resps"]]
        answer = choices[max(range(len(scores)), key=lambda i: _finite(scores[i]))]
        if isinstance(sample.get("target"), int) and 0 <= sample["target"] < len(choices):
            target = choices[sample["target"]]
    return DocOutcome(f"{task}/{sample['doc_id']}", str(sample.get("doc_hash", "")),
                      value == 1.0, prompt, target, answer)


def _finite(score: float) -> float:
    return score if math.isfinite(score) else -math.inf
