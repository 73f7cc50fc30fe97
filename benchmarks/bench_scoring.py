"""Scoring classification choices by log-likelihood: tunegate vs lm-eval vs a plain loop.

Same model, same prompts, same choices, same token ids; prints examples/s, the speed
ratio to lm-eval's ``hf`` model and the largest score difference. A benchmark, not a
test: it always exits 0.

    .venv/bin/python benchmarks/bench_scoring.py [--limit N] [--threads N] [--scenarios ...]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The example's eval tickets as the gate sees them: chat messages (system prompt, ticket)
# rendered with the base tokenizer's chat template, ending in "assistant:".
SINGLE = (" billing", " shipping", " technical", " account", " returns", " other")
MULTI = (" billing and payments", " shipping and delivery", " technical support",
         " account and login", " returns and refunds", " something else")
SPEEDUP_TARGET = {"single": 1.2, "multi": 3.0}  # tunegate examples/s ÷ lm-eval's
MAX_ABS_DIFF = 1e-4
BATCH = 32
WARMUP = 4
CACHE = Path(__file__).resolve().parents[1] / ".tunegate"


@dataclass(frozen=True)
class Scenario:
    name: str
    model: str  # "tiny" (the example base) or "30m" (random-initialised Llama)
    kind: str  # "single" or "multi": tokens per choice
    choices: tuple[str, ...]


SCENARIOS = {s.name: s for s in (
    Scenario("tiny-single", "tiny", "single", SINGLE),
    Scenario("tiny-multi", "tiny", "multi", MULTI),
    Scenario("30m-single", "30m", "single", SINGLE),
    Scenario("30m-multi", "30m", "multi", MULTI),
)}


@dataclass(frozen=True)
class Run:
    """One method on one scenario: timed seconds and per-example, per-choice scores."""

    method: str
    seconds: float
    scores: list[list[float]]


def chat_prompts(base: Path, examples: Sequence[Any]) -> list[str]:
    """Each ticket rendered with the chat template and a generation prompt."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base)
    return [
        tokenizer.apply_chat_template(
            [m.model_dump() for m in e.messages], add_generation_prompt=True, tokenize=False
        )
        for e in examples
    ]


def build_random_llama(tiny: Path, out: Path) -> Path:
    """A ~30M-parameter random Llama with the tiny model's tokenizer, saved to ``out``."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(tiny)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=512, intermediate_size=1536,
                      num_hidden_layers=8, num_attention_heads=8, num_key_value_heads=8,
                      max_position_embeddings=512, pad_token_id=tok.pad_token_id,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                      tie_word_embeddings=True)
    torch.manual_seed(0)
    LlamaForCausalLM(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    return out


def score_tunegate(backend: Any, prompts: Sequence[str], choices: tuple[str, ...]) -> Run:
    from tunegate.backends._protocol import ModelRef, ScoreRequest

    ref = ModelRef("base", backend.base)
    requests = [ScoreRequest(choices=choices, prompt=p) for p in prompts]
    started = time.perf_counter()
    scores = backend.score(ref, requests)
    return Run("tunegate", time.perf_counter() - started, [list(s.logprobs) for s in scores])


def score_plain(model: Any, tok: Any, prompts: Sequence[str], choices: tuple[str, ...]) -> Run:
    """One right-padded forward per (prompt, choice) pair, BATCH pairs at a time."""
    import torch

    started = time.perf_counter()
    pairs: list[tuple[list[int], int]] = []
    for prompt in prompts:
        context = len(tok.encode(prompt))
        pairs.extend((tok.encode(prompt + choice), context) for choice in choices)
    totals: list[float] = []
    with torch.inference_mode():
        for start in range(0, len(pairs), BATCH):
            chunk = pairs[start : start + BATCH]
            width = max(len(ids) for ids, _ in chunk)
            ids = torch.tensor([i + [tok.pad_token_id] * (width - len(i)) for i, _ in chunk])
            mask = torch.tensor([[1] * len(i) + [0] * (width - len(i)) for i, _ in chunk])
            logits = model(input_ids=ids, attention_mask=mask).logits
            logprobs = torch.log_softmax(logits.float(), dim=-1)
            for row, (whole, n) in enumerate(chunk):
                targets = torch.tensor(whole[n:])[:, None]
                totals.append(float(logprobs[row, n - 1 : len(whole) - 1].gather(1, targets).sum()))
    scores = [totals[i : i + len(choices)] for i in range(0, len(totals), len(choices))]
    return Run("plain loop", time.perf_counter() - started, scores)


def make_lm_eval_model(model: Any, tok: Any) -> Any:
    """lm-eval's ``hf`` model around the loaded model; times its loglikelihood calls."""
    from lm_eval.models.huggingface import HFLM

    class TimedHFLM(HFLM):  # type: ignore[misc]
        seconds = 0.0

        def loglikelihood(self, requests: list[Any], disable_tqdm: bool = False) -> list[Any]:
            started = time.perf_counter()
            try:
                scores: list[Any] = super().loglikelihood(requests, disable_tqdm=disable_tqdm)
                return scores
            finally:
                self.seconds += time.perf_counter() - started

    # add_bos_token=True makes tok_encode pass add_special_tokens=True: BOS, like tunegate
    return TimedHFLM(pretrained=model, tokenizer=tok, batch_size=BATCH, add_bos_token=True)


