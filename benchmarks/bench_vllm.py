"""tunegate's in-process vLLM backend against vLLM called directly, and its scoring cost.

Generation: ``VLLMBackend.generate`` (rendering, tokenizing, one ``LLM.generate``,
decoding) against ``LLM.generate`` on the same engine with the same rendered prompts
(vLLM tokenizing and detokenizing them), timed alternately; prints requests/s of both
and the ratio (target ≥ 0.9×).

Scoring (unless ``--no-scoring``): the example gate's classification requests (chat
tickets) with one-token labels and with multi-token labels, scored by the transformers
backend, by ``VLLMBackend`` (one-token choices batched; longer ones one (context,
choice) per engine step: the workaround of vLLM issue 29955), and by prompt
log-probabilities batched on a second engine without LoRA, where the bug does not
apply: what the workaround costs. A benchmark, not a test: it always exits 0.

    OMP_NUM_THREADS=1 /work/vllm-venv/bin/python benchmarks/bench_vllm.py [--limit N]
        [--max-new-tokens N] [--repeats N] [--adapter DIR] [--no-scoring]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LABELS = ("billing", "shipping", "technical", "account", "returns", "other")
PHRASES = ("billing and payments", "shipping and delivery", "technical support",
           "account and login", "returns and refunds", "something else")
WARMUP = 4
GENERATION_TARGET = 0.9  # VLLMBackend requests/s ÷ LLM.generate's
MAX_ABS_DIFF = 1e-4
CACHE = Path(__file__).resolve().parents[1] / ".tunegate"


@dataclass(frozen=True)
class Timed:
    method: str
    seconds: float  # best of the repeats


def best_of(repeats: int, runs: dict[str, Callable[[], object]]) -> list[Timed]:
    """Each run ``repeats`` times, interleaved and in alternating order, so load drifts
    and whatever the previous run leaves behind hit all of them alike."""
    best = dict.fromkeys(runs, float("inf"))
    for repeat in range(repeats):
        order = list(runs.items())
        for name, run in order if repeat % 2 == 0 else reversed(order):
            began = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - began)
    return [Timed(name, seconds) for name, seconds in best.items()]


def bench_generation(backend: Any, ref: Any, examples: Sequence[Any], max_new_tokens: int,
                     repeats: int) -> tuple[list[Timed], bool]:
    """Backend vs direct on one engine; and whether both produced the same text."""
    from vllm import SamplingParams

    from tunegate.backends import GenerateRequest
    from tunegate.backends._render import render_prompt

    requests = [GenerateRequest(messages=e.messages, max_new_tokens=max_new_tokens)
                for e in examples]
    engine, lora = backend.engine, backend.lora_request(ref)
    tokenizer = backend.tokenizer
    prompts = [render_prompt(tokenizer, r.messages, r.prompt) for r in requests]
    params = SamplingParams(max_tokens=max_new_tokens, temperature=0.0)

    def direct() -> list[Any]:
        return engine.generate(prompts, params, lora_request=lora, use_tqdm=False)

    backend.generate(ref, requests[:4])  # warm-up, not timed
    direct()
    timed = best_of(repeats, {"VLLMBackend.generate": lambda: backend.generate(ref, requests),
                              "LLM.generate": direct})
    ours, theirs = backend.generate(ref, requests), direct()
    same = all(g.text == o.outputs[0].text for g, o in zip(ours, theirs, strict=True))
    return timed, same


@dataclass(frozen=True)
class Scoring:
    """One label set: each method's wall time and per-example, per-choice scores."""

    name: str
    choices: int
    runs: list[Timed]
    scores: list[list[list[float]]]


def batched_prompt_logprobs(engine: Any, tokenizer: Any, requests: Sequence[Any]) -> list[Any]:
    """Every (context, choice) with prompt log-probabilities, all in one LLM.generate."""
    from vllm import SamplingParams

    from tunegate.backends.vllm_backend import encode_choices

    params = SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=0, detokenize=False)
    pairs = [(context, continuation) for r in requests
             for context, continuations in [encode_choices(tokenizer, r)]
             for continuation in continuations]
    outputs = engine.generate([{"prompt_token_ids": c + k} for c, k in pairs], params,
                              use_tqdm=False)
    totals = [sum(p[t].logprob for p, t in zip(o.prompt_logprobs[-len(k):], k, strict=True))
              for o, (_, k) in zip(outputs, pairs, strict=True)]
    width = len(requests[0].choices)
    return [totals[i : i + width] for i in range(0, len(totals), width)]


