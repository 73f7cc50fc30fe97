"""A gate session: the configuration made concrete, loaded lazily, once.

The pytest plugin and the CLI are thin wrappers around this object: everything a
suite gets from a fixture, a library user gets from a ``GateSession``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunegate.backends._cache import CachedBackend, ResponseCache
from tunegate.backends._protocol import Backend, ModelRef
from tunegate.config import ConfigError, GateConfig
from tunegate.data import DataError, Example, load_examples
from tunegate.gates import GateResult
from tunegate.tasks import ClassificationTask, Extractions, ExtractionTask, Predictions
from tunegate.training import AdapterStore, TrainingConfig, TrainingItem

if TYPE_CHECKING:
    from tunegate.backends.vllm_server import VLLMServer
    from tunegate.capability import TaskResult
    from tunegate.judge import Judge
    from tunegate.prompting import Demonstration

SPLITS = ("train", "eval", "golden", "ood")
EXAMPLE_BASE = "example"
EXAMPLE_JUDGE = "example"
JUDGE_SERVED_NAME = "judge"


class GateSession:
    """Config, backend, datasets, references and gate results of one gate run."""

    def __init__(self, config: GateConfig, parent: GateSession | None = None):
        self.config = config
        self.parent = parent
        self.results: list[tuple[str, GateResult]] = parent.results if parent else []
        self._datasets: dict[str, list[Example]] = {}
        self._predictions: dict[tuple[str, str, str], Predictions] = {}
        self._extractions: dict[tuple[str, str, str], Extractions] = {}
        self._tasks: dict[str, GateSession] = {}
        self._probes: list[Example] | None = None
        self._capability: dict[str, dict[str, TaskResult]] = {}
        self._refs: dict[str, ModelRef] = {}  # every reference predicted or extracted, by name
        self.record_path: Path | None = None
        self.started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    def for_task(self, name: str) -> GateSession:
        """The session of a further configured task (``[tool.tunegate.tasks.<name>]``).

        It shares this session's base model, backend, cache, adapters and results.
        """
        if self.parent is not None:
            return self.parent.for_task(name)
        if name not in self._tasks:
            self._tasks[name] = GateSession(self.config.for_task(name), parent=self)
        return self._tasks[name]

    def close(self) -> None:
        """Stop what the session started (vLLM's engine processes) and close the response
        cache. A further task's session shares both, so only the run's own closes them."""
        if self.parent is not None:
            return
        backend = self.__dict__.pop("backend", None)
        close = getattr(getattr(backend, "inner", None), "close", None)
        if callable(close):
            close()
        server = self.__dict__.pop("judge_server", None)
        if server is not None:
            server.stop()
        cache = self.__dict__.pop("response_cache", None)
        if cache is not None:
            cache.close()

    # -- models ---------------------------------------------------------------------

    @cached_property
    def cache_dir(self) -> Path:
        return self.config.resolve(self.config.cache_dir)

    @cached_property
    def base_path(self) -> str:
        """The base model folder (built for the example) or hub id."""
        if self.parent is not None:
            return self.parent.base_path
        if self.config.base == EXAMPLE_BASE:
            from tunegate.example.base_model import example_base

            return str(example_base(self.cache_dir))
        local = self.config.resolve(Path(self.config.base))
        return str(local) if local.exists() else self.config.base

    @cached_property
    def response_cache(self) -> ResponseCache | None:
        """The response cache every backend of the run shares (None when disabled)."""
        if self.parent is not None:
            return self.parent.response_cache
        return ResponseCache(self.cache_dir / "responses.sqlite") if self.config.use_cache else None

    @cached_property
    def backend(self) -> CachedBackend:
        """The configured backend (transformers+peft, an OpenAI-compatible server, or
        vLLM in-process) behind the response cache (unless disabled)."""
        if self.parent is not None:
            return self.parent.backend
        inner: Backend
        settings = self.config.backend
        if settings.kind == "openai" and settings.openai is not None:
            from tunegate.backends.openai_http import OpenAIHTTPBackend

            local = Path(self.base_path).is_dir()
            inner = OpenAIHTTPBackend(settings.openai, tokenizer=self.base_path if local else None)
        elif settings.kind == "vllm":
            from tunegate.backends.vllm_backend import VLLMBackend

            inner = VLLMBackend(self.base_path, settings)
        else:
            from tunegate.backends.transformers_backend import TransformersBackend

            inner = TransformersBackend(self.base_path, settings)
        return CachedBackend(inner, self.response_cache)

    @cached_property
    def judge(self) -> Judge:
        """The configured LLM judge ([tool.tunegate.judge]), behind the response cache:
        its server, or the judge adapter this run serves (``judge.adapter``)."""
        if self.parent is not None:
            return self.parent.judge
        from tunegate.config import OpenAIConfig
        from tunegate.judge import judge_from_config

        config = self.config.judge
        if config.openai is None and config.adapter is not None:
            server = self.judge_server
            config = config.model_copy(update={
                "openai": OpenAIConfig(base_url=server.url, tokenizer=self.base_path),
                "model": JUDGE_SERVED_NAME,
            })
        return judge_from_config(config, self.config.resolve, self.response_cache,
                                 seed=self.config.seed)

    @cached_property
    def judge_server(self) -> VLLMServer:
        """vLLM on 127.0.0.1 serving the base and the judge adapter, for this run.

        ``judge.adapter`` is a folder, or ``example``: the example's judge, trained on
        the train split's tickets (cached like every adapter). Stopped by ``close``.
        """
        from tunegate.backends.vllm_server import VLLMServer

        adapter = self.config.judge.adapter
        if adapter == EXAMPLE_JUDGE:
            from tunegate.example.judge import example_judge

            folder = example_judge(self)
        else:
            folder = self.config.resolve(Path(str(adapter)))
            if not (folder / "adapter_config.json").is_file():
                raise ConfigError(self.config.source, None, "judge.adapter",
                                  f"{folder} is not a peft adapter (no adapter_config.json)")
        server = VLLMServer(self.base_path, self.cache_dir / "judge-server",
                            adapters={JUDGE_SERVED_NAME: folder}, max_model_len=None)
        return server.start()

    @cached_property
    def adapters(self) -> AdapterStore:
        return self.parent.adapters if self.parent else AdapterStore(self.cache_dir / "adapters")

    @cached_property
    def task(self) -> ClassificationTask | ExtractionTask:
        """The configured task: classification by likelihood, or JSON extraction."""
        config = self.config.task
        if config.kind == "extraction":
            from tunegate.tasks.extraction import load_schema

            return ExtractionTask(config, load_schema(self.config.resolve(config.json_schema)))
        return ClassificationTask(config)

    # -- data -----------------------------------------------------------------------

    def dataset(self, split: str) -> list[Example]:
        """The examples of a configured split, loaded and validated once."""
        if split not in SPLITS:
            raise KeyError(f"unknown split {split!r}; splits: {', '.join(SPLITS)}")
        if split not in self._datasets:
            path = getattr(self.config.data, split)
            if path is None:
                raise ConfigError(self.config.source, None, f"data.{split}", "not configured")
            examples = load_examples(self.config.resolve(path))
            if isinstance(self.task, ExtractionTask):
                _check_references(self.task, self.config.resolve(path), examples)
            self._datasets[split] = examples
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

    @cached_property
    def baselines(self) -> dict[str, ModelRef]:
        """The prompted baselines of [tool.tunegate.baselines], by name: each a model
        (the base unless configured) with its prompt strategy."""
        from tunegate.prompting import PromptStrategy

        refs = {}
        for name, spec in self.config.baselines.items():
            model = self.resolve(name, spec.model)
            seed = self.config.seed if spec.seed is None else spec.seed
            try:
                shown = self.demonstrations(spec.shots, seed)
            except ValueError as exc:
                raise ConfigError(self.config.source, None, f"baselines.{name}.shots",
                                  str(exc)) from None
            strategy = PromptStrategy(system=spec.system, demonstrations=shown)
            refs[name] = replace(model, name=name, prompting=strategy)
        return refs

    def demonstrations(self, shots: int, seed: int) -> tuple[Demonstration, ...]:
        """``shots`` training examples to show a prompted baseline: seeded, stratified by
        label, none whose text is in the eval, golden or OOD split (exactly or nearly)."""
        from tunegate.prompting import draw_demonstrations

        if shots == 0:
            return ()
        if self.config.data.train is None:
            raise ValueError("demonstrations are drawn from the train split: configure "
                             "data.train")
        train = self.dataset("train")
        held_out = [e for split in ("eval", "golden", "ood")
                    if getattr(self.config.data, split) is not None
                    for e in self.dataset(split)]
        excluded: set[str] = set()
        if held_out:
            from tunegate.data.hygiene import leaked_ids
            from tunegate.gates.hygiene import near_duplicate_spec

            excluded = leaked_ids(held_out, train, near_duplicate_spec(self.config.hygiene))
        task = self.task
        return draw_demonstrations(
            train, shots, seed, label_of=lambda e: e.label, prompt_of=task.prompt_of,
            answer_of=task.training_answer, excluded=excluded,
        )

    def resolve(self, role: str, spec: str) -> ModelRef:
        """An adapter folder, ``base``, ``registry`` (the registry's production adapter),
        ``registry:NAME``, ``served:NAME`` (an adapter an OpenAI-compatible server serves
        under that name), or the name of an example variant."""
        if spec == "base":
            return ModelRef(role, self.base_path)
        if spec.startswith("served:"):  # an adapter an OpenAI-compatible server serves
            return ModelRef(role, self.base_path, Path(spec))
        if spec == "registry" or spec.startswith("registry:"):
            from tunegate.registry import resolve_registry_spec

            where = role if self.parent is None else f"tasks.{self.config.name}.{role}"
            folder = resolve_registry_spec(self.config, spec, where, main_task=self.parent is None)
            return ModelRef(role, self.base_path, folder)
        folder = self.config.resolve(Path(spec))
        if folder.is_dir():
            return ModelRef(role, self.base_path, folder)
        from tunegate.example.variants import get_variant, variant_names

        where = role if self.parent is None else f"tasks.{self.config.name}.{role}"
        if spec not in variant_names():
            raise ConfigError(
                self.config.source, None, where,
                f"{spec!r} is neither an adapter folder nor an example variant "
                f"({', '.join(variant_names())})",
            )
        variant = get_variant(spec)
        if variant.kind != self.task.kind:
            raise ConfigError(
                self.config.source, None, where,
                f"example variant {spec!r} is for a {variant.kind} task, this task is "
                f"{self.task.kind} (its variants: "
                f"{', '.join(variant_names(self.task.kind))})",
            )
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
        task = self.task
        if not isinstance(task, ClassificationTask):
            raise TypeError(f"predictions() is for classification tasks; this task is "
                            f"{task.kind}: use extractions()")
        key = (ref.name, self.backend.fingerprint(ref), split)
        if key not in self._predictions:
            self._predictions[key] = task.classify(self.backend, ref, self.dataset(split))
            self._refs[ref.name] = ref
        return self._predictions[key]

    def probes(self) -> list[Example]:
        """Robustness probes of the configured split, generated from the run's seed.

        The same seed gives the same probes, so a run and its rerun compare like with like
        (and the response cache answers the rerun). Probes that repeat a training text are
        left out (see :meth:`training_overlap`).
        """
        if self._probes is None:
            from tunegate.probes import generate_probes

            settings = self.config.probes
            labels = self.task.labels if isinstance(self.task, ClassificationTask) else None
            probes = generate_probes(
                self.dataset(settings.split), settings.families, seed=self.config.seed,
                per_example=settings.per_example, labels=labels,
                abstain_label=settings.abstain_label, overlong_chars=settings.overlong_chars,
            )
            dropped = self.training_overlap(probes)
            self._probes = [p for p in probes if p.id not in dropped]
        return self._probes

    def training_overlap(self, examples: Sequence[Example]) -> set[str]:
        """Ids of ``examples`` whose input repeats a training text, exactly or nearly.

        "Nearly" is [tool.tunegate.hygiene]'s near-duplicate definition. A model's answer
        on a text it was trained on says nothing of its robustness: a truncated ticket
        can become a training ticket, an off-topic probe a training request.
        """
        if self.config.data.train is None or not examples:
            return set()
        from tunegate.data.hygiene import leaked_ids
        from tunegate.gates.hygiene import near_duplicate_spec

        return leaked_ids(self.dataset("train"), examples,
                          near_duplicate_spec(self.config.hygiene))

    def probe_predictions(self, ref: ModelRef) -> Predictions:
        """Classification predictions of ``ref`` on the probes, computed once per session."""
        task = self.task
        if not isinstance(task, ClassificationTask):
            raise TypeError(f"probe_predictions() is for classification tasks; this task is "
                            f"{task.kind}")
        key = (ref.name, self.backend.fingerprint(ref), "probes")
        if key not in self._predictions:
            self._predictions[key] = task.classify(self.backend, ref, self.probes())
        return self._predictions[key]

    def extractions(self, ref: ModelRef, split: str) -> Extractions:
        """JSON outputs of ``ref`` on a split of an extraction task, generated once."""
        task = self.task
        if not isinstance(task, ExtractionTask):
            raise TypeError(f"extractions() is for extraction tasks; this task is "
                            f"{task.kind}: use predictions()")
        key = (ref.name, self.backend.fingerprint(ref), split)
        if key not in self._extractions:
            self._extractions[key] = task.extract(self.backend, ref, self.dataset(split))
            self._refs[ref.name] = ref
        return self._extractions[key]

    def capability(self, ref: ModelRef) -> dict[str, TaskResult]:
        """Per-document lm-eval results of ``ref`` on the [tool.tunegate.capability] tasks.

        Computed once per session, and cached across runs by model fingerprint, task
        content and lm-eval version (``<cache_dir>/capability/``).
        """
        if self.parent is not None:
            return self.parent.capability(ref)
        key = self.backend.fingerprint(ref)
        if key not in self._capability:
            from tunegate.capability import ResultCache, run_capability

            settings = self.config.capability
            include = settings.include_path
            self._capability[key] = run_capability(
                self.backend.inner, ref, settings,
                include_path=self.config.resolve(include) if include is not None else None,
                cache=ResultCache(self.cache_dir / "capability") if self.config.use_cache else None,
                seed=self.config.seed, fingerprint=self.backend.fingerprint,
            )
        return self._capability[key]

    def record(self, where: str, result: GateResult) -> GateResult:
        """Keep a gate result for the run record, whether it passed or not."""
        self.results.append((where, result))
        return result


def _check_references(task: ExtractionTask, path: Path, examples: Sequence[Example]) -> None:
    """Every extraction example's reference must be a JSON object; name the line if not."""
    lines = [n for n, raw in enumerate(path.read_bytes().split(b"\n"), start=1) if raw.strip()]
    for line, example in zip(lines, examples, strict=True):
        try:
            task.reference_of(example)
        except ValueError as exc:
            raise DataError(path, line, "reference", str(exc)) from None


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

