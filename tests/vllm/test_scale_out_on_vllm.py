"""Scale-out for real: the OpenAI backend spreads one run over two vLLM servers.

Two servers serve the same tiny base and LoRA adapter under the same names (as one per
GPU would); the backend must send each some of the requests and answer exactly as one
server does. Refusing servers that serve different models is tested against the test
HTTP server (tests/backends/test_openai_scale_out.py): a third vLLM costs ~45 s.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tunegate.backends import GenerateRequest, ModelRef, ScoreRequest
from tunegate.backends.openai_http import OpenAIHTTPBackend, served_ref
from tunegate.backends.vllm_server import VLLMServer, vllm_available
from tunegate.config import OpenAIConfig

MISSING = vllm_available()
pytestmark = [
    pytest.mark.vllm,
    pytest.mark.skipif(MISSING is not None, reason=f"needs vLLM (tox -e vllm): {MISSING}"),
]

BASE_NAME, LORA_NAME = "tiny-base", "billing"  # as served by conftest.vllm_server
LABELS = ("billing", "shipping", "technical", "account", "returns", "other")


@pytest.fixture(scope="module")
def twin_server(tmp_path_factory: pytest.TempPathFactory, tiny_base: Path,
                billing_adapter: Path, vllm_server: VLLMServer) -> Iterator[VLLMServer]:
    """A second server serving what conftest's does, as a second GPU would."""
    server = VLLMServer(tiny_base, tmp_path_factory.mktemp("vllm-twin-log"),
                        served_name=BASE_NAME, adapters={LORA_NAME: billing_adapter},
                        max_model_len=256)
    with server:
        yield server


def backend(urls: list[str], tiny_base: Path) -> OpenAIHTTPBackend:
    return OpenAIHTTPBackend(OpenAIConfig(base_url=urls, model=BASE_NAME,
                                          tokenizer=str(tiny_base), concurrency=4))


def finished_requests(server: VLLMServer) -> float:
    """Requests the server has completed, from its Prometheus /metrics."""
    text = httpx.get(server.url.removesuffix("/v1") + "/metrics", timeout=10).text
    counts = re.findall(r'^vllm:request_success_total\{[^}]*\} ([0-9.e+]+)$', text, re.M)
    return sum(float(c) for c in counts)


def test_two_servers_share_a_run_and_answer_as_one(vllm_server, twin_server, tiny_base,
                                                   tiny_examples):
    pair = backend([vllm_server.url, twin_server.url], tiny_base)
    single = backend([vllm_server.url], tiny_base)
    base = ModelRef("base", BASE_NAME)
    lora = served_ref("candidate", BASE_NAME, LORA_NAME)
    generations = [GenerateRequest(messages=e.messages, max_new_tokens=6)
                   for e in tiny_examples[:24]]
    scores = [ScoreRequest(choices=LABELS, messages=e.messages) for e in tiny_examples[:8]]
    before = (finished_requests(vllm_server), finished_requests(twin_server))
    spread = pair.generate(base, generations)
    after = (finished_requests(vllm_server), finished_requests(twin_server))
    assert all(a > b for a, b in zip(after, before, strict=True)), (before, after)
    assert sum(after) - sum(before) == len(generations)
    assert [g.text for g in spread] == [g.text for g in single.generate(base, generations)]
    spread_scores = pair.score(lora, scores)  # one at a time per server (vLLM issue 29955)
    one_scores = single.score(lora, scores)
    assert max(abs(x - y) for a, b in zip(spread_scores, one_scores, strict=True)
               for x, y in zip(a.logprobs, b.logprobs, strict=True)) < 1e-4
    # loopback servers of one model fingerprint as one: the pair shares the cache of one
    assert pair.fingerprint(base) == single.fingerprint(base)
    assert all(g.latency_ms and g.prompt_tokens for g in spread)