def score_lm_eval(lm: Any, prompts: Sequence[str], choices: tuple[str, ...], folder: Path,
                  name: str) -> tuple[Run, float, list[list[tuple[str, str]]]]:
    """A local multiple_choice task: the run, simple_evaluate's wall time, lm-eval's pairs."""
    import lm_eval
    from lm_eval.tasks import TaskManager

    data = folder / f"{name}.jsonl"
    data.write_text("".join(json.dumps({"prompt": p, "label_idx": 0}) + "\n" for p in prompts))
    task = {  # JSON is YAML; choices keep their leading space, so no delimiter is added
        "task": name, "dataset_path": "json", "test_split": "test",
        "dataset_kwargs": {"data_files": {"test": str(data)}},
        "output_type": "multiple_choice", "doc_to_text": "{{prompt}}",
        "doc_to_choice": list(choices), "target_delimiter": "", "doc_to_target": "label_idx",
        "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
    }
    (folder / f"{name}.yaml").write_text(json.dumps(task))
    manager = TaskManager(include_path=str(folder), include_defaults=False)
    lm.seconds = 0.0
    started = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()):  # lm-eval's tqdm bars ignore TQDM_DISABLE
        result = lm_eval.simple_evaluate(model=lm, tasks=[name], task_manager=manager,
                                         bootstrap_iters=0, log_samples=True)
    wall = time.perf_counter() - started
    samples = sorted(result["samples"][name], key=lambda s: s["doc_id"])
    scores = [[float(r[0]) for r in s["filtered_resps"]] for s in samples]
    arguments = [[(ctx, cont) for ctx, cont in s["arguments"]] for s in samples]
    return Run("lm-eval hf", lm.seconds, scores), wall, arguments


def same_token_ids(backend: Any, lm: Any, prompts: Sequence[str], choices: tuple[str, ...],
                   arguments: list[list[tuple[str, str]]]) -> bool:
    """tunegate's token ids equal lm-eval's for every (context, continuation) it scored."""
    from tunegate.backends._protocol import ScoreRequest

    for i, (prompt, pairs) in enumerate(zip(prompts, arguments, strict=True)):
        ours = backend._encode_choices(i, ScoreRequest(choices=choices, prompt=prompt))
        for j, (context, continuation) in enumerate(pairs):
            if lm._encode_pair(context, continuation) != (ours.context, ours.continuations[j]):
                print(f"token ids differ: example {i}, choice {choices[j]!r}")
                return False
    return True


def max_abs_diff(a: list[list[float]], b: list[list[float]]) -> float:
    return max(abs(x - y) for ra, rb in zip(a, b, strict=True) for x, y in zip(ra, rb, strict=True))


@dataclass(frozen=True)
class Outcome:
    """A scenario's runs (lm-eval first), simple_evaluate's wall time, the token-id check."""

    runs: list[Run]
    wall: float
    same_ids: bool


def run_scenario(scenario: Scenario, backend: Any, lm: Any, prompts: list[str],
                 folder: Path) -> Outcome:
    choices, model, tok = scenario.choices, backend.model, backend.tokenizer
    name = scenario.name.replace("-", "_")
    score_tunegate(backend, prompts[:WARMUP], choices)  # warm-ups, not timed
    score_plain(model, tok, prompts[:WARMUP], choices)
    score_lm_eval(lm, prompts[:WARMUP], choices, folder, f"warm_{name}")
    reference, wall, arguments = score_lm_eval(lm, prompts, choices, folder, name)
    runs = [reference, score_tunegate(backend, prompts, choices),
            score_plain(model, tok, prompts, choices)]
    return Outcome(runs, wall, same_token_ids(backend, lm, prompts, choices, arguments))


