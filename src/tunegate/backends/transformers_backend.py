"""The default backend: transformers + peft, in-process.

The base model is loaded once; adapters are attached by name and switched, and the
base is evaluated with every adapter disabled, so base, production and candidate cost
one load. torch, transformers and peft are imported only when a backend is built.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tunegate._progress import progress
from tunegate.backends._canary import (
    AdapterMismatchError,
    check_adapter_changes_output,
    check_adapter_fits,
)
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
from tunegate.config import BackendConfig


@dataclass
class _Encoded:
    """A score request as token ids: one shared context, one continuation per choice."""

    index: int
    context: list[int]
    continuations: list[list[int]]


MIN_SHARED_PREFIX = 8  # tokens; below this a separate prefix forward does not pay


def _import_stack() -> tuple[Any, Any, Any]:
    try:
        import peft
        import torch
        import transformers
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"the transformers backend needs torch, transformers and peft ({exc.name} is "
            "missing): pip install 'tunegate[hf]'"
        ) from exc
    return torch, transformers, peft


def _cache_argument(model_class: type) -> str:
    """The name of the key/value cache in a model's forward and in its output.

    transformers 5.24 renamed `past_key_values` to `cache` (the old name warns); the
    name is read from the model's own signature, so both sides of the rename work.
    """
    parameters = inspect.signature(getattr(model_class, "forward")).parameters  # noqa: B009
    return "cache" if "cache" in parameters else "past_key_values"


class TransformersBackend:
    """Scores and generations from a local (or cached hub) base model plus LoRA adapters."""

    def __init__(self, base: str, config: BackendConfig | None = None):
        torch, transformers, _ = _import_stack()
        self.config = config or BackendConfig()
        self.base = base
        if self.config.threads:
            torch.set_num_threads(self.config.threads)
        transformers.utils.logging.disable_progress_bar()  # rich bars are ours to draw
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(base)
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        dtype = getattr(torch, self.config.dtype)
        model = transformers.AutoModelForCausalLM.from_pretrained(base, dtype=dtype)
        self.model: Any = model.to(self.config.device).eval()
        self._cache_arg = _cache_argument(type(model))
        self._peft: Any = None
        self._adapters: dict[str, str] = {}  # adapter fingerprint -> peft adapter name
        self._base_folder = Path(transformers.utils.cached_file(base, "config.json")).parent
        self._base_fingerprint = folder_fingerprint(self._base_folder)

    # -- identity -------------------------------------------------------------------

    def fingerprint(self, ref: ModelRef) -> str:
        """base fingerprint, plus the adapter's content hash when there is one."""
        return model_fingerprint(self._base_fingerprint, ref.adapter)

    @property
    def base_fingerprint(self) -> str:
        return self._base_fingerprint

    # -- adapters -------------------------------------------------------------------

    @contextmanager
    def activate(self, ref: ModelRef) -> Iterator[Any]:
        """The model computing as ``ref``: base with adapters disabled, or one adapter."""
        if ref.adapter is None:
            with self._peft.disable_adapter() if self._peft is not None else nullcontext():
                yield self._peft if self._peft is not None else self.model
            return
        name = self._attach(Path(ref.adapter))
        self._peft.set_adapter(name)
        yield self._peft

    def _attach(self, folder: Path) -> str:
        _, _, peft = _import_stack()
        fingerprint = folder_fingerprint(folder)
        # Lineage is not part of the content hash: check every folder, not every content.
        check_adapter_fits(folder, self._base_folder, self._base_fingerprint, self.model)
        if fingerprint in self._adapters:
            return self._adapters[fingerprint]
        name = f"a{len(self._adapters)}_{fingerprint[:10]}"
        try:
            if self._peft is None:
                self._peft = peft.PeftModel.from_pretrained(self.model, folder, adapter_name=name)
                self._peft.eval()
            else:
                self._peft.load_adapter(folder, adapter_name=name)
        except (RuntimeError, ValueError, KeyError) as exc:
            raise AdapterMismatchError(f"{folder}: adapter does not fit the base: {exc}") from exc
        self._adapters[fingerprint] = name
        self._peft.set_adapter(name)
        check_adapter_changes_output(folder, self._peft, self._probe_batch())
        return name

    def _probe_batch(self) -> Any:
        texts = ["hello, my order did not arrive", "the quick brown fox", "1 2 3 4"]
        batch = self.tokenizer(texts, return_tensors="pt", padding=True)
        return batch.to(self.config.device)

    # -- scoring --------------------------------------------------------------------

    def score(self, ref: ModelRef, requests: Sequence[ScoreRequest]) -> list[ChoiceScores]:
        """Summed log-probability of every choice, batched by context length."""
        torch, _, _ = _import_stack()
        encoded = [self._encode_choices(i, r) for i, r in enumerate(requests)]
        encoded.sort(key=lambda e: -len(e.context))
        results: list[ChoiceScores | None] = [None] * len(requests)
        size = self.config.batch_size
        with self.activate(ref) as model, torch.inference_mode(), progress(
            len(requests), f"scoring {ref.name}"
        ) as advance:
            for start in range(0, len(encoded), size):
                batch = encoded[start : start + size]
                began = time.perf_counter()
                scored = self._score_batch(model, batch)
                waited = (time.perf_counter() - began) * 1000  # each request waits for its batch
                for item, scores in zip(batch, scored, strict=True):
                    results[item.index] = replace(scores, prompt_tokens=len(item.context),
                                                  latency_ms=waited)
                advance(len(batch))
        return [r for r in results if r is not None]

    def _encode_choices(self, index: int, request: ScoreRequest) -> _Encoded:
        context, continuations = encode_choices(self.tokenizer, request.messages,
                                                request.prompt, request.choices)
        return _Encoded(index, context, continuations)

    def _score_batch(self, model: Any, batch: list[_Encoded]) -> list[ChoiceScores]:
        """Single-token choices: one forward, logits at the last position only.

        Longer choices: the prompt and every choice packed into one row, with a
        tree-shaped attention mask (each choice sees the prompt and itself), so the
        prompt is computed once and nothing is copied per choice. In both cases the
        prefix that every prompt of the batch shares (a system prompt) is computed once.
        """
        torch, _, _ = _import_stack()
        shared, cache = self._shared_prefix(model, batch)
        if all(len(c) == 1 for e in batch for c in e.continuations):
            ids, mask, positions = self._left_pad([e.context[shared:] for e in batch])
            if cache is not None:
                mask = torch.cat([mask.new_ones(len(batch), shared), mask], dim=1)
                positions = positions + shared
            out = model(input_ids=ids, attention_mask=mask, position_ids=positions,
                        use_cache=cache is not None, logits_to_keep=1,
                        **{self._cache_arg: cache})
            logprobs = torch.log_softmax(out.logits[:, -1, :].float(), dim=-1)
            return [
                ChoiceScores(
                    tuple(float(logprobs[row, c[0]]) for c in e.continuations),
                    tuple(1 for _ in e.continuations),
                )
                for row, e in enumerate(batch)
            ]
        return self._score_packed(model, batch, shared, cache)

    def _shared_prefix(self, model: Any, batch: list[_Encoded]) -> tuple[int, Any]:
        """Length and key/value cache (one row per batch item) of the common prefix."""
        _, transformers, _ = _import_stack()
        first = batch[0].context
        shared = min(len(e.context) for e in batch) - 1
        for e in batch[1:]:
            shared = next((i for i in range(shared) if e.context[i] != first[i]), shared)
        if len(batch) < 2 or shared < MIN_SHARED_PREFIX:
            return 0, None
        ids = self._left_pad([first[:shared]])[0]
        out = model(input_ids=ids, use_cache=True)
        rows = len(batch)
        layers = [
            (layer.keys.expand(rows, -1, -1, -1), layer.values.expand(rows, -1, -1, -1))
            for layer in getattr(out, self._cache_arg).layers
        ]
        return shared, transformers.DynamicCache(layers)

    def _score_packed(
        self, model: Any, batch: list[_Encoded], shared: int, cache: Any
    ) -> list[ChoiceScores]:
        torch, _, _ = _import_stack()
        rows: list[tuple[list[int], list[int], list[int]]] = []
        picks: list[tuple[int, int, int, int]] = []  # (row, position, target token, choice)
        for e in batch:
            context = e.context[shared:]
            ids, owner = list(context), [-1] * len(context)
            positions = list(range(shared, len(e.context)))
            for c, continuation in enumerate(e.continuations):
                picks.append((len(rows), len(context) - 1, continuation[0], c))
                for j, token in enumerate(continuation[:-1]):
                    picks.append((len(rows), len(ids), continuation[j + 1], c))
                    ids.append(token)
                    positions.append(len(e.context) + j)
                    owner.append(c)
            rows.append((ids, positions, owner))
        width = max(len(r[0]) for r in rows)
        offsets = [width - len(r[0]) for r in rows]
        pad = self.tokenizer.pad_token_id
        ids_t = torch.tensor([[pad] * o + r[0] for o, r in zip(offsets, rows, strict=True)])
        pos_t = torch.tensor([[0] * o + r[1] for o, r in zip(offsets, rows, strict=True)])
        own = torch.tensor([[-2] * o + r[2] for o, r in zip(offsets, rows, strict=True)])
        query, key = own[:, :, None], own[:, None, :]
        mask = ((key == -1) | (key == query)) & (key != -2)
        mask &= torch.ones(width, width, dtype=torch.bool).tril()
        mask |= torch.eye(width, dtype=torch.bool) & (query == -2)  # padding sees itself
        if cache is not None:  # every real position also sees the shared prefix
            prefix = (query != -2).expand(-1, -1, shared)
            mask = torch.cat([prefix, mask], dim=2)
        device = self.config.device
        keep = width - min(offsets[row] + position for row, position, _, _ in picks)
        out = model(input_ids=ids_t.to(device), attention_mask=mask[:, None].to(device),
                    position_ids=pos_t.to(device), use_cache=cache is not None,
                    logits_to_keep=keep, **{self._cache_arg: cache})
        row_index = torch.tensor([row for row, _, _, _ in picks])
        column = torch.tensor([offsets[row] + pos - (width - keep) for row, pos, _, _ in picks])
        logprobs = torch.log_softmax(out.logits[row_index, column].float(), dim=-1)
        targets = torch.tensor([token for _, _, token, _ in picks])[:, None]
        values = logprobs.gather(1, targets.to(logprobs.device))[:, 0].tolist()
        totals = [[0.0] * len(e.continuations) for e in batch]
        for (row, _, _, choice), value in zip(picks, values, strict=True):
            totals[row][choice] += value
        return [
            ChoiceScores(tuple(t), tuple(len(c) for c in e.continuations))
            for t, e in zip(totals, batch, strict=True)
        ]

    def _left_pad(self, sequences: list[list[int]]) -> tuple[Any, Any, Any]:
        torch, _, _ = _import_stack()
        width = max(len(s) for s in sequences)
        pad = self.tokenizer.pad_token_id
        ids = torch.tensor([[pad] * (width - len(s)) + s for s in sequences])
        mask = torch.tensor([[0] * (width - len(s)) + [1] * len(s) for s in sequences])
        positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
        device = self.config.device
        return ids.to(device), mask.to(device), positions.to(device)

    # -- generation -----------------------------------------------------------------

    def generate(self, ref: ModelRef, requests: Sequence[GenerateRequest]) -> list[Generation]:
        """Batched completions with left padding; requests are grouped by decoding params."""
        torch, _, _ = _import_stack()
        results: list[Generation | None] = [None] * len(requests)
        groups: dict[str, list[int]] = {}
        for i, r in enumerate(requests):
            params = json.dumps([r.max_new_tokens, r.stop, r.temperature, r.seed])
            groups.setdefault(params, []).append(i)
        encoded = encode_prompts(
            self.tokenizer, [render_prompt(self.tokenizer, r.messages, r.prompt) for r in requests])
        with self.activate(ref) as model, torch.inference_mode(), progress(
            len(requests), f"generating {ref.name}"
        ) as advance:
            for indices in groups.values():
                indices.sort(key=lambda i: -len(encoded[i]))
                for start in range(0, len(indices), self.config.batch_size):
                    chunk = indices[start : start + self.config.batch_size]
                    began = time.perf_counter()
                    outputs = self._generate_batch(model, [encoded[i] for i in chunk],
                                                   requests[chunk[0]])
                    waited = (time.perf_counter() - began) * 1000
                    for i, generation in zip(chunk, outputs, strict=True):
                        results[i] = replace(generation, prompt_tokens=len(encoded[i]),
                                             latency_ms=waited)
                    advance(len(chunk))
        return [r for r in results if r is not None]

    def _generate_batch(
        self, model: Any, sequences: list[list[int]], params: GenerateRequest
    ) -> list[Generation]:
        torch, _, _ = _import_stack()
        ids, mask, _ = self._left_pad(sequences)
        torch.manual_seed(params.seed)
        sampling: dict[str, Any] = (
            {"do_sample": True, "temperature": params.temperature}
            if params.temperature > 0 else {"do_sample": False}
        )
        if params.stop:
            sampling.update(stop_strings=list(params.stop), tokenizer=self.tokenizer)
        out = model.generate(
            input_ids=ids, attention_mask=mask, max_new_tokens=params.max_new_tokens,
            pad_token_id=self.tokenizer.pad_token_id, eos_token_id=self.tokenizer.eos_token_id,
            top_p=None, top_k=None, **sampling,
        )
        generations = []
        for row in out[:, ids.shape[1]:].tolist():
            tokens = until_eos(row, self.tokenizer.eos_token_id, self.tokenizer.pad_token_id)
            text, finish = cut_at_stop(
                self.tokenizer.decode(tokens, skip_special_tokens=True), params.stop,
                "stop" if len(tokens) < params.max_new_tokens else "length")
            generations.append(Generation(text, len(tokens), finish))
        return generations

