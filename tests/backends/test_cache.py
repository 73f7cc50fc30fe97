"""The response cache: hits, misses, bypass, and resuming an interrupted run."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from tunegate.backends import (
    CachedBackend,
    ChoiceScores,
    GenerateRequest,
    Generation,
    ModelRef,
    ResponseCache,
    ScoreRequest,
)
from tunegate.backends._cache import request_key
from tunegate.data import Example

pytest.importorskip("torch")
from tunegate.backends.transformers_backend import TransformersBackend

CHOICES = ("billing", "shipping", "other")


class Interrupted(RuntimeError):
    pass


class CountingBackend:
    """Wraps the real backend; counts computed requests and can die after N calls."""

    def __init__(self, inner: TransformersBackend, die_after_calls: int | None = None):
        self.inner = inner
        self.computed = 0
        self.calls = 0
        self.die_after_calls = die_after_calls

    def fingerprint(self, ref: ModelRef) -> str:
        return self.inner.fingerprint(ref)

    def _tick(self, n: int) -> None:
        if self.die_after_calls is not None and self.calls >= self.die_after_calls:
            raise Interrupted("killed half-way")
        self.calls += 1
        self.computed += n

    def score(self, ref: ModelRef, requests: Sequence[ScoreRequest]) -> list[ChoiceScores]:
        self._tick(len(requests))
        return self.inner.score(ref, requests)

    def generate(self, ref: ModelRef, requests: Sequence[GenerateRequest]) -> list[Generation]:
        self._tick(len(requests))
        return self.inner.generate(ref, requests)


@pytest.fixture(scope="module")
def real_backend(tiny_base: Path) -> TransformersBackend:
    return TransformersBackend(str(tiny_base))


def score_requests(examples: list[Example]) -> list[ScoreRequest]:
    return [ScoreRequest(choices=CHOICES, messages=e.messages) for e in examples]


def test_second_run_is_answered_from_the_cache(real_backend, tiny_examples, tmp_path):
    ref = ModelRef("base", real_backend.base)
    requests = score_requests(tiny_examples[:20])
    first = CountingBackend(real_backend)
    cold = CachedBackend(first, ResponseCache(tmp_path / "c.sqlite")).score(ref, requests)
    assert first.computed == 20
    second = CountingBackend(real_backend)
    warm_backend = CachedBackend(second, ResponseCache(tmp_path / "c.sqlite"))
    warm = warm_backend.score(ref, requests)
    assert second.computed == 0
    assert (warm_backend.hits, warm_backend.misses) == (20, 0)
    assert warm == cold  # floats survive the JSON round trip exactly


def test_only_missing_requests_are_computed(real_backend, tiny_examples, tmp_path):
    ref = ModelRef("base", real_backend.base)
    counting = CountingBackend(real_backend)
    cached = CachedBackend(counting, ResponseCache(tmp_path / "c.sqlite"))
    cached.score(ref, score_requests(tiny_examples[:10]))
    cached.score(ref, score_requests(tiny_examples[:15]))
    assert counting.computed == 15
    assert (cached.hits, cached.misses) == (10, 15)


def test_interrupted_run_resumes_where_it_stopped(real_backend, tiny_examples, tmp_path):
    ref = ModelRef("base", real_backend.base)
    requests = score_requests(tiny_examples[:25])
    dying = CountingBackend(real_backend, die_after_calls=2)
    with pytest.raises(Interrupted):
        CachedBackend(dying, ResponseCache(tmp_path / "c.sqlite"), chunk_size=10).score(
            ref, requests
        )
    assert dying.computed == 20  # two chunks finished and were stored before the kill
    resumed = CountingBackend(real_backend)
    result = CachedBackend(resumed, ResponseCache(tmp_path / "c.sqlite"), chunk_size=10).score(
        ref, requests
    )
    assert resumed.computed == 5
    # Batch composition moves float32 results by ~1e-7; the answers are the same.
    for got, expected in zip(result, real_backend.score(ref, requests), strict=True):
        assert got.logprobs == pytest.approx(expected.logprobs, abs=1e-5)


def test_keys_separate_models_requests_and_decoding(real_backend, tiny_adapters, tiny_examples,
                                                    tmp_path):
    counting = CountingBackend(real_backend)
    cached = CachedBackend(counting, ResponseCache(tmp_path / "c.sqlite"))
    base = ModelRef("base", real_backend.base)
    adapter = ModelRef("candidate", real_backend.base, tiny_adapters[0])
    renamed = ModelRef("production", real_backend.base, tiny_adapters[0])
    requests = score_requests(tiny_examples[:4])
    cached.score(base, requests)
    cached.score(adapter, requests)
    cached.score(renamed, requests)  # same content under another role: a hit
    assert counting.computed == 8
    greedy = [GenerateRequest(messages=tiny_examples[0].messages, max_new_tokens=4)]
    longer = [GenerateRequest(messages=tiny_examples[0].messages, max_new_tokens=5)]
    cached.generate(base, greedy)
    cached.generate(base, greedy)
    cached.generate(base, longer)
    assert counting.computed == 10


def test_no_cache_bypasses_reads_and_writes(real_backend, tiny_examples):
    counting = CountingBackend(real_backend)
    cached = CachedBackend(counting, None)
    ref = ModelRef("base", real_backend.base)
    cached.score(ref, score_requests(tiny_examples[:3]))
    cached.score(ref, score_requests(tiny_examples[:3]))
    assert counting.computed == 6


def test_cache_of_another_schema_is_refused(tmp_path):
    path = tmp_path / "c.sqlite"
    ResponseCache(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value='999' WHERE key='schema_version'")
    with pytest.raises(RuntimeError, match="schema 999"):
        ResponseCache(path)


def test_usage_is_measured_and_a_cache_hit_keeps_what_was_measured(
        real_backend, tiny_examples, tmp_path):
    ref = ModelRef("base", real_backend.base)
    requests = score_requests(tiny_examples[:12])
    cold = CachedBackend(real_backend, ResponseCache(tmp_path / "c.sqlite")).score(ref, requests)
    for answer, request in zip(cold, requests, strict=True):
        rendered = real_backend.tokenizer.apply_chat_template(
            [m.model_dump() for m in request.messages or ()], tokenize=False,
            add_generation_prompt=True)
        assert answer.prompt_tokens is not None
        assert abs(answer.prompt_tokens - len(real_backend.tokenizer(rendered).input_ids)) <= 2
        assert answer.latency_ms is not None and answer.latency_ms > 0
        assert answer.busy_ms is not None and 0 < answer.busy_ms <= answer.latency_ms * 1.5
    warm = CachedBackend(real_backend, ResponseCache(tmp_path / "c.sqlite")).score(ref, requests)
    assert [(a.prompt_tokens, a.latency_ms, a.busy_ms) for a in warm] == \
        [(a.prompt_tokens, a.latency_ms, a.busy_ms) for a in cold]


def test_generations_carry_their_usage(real_backend, tiny_examples):
    ref = ModelRef("base", real_backend.base)
    requests = [GenerateRequest(messages=e.messages, max_new_tokens=4) for e in tiny_examples[:5]]
    answers = CachedBackend(real_backend, None).generate(ref, requests)
    assert all(a.prompt_tokens and a.prompt_tokens > 10 for a in answers)
    assert all(a.latency_ms and a.busy_ms for a in answers)


def test_answers_cached_before_usage_was_recorded_load_without_it(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    backend = CachedBackend(CountingBackend(None, die_after_calls=0), cache)  # type: ignore[arg-type]
    request = ScoreRequest(choices=CHOICES, prompt="hello")
    ref = ModelRef("base", "m")
    backend._fingerprints[ModelRef("", "m", None)] = "fp"
    key = request_key("fp", "score", request.key())
    cache.put_many("score", [(key, {"logprobs": [-1.0, -2.0, -3.0], "token_counts": [1, 1, 1]})])
    [answer] = backend.score(ref, [request])
    assert answer == ChoiceScores((-1.0, -2.0, -3.0), (1, 1, 1))
    assert (answer.prompt_tokens, answer.latency_ms, answer.busy_ms) == (None, None, None)
