"""The gate configuration: ``[tool.tunegate]`` in pyproject.toml or a tunegate.toml.

Everything is validated into typed objects before any model loads; an error names
the file, the line (where it can be found) and the field.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tunegate.training._config import TrainingConfig

__all__ = [
    "BackendConfig",
    "BaselineConfig",
    "CapabilityConfig",
    "ConfigError",
    "CostConfig",
    "DataConfig",
    "ExtractionTaskConfig",
    "GateConfig",
    "HygieneConfig",
    "JudgeConfig",
    "OpenAIConfig",
    "ProbeConfig",
    "TaskConfig",
    "TaskGateConfig",
    "Thresholds",
    "VLLMConfig",
    "find_config",
    "load_config",
]

CONFIG_FILES = ("tunegate.toml", "pyproject.toml")


class ConfigError(ValueError):
    """A configuration that cannot be used, located as precisely as possible."""

    def __init__(self, path: Path | None, line: int | None, field: str | None, reason: str):
        self.path, self.line, self.field, self.reason = path, line, field, reason
        where = str(path) if path else "<config>"
        if line is not None:
            where += f":{line}"
        super().__init__(f"{where}: {field}: {reason}" if field else f"{where}: {reason}")


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _has_text_slot(template: str) -> str:
    if "{text}" not in template:
        raise ValueError("prompt_template must contain '{text}'")
    return template


PromptTemplate = Annotated[str, AfterValidator(_has_text_slot)]
"""A template for plain-prompt examples; ``{text}`` is where the example goes."""


class TaskConfig(_Section):
    """Classification: the adapter answers with one of ``labels``, scored by likelihood."""

    kind: Literal["classification"] = "classification"
    labels: tuple[str, ...] = Field(min_length=2)
    prompt_template: PromptTemplate = "{text}"
    choice_prefix: str | None = Field(
        default=None,
        description="text between the prompt and the label; derived from the chat "
        "template when unset",
    )

    @field_validator("labels")
    @classmethod
    def _distinct_labels(cls, labels: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(labels)) != len(labels):
            raise ValueError("labels must be distinct")
        if any(not label.strip() for label in labels):
            raise ValueError("labels must not be empty")
        return labels


class ExtractionTaskConfig(_Section):
    """Strict-JSON extraction: the adapter answers with one JSON object per input.

    Outputs are generated greedily, parsed and validated against ``json_schema``;
    ``exact_fields`` are compared with the reference object value by value,
    ``text_fields`` by text similarity (ROUGE-L, BERTScore).
    """

    kind: Literal["extraction"]
    json_schema: Path = Field(description="JSON Schema file, relative to the configuration")
    exact_fields: tuple[str, ...] = Field(min_length=1)
    text_fields: tuple[str, ...] = ()
    max_new_tokens: int = Field(default=128, ge=1)
    prompt_template: PromptTemplate = "{text}"


def _task_kind(value: Any) -> str:
    """The task's kind; ``classification`` when the table leaves it out."""
    if isinstance(value, dict):
        return str(value.get("kind", "classification"))
    return str(getattr(value, "kind", "classification"))


AnyTaskConfig = Annotated[
    Annotated[TaskConfig, Tag("classification")]
    | Annotated[ExtractionTaskConfig, Tag("extraction")],
    Discriminator(_task_kind),
]
_KINDS = ("classification", "extraction")


class DataConfig(_Section):
    """Dataset paths, relative to the configuration file."""

    train: Path | None = None
    eval: Path
    golden: Path | None = None
    ood: Path | None = None


