"""A gate session: the configuration made concrete, loaded lazily, once.

The pytest plugin and the CLI are thin wrappers around this object: everything a
suite gets from a fixture, a library user gets from a ``GateSession``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from tunegate.backends._cache import CachedBackend, ResponseCache
from tunegate.backends._protocol import ModelRef
from tunegate.config import ConfigError, GateConfig
from tunegate.data import Example, load_examples
from tunegate.gates import GateResult
from tunegate.tasks import ClassificationTask, Predictions
from tunegate.training import AdapterStore, TrainingConfig, TrainingItem

SPLITS = ("train", "eval", "golden", "ood")
EXAMPLE_BASE = "example"


class GateSession:
    """Config, backend, datasets, references and gate results of one gate run."""

    def __init__(self, config: GateConfig):
        self.config = config
        self.results: list[tuple[str, GateResult]] = []
        self._datasets: dict[str, list[Example]] = {}
        self._predictions: dict[tuple[str, str, str], Predictions] = {}
        self.record_path: Path | None = None
        self.started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    # -- models ---------------------------------------------------------------------

    @cached_property
    def cache_dir(self) -> Path:
        return self.config.resolve(self.config.cache_dir)

    @cached_property
    def base_path(self) -> str:
        """The base model folder (built for the example) or hub id."""
        if self.config.base == EXAMPLE_BASE:
            from tunegate.example.base_model import example_base

            return str(example_base(self.cache_dir))
        local = self.config.resolve(Path(self.config.base))
        return str(local) if local.exists() else self.config.base

    @cached_property
    def backend(self) -> CachedBackend:
        """The transformers+peft backend behind the response cache (unless disabled)."""
        from tunegate.backends.transformers_backend import TransformersBackend

        inner = TransformersBackend(self.base_path, self.config.backend)
        cache = None
        if self.config.use_cache:
            cache = ResponseCache(self.cache_dir / "responses.sqlite")
        return CachedBackend(inner, cache)

    @cached_property
    def adapters(self) -> AdapterStore:
        return AdapterStore(self.cache_dir / "adapters")

    @cached_property
    def task(self) -> ClassificationTask:
        return ClassificationTask(self.config.task)

    # -- data -----------------------------------------------------------------------

    def dataset(self, split: str) -> list[Example]:
        """The examples of a configured split, loaded and validated once."""
        if split not in SPLITS:
            raise KeyError(f"unknown split {split!r}; splits: {', '.join(SPLITS)}")
        if split not in self._datasets:
            path = getattr(self.config.data, split)
            if path is None:
                raise ConfigError(self.config.source, None, f"data.{split}", "not configured")
            self._datasets[split] = load_examples(self.config.resolve(path))
        return self._datasets[split]

    # -- references -----------------------------------------------------------------

    @cached_property
    def base(self) -> ModelRef:
        return ModelRef("base", self.base_path)

    @cached_property
    def production(self) -> ModelRef | None:
        spec = self.config.production
        return None if spec in (None, "none") else self.resolve("production", spec)

    @cached_property
    def candidate(self) -> ModelRef:
        return self.resolve("candidate", self.config.candidate)

    @property
    def reference(self) -> ModelRef:
        """What the candidate must not regress from: production, else the base."""
        return self.production or self.base

    def resolve(self, role: str, spec: str) -> ModelRef:
        """An adapter folder, ``base``, or the name of an example variant."""
        if spec == "base":
            return ModelRef(role, self.base_path)
        folder = self.config.resolve(Path(spec))
        if folder.is_dir():
            return ModelRef(role, self.base_path, folder)
        from tunegate.example.variants import get_variant, variant_names

        if spec not in variant_names():
            raise ConfigError(
                self.config.source, None, role,
                f"{spec!r} is neither an adapter folder nor an example variant "
                f"({', '.join(variant_names())})",
            )
        variant = get_variant(spec)
        return self.finetune(
            role, transform=variant.transform, training=variant.training, data_name=spec
        )

    def finetune(
        self,
        name: str,
        examples: Sequence[Example] | None = None,
        *,
        transform: Callable[[Sequence[Example], int], list[Example]] | None = None,
        training: TrainingConfig | dict[str, Any] | None = None,
        data_name: str | None = None,
    ) -> ModelRef:
        """The adapter trained on ``examples`` (default: the train split) with this config.

        ``training`` is a full config or overrides of the configured one; the session
        seed is the training seed unless the overrides set one. Trained once, cached.
        """
        if isinstance(training, TrainingConfig):
            config = training
        else:
            knobs = {"seed": self.config.seed, **(training or {})}
            config = TrainingConfig.model_validate({**self.config.training.model_dump(), **knobs})
        data = list(examples if examples is not None else self.dataset("train"))
        if transform is not None:
            data = transform(data, config.seed)
        items = [
            TrainingItem(e.messages, self.task.prompt_of(e), self.task.training_answer(e))
            for e in data
        ]
        fingerprint = self.backend.fingerprint(self.base)
        folder = self.adapters.get_or_train(
            self.base_path, fingerprint, items, config, name=name, data_source=data_name
        )
        return ModelRef(name, self.base_path, folder)

    # -- predictions and results ----------------------------------------------------

    def predictions(self, ref: ModelRef, split: str) -> Predictions:
        """Classification predictions of ``ref`` on a split, computed once per session."""
        key = (ref.name, self.backend.fingerprint(ref), split)
        if key not in self._predictions:
            self._predictions[key] = self.task.classify(self.backend, ref, self.dataset(split))
        return self._predictions[key]

    def record(self, where: str, result: GateResult) -> GateResult:
        """Keep a gate result for the run record, whether it passed or not."""
        self.results.append((where, result))
        return result


class DatasetView:
    """Attribute access to a session's splits, loaded on first use."""

    def __init__(self, session: GateSession):
        self._session = session

    @property
    def train(self) -> list[Example]:
        return self._session.dataset("train")

    @property
    def eval(self) -> list[Example]:
        return self._session.dataset("eval")

    @property
    def golden(self) -> list[Example]:
        return self._session.dataset("golden")

    @property
    def ood(self) -> list[Example]:
        return self._session.dataset("ood")
