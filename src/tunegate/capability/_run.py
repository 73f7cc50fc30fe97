"""Run the configured capability tasks on one model reference, through the result cache.

On the transformers backend the model is the one it already holds: lm-eval's ``HFLM``
receives it as an instance (the base with its adapters disabled, or the peft model
with the candidate's adapter active), so nothing is loaded twice. Any other backend
(vLLM in-process, an OpenAI-compatible server) is driven through lm-eval's model
interface over the backend's own requests (``_backend_lm``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunegate.capability._cache import ResultCache, result_key
from tunegate.capability._lm_eval import TaskCatalog, evaluate_loaded, lm_eval_version
from tunegate.capability._results import CapabilityError, TaskResult

if TYPE_CHECKING:
    from tunegate.backends import ModelRef
    from tunegate.config import CapabilityConfig


def run_capability(
    backend: Any,
    ref: ModelRef,
    settings: CapabilityConfig,
    *,
    include_path: Path | None,
    cache: ResultCache | None,
    seed: int = 0,
    fingerprint: Callable[[ModelRef], str] | None = None,
) -> dict[str, TaskResult]:
    """Every configured task's per-document results on ``ref``, by task name.

    ``backend`` is the run's backend (not the response cache in front of it);
    ``fingerprint`` defaults to its own. A task that cannot
    be evaluated (unknown, lm-eval error, no right/wrong metric) comes back with
    ``error`` set rather than raising, so the gate can fail closed and say why; results
    are cached only when they have no error.
    """
    identify = fingerprint or getattr(backend, "fingerprint", None)
    if identify is None:
        reason = f"{type(backend).__name__} cannot identify a model (no fingerprint)"
        return {t: TaskResult(t, settings.metric, "", error=reason) for t in settings.tasks}
    model = identify(ref)
    catalog = TaskCatalog(include_path)
    evaluation = {"limit": settings.limit, "num_fewshot": settings.num_fewshot, "seed": seed,
                  "metric": settings.metric}
    results: dict[str, TaskResult] = {}
    lm: _LazyLM = _LazyLM(backend, ref, settings.batch_size)
    with lm:
        for task in settings.tasks:
            results[task] = _one_task(task, model, catalog, cache, lm, evaluation)
    return results


def _one_task(
    task: str, model: str, catalog: TaskCatalog, cache: ResultCache | None, lm: _LazyLM,
    evaluation: dict[str, Any],
) -> TaskResult:
    """One task's result: from the cache, else from lm-eval; errors become the result."""
    metric = str(evaluation["metric"])
    started = time.perf_counter()
    try:
        version = lm_eval_version()
        task_hash = catalog.content_hash(task)
        key = result_key(model, task, task_hash, version, evaluation)
        stored = cache.get(key) if cache is not None else None
        if stored is not None:
            return stored
        loaded = catalog.load(task)
        docs = evaluate_loaded(lm.get(loaded), loaded, metric, limit=evaluation["limit"],
                               num_fewshot=evaluation["num_fewshot"], seed=evaluation["seed"])
    except CapabilityError as exc:
        return TaskResult(task, metric, model, error=str(exc),
                          seconds=time.perf_counter() - started)
    result = TaskResult(task, metric, model, tuple(docs), None, time.perf_counter() - started,
                        False, version, task_hash, dict(evaluation))
    if cache is not None:
        cache.put(key, result)
    return result


class _LazyLM:
    """lm-eval's model computing as ``ref``, made on first use: ``HFLM`` over the
    transformers backend's model, else the bridge over the backend's requests.

    A run answered entirely from the cache never activates the model.
    """

    def __init__(self, backend: Any, ref: ModelRef, batch_size: int):
        self.backend, self.ref, self.batch_size = backend, ref, batch_size
        self._lm: Any = None
        self._active: Any = None

    def __enter__(self) -> _LazyLM:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._active is not None:
            self._active.__exit__(None, None, None)
            self._active = None

    def get(self, loaded: dict[str, Any]) -> Any:
        """The model for the loaded tasks (refused when the bridge cannot run them)."""
        if not hasattr(self.backend, "activate"):
            from tunegate.capability._backend_lm import backend_lm, check_output_types

            check_output_types(loaded, self.backend)
            if self._lm is None:
                self._lm = backend_lm(self.backend, self.ref)
            return self._lm
        if self._lm is None:
            from tunegate.capability._lm_eval import import_lm_eval

            lm_eval = import_lm_eval()
            self._active = self.backend.activate(self.ref)
            model = self._active.__enter__()
            self._lm = lm_eval.models.huggingface.HFLM(
                pretrained=model, tokenizer=self.backend.tokenizer,
                batch_size=self.batch_size, device=str(model.device),
            )
        return self._lm