class Thresholds(_Section):
    """Pass thresholds; gates own them, metrics never see them."""

    macro_f1: float = Field(default=0.80, ge=0.0, le=1.0)
    class_f1_floor: float = Field(default=0.60, ge=0.0, le=1.0)
    golden_max_regression: float = Field(default=0.05, ge=0.0, le=1.0)
    # fail golden regression only when it is also significant (one-sided exact McNemar)
    golden_require_significance: bool = False
    golden_alpha: float = Field(default=0.05, gt=0.0, lt=1.0)
    class_max_drop: float = Field(default=0.05, ge=0.0, le=1.0)
    max_ece: float | None = Field(default=None, ge=0.0, le=1.0)
    max_brier: float | None = Field(default=None, ge=0.0, le=2.0)
    # extraction tasks
    json_validity: float = Field(default=0.99, ge=0.0, le=1.0)  # outputs that parse as JSON
    schema_validity: float | None = Field(default=None, ge=0.0, le=1.0)  # unset: json_validity
    field_accuracy: dict[str, float] = Field(default_factory=dict)
    rouge_l: float | None = Field(default=None, ge=0.0, le=1.0)
    bertscore_f1: float | None = Field(default=None, ge=0.0, le=1.0)
    # robustness probes
    max_flip_increase: float = Field(default=0.05, ge=0.0, le=1.0)
    max_injection_success: float = Field(default=0.10, ge=0.0, le=1.0)
    ood_confidence_cut: float = Field(default=0.8, ge=0.0, le=1.0)
    max_ood_confident_wrong: float = Field(default=0.10, ge=0.0, le=1.0)
    min_ood_abstain: float = Field(default=0.5, ge=0.0, le=1.0)
    # prompted baselines, latency and cost
    min_delta_over_baseline: float = Field(default=0.0, ge=-1.0, le=1.0)
    baseline_metric: Literal["macro_f1", "accuracy"] = "macro_f1"
    max_p50_latency_ms: float | None = Field(default=None, gt=0)
    max_p95_latency_ms: float | None = Field(default=None, gt=0)
    max_tokens_per_request: float | None = Field(default=None, gt=0)
    max_cost_per_1000: float | None = Field(default=None, ge=0)

    @field_validator("field_accuracy")
    @classmethod
    def _fractions(cls, floors: dict[str, float]) -> dict[str, float]:
        bad = [f"{k}={v}" for k, v in floors.items() if not 0.0 <= v <= 1.0]
        if bad:
            raise ValueError(f"field accuracy floors must be in [0, 1]: {', '.join(bad)}")
        return floors


class ProbeConfig(_Section):
    """Which robustness probes a gate run generates (from the run's seed) and how."""

    split: str = "eval"
    families: tuple[str, ...] | None = Field(default=None, description="default: all")
    per_example: int = Field(default=1, ge=1)
    abstain_label: str = "other"
    overlong_chars: int = Field(default=1000, ge=1)


class HygieneConfig(_Section):
    """Data hygiene ([tool.tunegate.hygiene]): what counts as a duplicate or a bad
    example, and the bounds the hygiene gates hold the data to."""

    near_duplicate_jaccard: float = Field(default=0.8, gt=0.0, le=1.0)
    shingles: Literal["word", "char"] = "word"
    shingle_size: int = Field(default=3, ge=1, le=64)
    num_perm: int = Field(default=128, ge=16, le=1024)
    max_duplicate_share: float = Field(default=0.01, ge=0.0, le=1.0)
    max_near_duplicate_share: float = Field(default=0.05, ge=0.0, le=1.0)
    max_leaked_share: float = Field(default=0.0, ge=0.0, le=1.0)
    max_pii_findings: int = Field(default=0, ge=0)
    pii_kinds: tuple[str, ...] | None = Field(default=None, description="default: all")
    max_label_tv: float = Field(default=0.10, ge=0.0, le=1.0)
    min_class_share: float = Field(default=0.05, ge=0.0, le=1.0)
    min_class_ratio: float = Field(default=0.20, ge=0.0, le=1.0)
    min_agreement: float = Field(default=0.90, ge=0.0, le=1.0)
    second_label_field: str = Field(default="meta.label_2", min_length=1)
    min_chars: int = Field(default=1, ge=0)
    max_chars: int = Field(default=32_000, ge=1)
    leakage_sets: tuple[Path, ...] = Field(
        default=(), description="further sets (probe files) checked for leakage from train"
    )

    @field_validator("pii_kinds")
    @classmethod
    def _known_kinds(cls, kinds: tuple[str, ...] | None) -> tuple[str, ...] | None:
        from tunegate.data._pii_kinds import PII_KINDS

        unknown = sorted(set(kinds or ()) - set(PII_KINDS))
        if unknown:
            raise ValueError(f"unknown kinds {unknown}; kinds: {', '.join(PII_KINDS)}")
        return kinds

    @field_validator("max_chars")
    @classmethod
    def _bounds_ordered(cls, max_chars: int, info: ValidationInfo) -> int:
        if max_chars < info.data.get("min_chars", 0):
            raise ValueError("max_chars must be >= min_chars")
        return max_chars