def report(results: dict[str, Outcome], n: int, threads: int) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"log-likelihood scoring, {n} examples per scenario, {threads} threads")
    for column in ("scenario", "method", "examples/s", "× lm-eval", "max |Δ score| vs lm-eval"):
        table.add_column(column, justify="left" if column in ("scenario", "method") else "right")
    verdicts = []
    for name, outcome in results.items():
        reference, tunegate, plain = outcome.runs
        for run in outcome.runs:
            diff = "—" if run is reference else f"{max_abs_diff(run.scores, reference.scores):.2e}"
            table.add_row(name, run.method, f"{n / run.seconds:.1f}",
                          f"{reference.seconds / run.seconds:.2f}", diff)
        table.add_section()
        kind, ratio = SCENARIOS[name].kind, reference.seconds / tunegate.seconds
        diffs = [max_abs_diff(tunegate.scores, r.scores) for r in (reference, plain)]
        verdicts.append(
            f"{name}: tunegate {ratio:.2f}× lm-eval with {kind}-token labels, target ≥ "
            f"{SPEEDUP_TARGET[kind]}× [{_mark(ratio >= SPEEDUP_TARGET[kind])}]; max |Δ| "
            f"tunegate vs lm-eval {diffs[0]:.1e}, vs plain loop {diffs[1]:.1e}, target < "
            f"{MAX_ABS_DIFF:g} [{_mark(max(diffs) < MAX_ABS_DIFF)}]; token ids identical to "
            f"lm-eval's: {'yes' if outcome.same_ids else 'NO'}; "
            f"simple_evaluate wall {outcome.wall:.1f} s"
        )
    console.print(table)
    console.print(
        "lm-eval is timed inside HFLM.loglikelihood (tokenizing + forwards); task loading, "
        "request building and metrics are excluded. tunegate and the plain loop are timed "
        "end to end (tokenizing + forwards).", soft_wrap=True,
    )
    for line in verdicts:
        console.print(line, soft_wrap=True)


def _mark(ok: bool) -> str:
    return "[green]met[/green]" if ok else "[bold red]NOT met[/bold red]"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="examples per scenario")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--scenarios", nargs="+", choices=list(SCENARIOS), default=list(SCENARIOS))
    args = parser.parse_args(argv)
    for key in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TUNEGATE_NO_PROGRESS"):
        os.environ.setdefault(key, "1")
    os.environ.setdefault("LMEVAL_LOG_LEVEL", "ERROR")

    import torch

    from tunegate.backends.transformers_backend import TransformersBackend
    from tunegate.config import BackendConfig
    from tunegate.example.base_model import example_base
    from tunegate.example.tickets import build_datasets

    torch.set_num_threads(args.threads)
    busy, cores = os.getloadavg()[0], os.cpu_count() or 1
    if busy + args.threads > cores + 0.5:
        print(f"warning: load average {busy:.1f} on {cores} cores: with {args.threads} torch "
              "threads, rates can drop several-fold (threads wait on descheduled peers); "
              "compare ratios within one run, or rerun idle or with fewer --threads")
    results: dict[str, Outcome] = {}
    with tempfile.TemporaryDirectory(prefix="bench-scoring-") as tmp:
        folder = Path(tmp)
        tiny = example_base(CACHE)
        prompts = chat_prompts(tiny, build_datasets(0)["eval"][: args.limit])
        for model_name in ("tiny", "30m"):
            chosen = [SCENARIOS[s] for s in args.scenarios if SCENARIOS[s].model == model_name]
            if not chosen:
                continue
            base = tiny if model_name == "tiny" else build_random_llama(tiny, folder / "llama30m")
            config = BackendConfig(batch_size=BATCH, threads=args.threads)
            backend = TransformersBackend(str(base), config)
            lm = make_lm_eval_model(backend.model, backend.tokenizer)
            for scenario in chosen:
                results[scenario.name] = run_scenario(scenario, backend, lm, prompts, folder)
    report(results, len(prompts), args.threads)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