def bench_scoring(base: Path, backend: Any, examples: Sequence[Any],
                  threads: int) -> list[Scoring]:
    """transformers, VLLMBackend and batched vLLM without LoRA, on the base model."""
    from vllm import LLM

    from tunegate.backends import ModelRef, ScoreRequest
    from tunegate.backends.transformers_backend import TransformersBackend
    from tunegate.config import BackendConfig

    ref = ModelRef("base", str(base))
    hf = TransformersBackend(str(base), BackendConfig(threads=threads))
    plain = LLM(str(base), dtype="float32", enforce_eager=True,
                max_model_len=backend.settings.max_model_len, seed=0,
                kv_cache_memory_bytes=1 << 30)  # no LoRA: batched prompt log-probs work
    methods: dict[str, Callable[[list[Any]], list[list[float]]]] = {
        "transformers backend": lambda r: [list(s.logprobs) for s in hf.score(ref, r)],
        "VLLMBackend": lambda r: [list(s.logprobs) for s in backend.score(ref, r)],
        "vLLM batched, no LoRA": lambda r: batched_prompt_logprobs(plain, backend.tokenizer, r),
    }
    results = []
    try:
        for name, labels in (("one-token labels", LABELS), ("multi-token labels", PHRASES)):
            requests = [ScoreRequest(choices=labels, messages=e.messages) for e in examples]
            timed, scores = [], []
            for method, run in methods.items():
                run(requests[:WARMUP])  # not timed
                began = time.perf_counter()
                scores.append(run(requests))
                timed.append(Timed(method, time.perf_counter() - began))
            results.append(Scoring(name, len(examples) * len(labels), timed, scores))
    finally:
        plain.llm_engine.engine_core.shutdown()
    return results


def max_abs_diff(a: list[list[float]], b: list[list[float]]) -> float:
    return max(abs(x - y) for ra, rb in zip(a, b, strict=True) for x, y in zip(ra, rb, strict=True))


def report_generation(timed: list[Timed], n: int, max_new_tokens: int, same: bool) -> None:
    ours, direct = timed
    ratio = direct.seconds / ours.seconds
    print(f"\ngeneration: {n} chat requests, greedy, max_new_tokens {max_new_tokens}, "
          "best of the repeats")
    for run in timed:
        print(f"  {run.method:<24} {run.seconds:7.2f} s  {n / run.seconds:8.1f} requests/s")
    print(f"  VLLMBackend ÷ LLM.generate: {ratio:.2f}×, target ≥ {GENERATION_TARGET}× "
          f"[{'met' if ratio >= GENERATION_TARGET else 'NOT met'}]; same text: "
          f"{'yes' if same else 'NO'}")


def report_scoring(results: list[Scoring], n: int) -> None:
    for result in results:
        print(f"\nscoring: {n} chat tickets, {result.name} ({result.choices} choices), base")
        for run in result.runs:
            print(f"  {run.method:<24} {run.seconds:7.2f} s  {n / run.seconds:8.1f} examples/s"
                  f"  {1000 * run.seconds / result.choices:6.2f} ms/choice")
        hf, ours, batched = result.runs
        worst = max(max_abs_diff(result.scores[0], s) for s in result.scores[1:])
        print(f"  VLLMBackend: {ours.seconds / batched.seconds:.2f}× the time of batched "
              f"prompt log-probs without LoRA, {ours.seconds / hf.seconds:.1f}× the "
              f"transformers backend's; max |Δ score| vs transformers {worst:.1e}, target < "
              f"{MAX_ABS_DIFF:g} [{'met' if worst < MAX_ABS_DIFF else 'NOT met'}]")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=200, help="eval tickets (max 420)")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3, help="generation timings, best of")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads of the transformers backend (vLLM's CPU "
                             "engine binds one core and reserves one)")
    parser.add_argument("--adapter", type=Path, default=None,
                        help="a LoRA adapter of the example base to generate with")
    parser.add_argument("--no-scoring", dest="scoring", action="store_false")
    args = parser.parse_args(argv)
    for key in ("HF_HUB_OFFLINE", "TUNEGATE_NO_PROGRESS"):
        os.environ.setdefault(key, "1")

    from tunegate.backends import ModelRef
    from tunegate.backends.vllm_backend import VLLMBackend
    from tunegate.config import BackendConfig, VLLMConfig
    from tunegate.example.base_model import example_base
    from tunegate.example.tickets import build_datasets

    busy, cores = os.getloadavg()[0], os.cpu_count() or 1
    if busy > 0.5:
        print(f"warning: load average {busy:.1f} on {cores} cores: absolute rates drop; "
              "compare ratios within one run")
    base = example_base(CACHE)
    examples = build_datasets(0)["eval"][: args.limit]
    backend = VLLMBackend(str(base), BackendConfig(kind="vllm", vllm=VLLMConfig(
        max_model_len=512)))
    ref = ModelRef("base", str(base), args.adapter)
    try:
        timed, same = bench_generation(backend, ref, examples, args.max_new_tokens,
                                       args.repeats)
        report_generation(timed, len(examples), args.max_new_tokens, same)
        if args.scoring:
            report_scoring(bench_scoring(base, backend, examples, args.threads), len(examples))
    finally:
        backend.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