class OpenAIConfig(_Section):
    """An OpenAI-compatible server (vLLM, TGI, a hosted API): where, and how to call it.

    ``base_url`` is one server, or a list of servers that serve the same models under
    the same names (one vLLM per GPU or host): calls are spread over them, with at most
    ``concurrency`` in flight on each. ``api_key_env`` names the environment variable
    that holds the key; the key itself never enters the configuration, the run record
    or the cache.
    """

    base_url: str | tuple[str, ...] = Field(
        description="e.g. http://127.0.0.1:8000/v1, or a list of such URLs"
    )
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    model: str | None = Field(default=None, description="served name of the base model")
    tokenizer: str | None = Field(
        default=None, description="tokenizer whose chat template renders chat scoring"
    )
    concurrency: int = Field(default=8, ge=1, le=1024)
    timeout_s: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=20)
    backoff_s: float = Field(default=0.5, ge=0)
    max_backoff_s: float = Field(default=30.0, ge=0)
    extra_body: dict[str, Any] = Field(
        default_factory=dict,
        description="server-specific fields added to every generation request, as the "
        "OpenAI SDK's extra_body (e.g. vLLM's truncate_prompt_tokens)",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_plural_key(cls, data: Any) -> Any:
        if isinstance(data, dict) and "base_urls" in data:
            raise ValueError("several servers go in base_url as a list: "
                             'base_url = ["http://gpu0:8000/v1", "http://gpu1:8000/v1"]')
        return data

    @field_validator("extra_body")
    @classmethod
    def _extras_add(cls, value: dict[str, Any]) -> dict[str, Any]:
        taken = sorted(set(value) & {"model", "messages", "prompt", "max_tokens",
                                     "temperature", "seed", "stop", "echo", "logprobs"})
        if taken:
            raise ValueError(f"{', '.join(taken)}: set by tunegate for each request, "
                             "not in extra_body")
        return value

    @field_validator("base_url", mode="before")
    @classmethod
    def _server_urls(cls, value: Any) -> Any:
        urls = [value] if isinstance(value, str) else value
        if not isinstance(urls, list | tuple) or not urls:
            raise ValueError("expected a URL or a non-empty list of URLs")
        seen: set[str] = set()
        for number, url in enumerate(urls, start=1):
            what = repr(url) if isinstance(value, str) else f"entry {number} ({url!r})"
            if not isinstance(url, str) or not re.match(r"https?://", url):
                raise ValueError(f"{what} must start with http:// or https://")
            if url.rstrip("/") in seen:
                raise ValueError(f"{what} is listed twice")
            seen.add(url.rstrip("/"))
        return value if isinstance(value, str) else tuple(urls)

    @property
    def servers(self) -> tuple[str, ...]:
        """The base URLs of the servers, in configured order."""
        return (self.base_url,) if isinstance(self.base_url, str) else self.base_url


class VLLMConfig(_Section):
    """vLLM's engine in-process ([backend.vllm], optional): how large it is built.

    ``max_lora_rank`` is fixed when the engine starts (at its first request); unset, it
    is vLLM's default 16, or the r of that request's adapter rounded up when larger.
    """

    max_model_len: int | None = Field(
        default=None, ge=16, description="context length (default: the model's own)"
    )
    kv_cache_gib: float = Field(
        default=1.0, gt=0,
        description="KV cache size (on a CPU an exported VLLM_CPU_KVCACHE_SPACE wins)",
    )
    max_lora_rank: Literal[8, 16, 32, 64, 128, 256, 320, 512] | None = None
    max_loras: int = Field(default=2, ge=1, le=64, description="adapters kept loaded")
    enforce_eager: bool = Field(default=True, description="False: CUDA graphs on a GPU")


class BackendConfig(_Section):
    """Which backend computes: in-process transformers (default), an OpenAI server, or
    vLLM's engine in-process."""

    kind: Literal["transformers", "openai", "vllm"] = "transformers"
    batch_size: int = Field(default=32, ge=1)
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    device: str = "cpu"
    threads: int | None = Field(default=None, ge=1)
    openai: OpenAIConfig | None = None
    vllm: VLLMConfig | None = None

    @model_validator(mode="after")
    def _openai_needs_server(self) -> BackendConfig:
        if self.kind == "openai" and self.openai is None:
            raise ValueError("kind 'openai' needs a [backend.openai] table with base_url")
        return self

    @model_validator(mode="after")
    def _vllm_settings_need_vllm(self) -> BackendConfig:
        if self.vllm is not None and self.kind != "vllm":
            raise ValueError(f"a [backend.vllm] table needs kind = 'vllm' (kind is "
                             f"{self.kind!r})")
        return self


class JudgeConfig(_Section):
    """LLM-as-judge ([tool.tunegate.judge]): rubrics, sampling, and the calibration floor
    its agreement with human labels must reach before its verdicts count."""

    rubric: Path = Path("evals/rubrics/ticket_routing.toml")
    pairwise_rubric: Path | None = Path("evals/rubrics/ticket_routing_pairwise.toml")
    calibration: Path = Path("evals/judge_calibration.jsonl")
    min_kappa: float = Field(default=0.6, ge=-1.0, le=1.0)
    min_accuracy: float = Field(default=0.8, ge=0.0, le=1.0)
    pass_score: int | None = Field(
        default=None, ge=1, description="agree on pass/fail (score >= this) instead of scores"
    )
    repeat: int = Field(default=1, ge=1, le=25)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    retries: int = Field(default=2, ge=0, le=10)
    max_new_tokens: int = Field(default=256, ge=1)
    min_mean_score: float = Field(default=4.0, ge=1.0)
    min_win_rate: float = Field(default=0.5, ge=0.0, le=1.0)
    max_position_bias: float | None = Field(
        default=0.2, ge=0.0, le=1.0,
        description="share of pairs whose verdict follows the position, not the content",
    )
    sample: int | None = Field(
        default=100, ge=1, description="eval examples whose outputs are judged (None: all)"
    )
    model: str | None = Field(default=None, description="the judge's served model name")
    openai: OpenAIConfig | None = None
    adapter: str | None = Field(
        default=None,
        description="a LoRA adapter of the base to judge with, served by vLLM on 127.0.0.1 "
        "for the run when no [judge.openai] server is set: a folder, or 'example' for the "
        "example's judge (trained on first use)",
    )
    max_prompt_tokens: int | None = Field(
        default=None, ge=16,
        description="keep only the last N tokens of every judge prompt, for a judge with a "
        "short context (vLLM's truncate_prompt_tokens, from the left); None: all",
    )

    @model_validator(mode="after")
    def _sampled_votes(self) -> JudgeConfig:
        if self.repeat > 1 and self.temperature == 0.0:
            raise ValueError("repeat > 1 needs temperature > 0 (greedy votes are identical)")
        return self


class CapabilityConfig(_Section):
    """General capability ([tool.tunegate.capability]): lm-eval tasks run on the base and
    on the candidate; no task's accuracy may drop more than ``max_drop_points``.

    ``include_path`` (relative to the configuration) holds local lm-eval task YAMLs;
    names not found there are looked up among lm-eval's own tasks.
    """

    tasks: tuple[str, ...] = ()
    include_path: Path | None = Path("evals/lm_eval")
    max_drop_points: float = Field(default=2.0, ge=0.0, le=100.0)
    metric: str = Field(default="acc", min_length=1, description="a right/wrong per-doc metric")
    limit: int | None = Field(default=None, ge=1, description="documents per task (default: all)")
    num_fewshot: int | None = Field(default=None, ge=0, description="default: the task's")
    batch_size: int = Field(default=32, ge=1)

    @field_validator("tasks")
    @classmethod
    def _distinct_tasks(cls, tasks: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(tasks)) != len(tasks) or any(not t.strip() for t in tasks):
            raise ValueError("tasks must be distinct, non-empty lm-eval task names")
        return tasks


class BaselineConfig(_Section):
    """A prompted baseline: a model (the base unless said) asked with a prompt strategy.

    ``shots`` demonstrations are drawn from the training split, seeded and stratified
    by label, never one whose text is in the evaluation or golden sets; ``system``
    replaces the examples' own system prompt.
    """

    model: str = Field(default="base", description="any reference: base, an adapter, ...")
    shots: int = Field(default=0, ge=0, le=64)
    system: str | None = Field(default=None, min_length=1)
    seed: int | None = Field(default=None, description="default: the run's seed")


class CostConfig(_Section):
    """Prices that turn measured usage into cost per 1,000 requests: per million input
    and output tokens (an API), or per GPU hour with the measured throughput (self-hosted).
    """

    input_per_million: float | None = Field(default=None, ge=0)
    output_per_million: float | None = Field(default=None, ge=0)
    gpu_hour: float | None = Field(default=None, ge=0)
    currency: str = Field(default="USD", min_length=1, max_length=8)

    @model_validator(mode="after")
    def _one_pricing(self) -> CostConfig:
        tokens = self.input_per_million is not None or self.output_per_million is not None
        if tokens and self.gpu_hour is not None:
            raise ValueError("price by tokens (input_per_million, output_per_million) or by "
                             "gpu_hour, not both")
        if not tokens and self.gpu_hour is None:
            raise ValueError("no price: set input_per_million/output_per_million or gpu_hour")
        return self


class TaskGateConfig(_Section):
    """A further task gated in the same run: its own adapters, data and thresholds.

    Base model, seed, cache, backend and training defaults come from the enclosing
    configuration; ``training`` holds this task's overrides of them.
    """

    candidate: str
    production: str | None = None
    task: AnyTaskConfig
    data: DataConfig
    thresholds: Thresholds = Thresholds()
    training: dict[str, Any] = Field(default_factory=dict)

    @field_validator("training")
    @classmethod
    def _valid_overrides(cls, overrides: dict[str, Any]) -> dict[str, Any]:
        TrainingConfig.model_validate(overrides)  # unknown knobs and bad values fail here
        return overrides


class GateConfig(_Section):
    """The whole gate: which references, which task and data, which thresholds."""

    base: str = Field(description="'example' for the bundled tiny model, else a path or hub id")
    production: str | None = Field(default=None, description="adapter dir, variant or none")
    candidate: str = Field(description="adapter dir or example variant name")
    seed: int = 0
    cache_dir: Path = Path(".tunegate")
    report_dir: Path = Path("reports")
    registry: Path | None = Field(
        default=None, description="adapter registry folder (default: <report_dir>/registry)"
    )
    use_cache: bool = True
    task: AnyTaskConfig
    data: DataConfig
    thresholds: Thresholds = Thresholds()
    backend: BackendConfig = BackendConfig()
    training: TrainingConfig = TrainingConfig()
    probes: ProbeConfig = ProbeConfig()
    hygiene: HygieneConfig = HygieneConfig()
    judge: JudgeConfig = JudgeConfig()
    capability: CapabilityConfig = CapabilityConfig()
    baselines: dict[str, BaselineConfig] = Field(default_factory=dict)
    cost: CostConfig | None = None
    tasks: dict[str, TaskGateConfig] = Field(default_factory=dict)
    name: str = Field(default="main", description="the task's name in records and reports")
    source: Path | None = Field(default=None, exclude=True)

    @field_validator("baselines")
    @classmethod
    def _baseline_names(cls, baselines: dict[str, BaselineConfig]) -> dict[str, BaselineConfig]:
        taken = sorted(set(baselines) & {"base", "production", "candidate", "judge"})
        if taken:
            raise ValueError(f"a baseline cannot be named after a role: {', '.join(taken)}")
        bad = [name for name in baselines if not re.fullmatch(r"[A-Za-z0-9][\w.-]*", name)]
        if bad:
            raise ValueError(f"baseline names are letters, digits, '-', '_' and '.': {bad}")
        return baselines

    @property
    def root(self) -> Path:
        """The folder relative paths are resolved against."""
        return self.source.parent if self.source else Path.cwd()

    def resolve(self, path: Path) -> Path:
        return path if path.is_absolute() else self.root / path

    def with_overrides(self, **changes: Any) -> GateConfig:
        """A copy with CLI values applied (None means: keep), validated again."""
        data = self.model_dump()
        data.update({key: value for key, value in changes.items() if value is not None})
        try:
            return GateConfig.model_validate({**data, "source": self.source})
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(_loc(error["loc"]))
            raise ConfigError(None, None, f"option {field}", error["msg"]) from None


    def with_judge(self, spec: str | None) -> GateConfig:
        """A copy judged by the server in ``spec`` ("URL,MODEL"; None means: keep)."""
        if spec is None:
            return self
        url, _, model = spec.partition(",")
        if not url.strip() or not model.strip():
            raise ConfigError(None, None, "option --tg-judge",
                              f"expected URL,MODEL (e.g. http://127.0.0.1:8000/v1,judge), "
                              f"got {spec!r}")
        judge = self.judge.model_dump()
        openai = {**(judge.get("openai") or {}), "base_url": url.strip()}
        try:
            return self.with_overrides(judge={**judge, "openai": openai, "model": model.strip()})
        except ConfigError as exc:
            raise ConfigError(None, None, "option --tg-judge", exc.reason) from None

    def for_task(self, name: str) -> GateConfig:
        """The configuration of the further task ``name`` as a gate of its own."""
        if name not in self.tasks:
            known = ", ".join(sorted(self.tasks)) or "none"
            raise ConfigError(self.source, None, f"tasks.{name}",
                              f"no such task configured (tasks: {known})")
        sub = self.tasks[name]
        data = self.model_dump()
        data.update(sub.model_dump(exclude={"training"}), tasks={}, name=name)
        data["training"] = {**data["training"], **sub.training}
        try:
            return GateConfig.model_validate({**data, "source": self.source})
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(_loc(error["loc"]))
            raise ConfigError(self.source, None, f"tasks.{name}.{field}", error["msg"]) from None

    def with_task_overrides(self, name: str, **changes: Any) -> GateConfig:
        """A copy whose further task ``name`` has these values (None means: keep)."""
        if name not in self.tasks:
            known = ", ".join(sorted(self.tasks)) or "none"
            raise ConfigError(None, None, f"option tasks.{name}",
                              f"no such task configured (tasks: {known})")
        sub = self.tasks[name].model_dump()
        sub.update({key: value for key, value in changes.items() if value is not None})
        return self.with_overrides(tasks={**self.model_dump()["tasks"], name: sub})


def find_config(start: Path | None = None) -> Path | None:
    """The nearest tunegate.toml, or pyproject.toml with [tool.tunegate], upwards."""
    folder = (start or Path.cwd()).resolve()
    for candidate_dir in (folder, *folder.parents):
        for name in CONFIG_FILES:
            path = candidate_dir / name
            if path.is_file() and (name == "tunegate.toml" or "[tool.tunegate" in path.read_text()):
                return path
    return None


def load_config(path: str | Path | None = None) -> GateConfig:
    """Read and validate a configuration file (found upwards from cwd when None)."""
    found = Path(path) if path is not None else find_config()
    if found is None:
        raise ConfigError(None, None, None, "no tunegate.toml or [tool.tunegate] found")
    if not found.is_file():
        raise ConfigError(found, None, None, "file not found")
    text = found.read_text(encoding="utf-8")
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise ConfigError(found, int(match.group(1)) if match else None, None, str(exc)) from None
    prefix: tuple[str, ...] = () if found.name == "tunegate.toml" else ("tool", "tunegate")
    section: Any = document
    for part in prefix:
        section = section.get(part, {}) if isinstance(section, dict) else {}
    if not section:
        raise ConfigError(found, None, ".".join(prefix) or None, "no tunegate configuration")
    try:
        return GateConfig.model_validate({**section, "source": found.resolve()})
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = _loc(error["loc"])
        line = _locate(text, prefix, loc)
        raise ConfigError(found, line, ".".join(prefix + loc), error["msg"]) from None


def _loc(parts: tuple[int | str, ...]) -> tuple[str, ...]:
    """An error's location as config keys: without the tag pydantic adds after ``task``."""
    loc = [str(part) for part in parts]
    for i in range(len(loc) - 1, 0, -1):
        if loc[i - 1] == "task" and loc[i] in _KINDS:
            del loc[i]
    return tuple(loc)


def _locate(text: str, prefix: tuple[str, ...], loc: tuple[str, ...]) -> int | None:
    """The line of a key in TOML text: best effort, falls back to its table header."""
    best: int | None = None
    table: tuple[str, ...] = ()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        header = re.fullmatch(r"\[+\s*([^\]]+?)\s*\]+", line)
        if header:
            table = tuple(part.strip().strip('"') for part in header.group(1).split("."))
            if table == prefix + loc[:-1] or table == prefix + loc:
                best = best or number
            continue
        key = re.match(r"([A-Za-z0-9_.\"-]+)\s*=", line)
        if key:
            path = table + tuple(p.strip('"') for p in key.group(1).split("."))
            if path == prefix + loc[: len(path) - len(prefix)] and len(path) > len(prefix):
                best = number
                if path == prefix + loc:
                    return number
    return best
