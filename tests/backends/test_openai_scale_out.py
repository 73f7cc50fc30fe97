"""The OpenAI-compatible backend over several real servers on 127.0.0.1: requests are
spread, a failing server's requests move to another, servers that serve different
models are refused; and the usage every answer carries (prompt tokens, latency)."""

from __future__ import annotations

import re
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tunegate.backends import CachedBackend, GenerateRequest, ModelRef, ResponseCache, ScoreRequest
from tunegate.backends.openai_http import (
    BackendHTTPError,
    OpenAIHTTPBackend,
    ServerModelMismatch,
    served_ref,
)
from tunegate.config import ConfigError, OpenAIConfig, load_config
from tunegate.data import Message

BASE = ModelRef("base", "tiny-base")
PROMPTS = [GenerateRequest(prompt=f"p{i}") for i in range(8)]
SCORE_REQUESTS = [ScoreRequest(prompt=f"Ticket {i}: card charged twice\nLabel:",
                               choices=(" billing", " account access")) for i in range(4)]
DELAY = 0.3  # seconds; the timing bounds below allow one DELAY of overhead


@pytest.fixture
def second_server(replies: Any) -> Iterator[Any]:
    server = replies.OpenAIServer().start()
    yield server
    server.stop()


def backend_for(*servers: Any, **settings: Any) -> OpenAIHTTPBackend:
    settings = {"backoff_s": 0.0, **settings}
    return OpenAIHTTPBackend(OpenAIConfig(base_url=[s.url for s in servers], **settings))


def answer_with_prompt(replies: Any, delay: float = 0.0, bos: str | None = None) -> Any:
    def respond(request: Any) -> Any:
        body = request.body
        if body.get("echo"):
            return replies.Reply(replies.echo_reply(body["prompt"], bos).body, delay=delay)
        return replies.Reply(replies.completion_reply(f"<{body['prompt']}>").body, delay=delay)

    return respond


def down_server(replies: Any) -> str:
    """The URL of a server that was started and stopped: connections are refused."""
    server = replies.OpenAIServer().start()
    server.stop()
    return str(server.url)


# -- spreading ------------------------------------------------------------------------


def test_two_servers_share_the_requests_and_answer_as_one_would(
    openai_server, second_server, replies
):
    for server in (openai_server, second_server):
        server.on("/v1/completions", answer_with_prompt(replies, delay=0.05))
    alone = backend_for(openai_server)
    expected = (alone.generate(BASE, PROMPTS), alone.score(BASE, SCORE_REQUESTS))
    first_alone = len(openai_server.posts("/v1/completions"))
    backend = backend_for(openai_server, second_server)
    assert (backend.generate(BASE, PROMPTS), backend.score(BASE, SCORE_REQUESTS)) == expected
    shares = [len(openai_server.posts("/v1/completions")) - first_alone,
              len(second_server.posts("/v1/completions"))]
    assert sum(shares) == len(PROMPTS) + 2 * len(SCORE_REQUESTS)
    assert min(shares) >= 4, shares  # both took a fair part


def test_the_concurrency_limit_is_per_server(openai_server, second_server, replies):
    for server in (openai_server, second_server):
        server.on("/v1/completions", answer_with_prompt(replies, delay=0.15))
    requests = [GenerateRequest(prompt=f"p{i}") for i in range(12)]
    backend_for(openai_server, second_server, concurrency=2).generate(BASE, requests)
    assert (openai_server.max_active, second_server.max_active) == (2, 2)


def test_a_faster_server_takes_more_requests(openai_server, second_server, replies):
    openai_server.on("/v1/completions", answer_with_prompt(replies, delay=0.4))
    second_server.on("/v1/completions", answer_with_prompt(replies))
    backend_for(openai_server, second_server, concurrency=1).generate(BASE, PROMPTS)
    slow, fast = (len(s.posts("/v1/completions")) for s in (openai_server, second_server))
    assert slow + fast == len(PROMPTS)
    assert fast > slow, (slow, fast)  # least outstanding: the queue drains to the free one


def test_scoring_is_one_request_at_a_time_per_server_that_serves_lora(
    openai_server, second_server, replies
):
    for server in (openai_server, second_server):
        server.models.append({"id": "ticket-cand", "object": "model", "parent": "tiny-base",
                              "root": "/srv/adapters/cand", "owned_by": "vllm"})
        server.on("/v1/completions", answer_with_prompt(replies, delay=0.1))
    backend = backend_for(openai_server, second_server, concurrency=8)
    assert backend.serves_lora()
    backend.score(BASE, SCORE_REQUESTS)
    assert (openai_server.max_active, second_server.max_active) == (1, 1)  # vLLM issue 29955
    assert openai_server.posts("/v1/completions") and second_server.posts("/v1/completions")


def test_the_cache_key_does_not_depend_on_which_server_answered(
    openai_server, second_server, replies, tmp_path
):
    for server in (openai_server, second_server):
        server.on("/v1/completions", answer_with_prompt(replies))
    cache = ResponseCache(tmp_path / "responses.sqlite")
    first = CachedBackend(backend_for(openai_server, second_server), cache)
    answers = first.generate(BASE, PROMPTS)
    again = CachedBackend(backend_for(second_server, openai_server), cache)  # other order
    assert again.fingerprint(BASE) == first.fingerprint(BASE)
    assert again.generate(BASE, PROMPTS) == answers
    cache.close()
    assert (again.hits, again.misses) == (len(PROMPTS), 0)


# -- failover -------------------------------------------------------------------------


def test_a_server_that_is_down_from_the_start_is_left_out(openai_server, replies, caplog):
    openai_server.on("/v1/completions", answer_with_prompt(replies))
    config = OpenAIConfig(base_url=[down_server(replies), openai_server.url], max_retries=1,
                          backoff_s=0.0)
    generations = OpenAIHTTPBackend(config).generate(BASE, PROMPTS)
    assert [g.text for g in generations] == [f"<p{i}>" for i in range(8)]
    assert len(openai_server.posts("/v1/completions")) == len(PROMPTS)
    assert "left out for this run" in caplog.text


def test_a_server_that_goes_down_has_its_requests_answered_by_the_other(
    openai_server, second_server, replies
):
    openai_server.on("/v1/completions", answer_with_prompt(replies))
    backend = backend_for(openai_server, second_server, max_retries=1)
    backend.served_models()  # both answered /models, then the second one dies
    second_server.stop()
    generations = backend.generate(BASE, PROMPTS)
    assert [g.text for g in generations] == [f"<p{i}>" for i in range(8)]
    assert len(openai_server.posts("/v1/completions")) == len(PROMPTS)


def test_a_server_that_keeps_failing_has_its_requests_retried_on_the_other(
    openai_server, second_server, replies
):
    openai_server.on("/v1/completions", answer_with_prompt(replies))
    second_server.on("/v1/completions", lambda request: replies.Reply(
        {"error": {"message": "engine dead"}}, status=500))
    backend = backend_for(openai_server, second_server, max_retries=1)
    assert [g.text for g in backend.generate(BASE, PROMPTS)] == [f"<p{i}>" for i in range(8)]
    failed = len(second_server.posts("/v1/completions"))
    assert failed >= 2  # it was tried (twice a request: max_retries=1), then avoided
    backend.generate(BASE, [GenerateRequest(prompt="later")])
    assert len(second_server.posts("/v1/completions")) == failed  # marked down: not asked


def test_when_every_server_fails_the_call_fails_naming_each(
    openai_server, second_server, replies
):
    for server in (openai_server, second_server):
        server.on("/v1/completions", lambda request: replies.Reply(
            {"error": {"message": "engine dead"}}, status=503))
    with pytest.raises(BackendHTTPError) as caught:
        backend_for(openai_server, second_server, max_retries=1).generate(BASE, PROMPTS[:1])
    message = str(caught.value)
    assert "POST completions failed on every server (2)" in message
    for server in (openai_server, second_server):
        assert f"POST {server.url}/completions failed after 2 attempt(s): HTTP 503" in message


def test_when_every_server_is_down_the_backend_fails_naming_each(replies):
    urls = [down_server(replies), down_server(replies)]
    backend = OpenAIHTTPBackend(OpenAIConfig(base_url=urls, max_retries=0))
    every = r"GET models failed on every server \(2\)"
    with pytest.raises(BackendHTTPError, match=every) as caught:
        backend.generate(BASE, PROMPTS[:1])
    assert all(f"GET {url}/models failed" in str(caught.value) for url in urls)


# -- the same model everywhere ----------------------------------------------------------


def test_servers_that_serve_another_model_under_the_name_are_refused(
    openai_server, second_server
):
    second_server.models[0] = {**second_server.models[0], "root": "/srv/models/other-base"}
    backend = backend_for(openai_server, second_server)
    with pytest.raises(ServerModelMismatch) as caught:
        backend.fingerprint(BASE)
    message = str(caught.value)
    assert f"{openai_server.url} and {second_server.url} do not serve" in message
    assert "root is '/srv/models/tiny-base' on the first and '/srv/models/other-base'" in message
    with pytest.raises(ServerModelMismatch):
        backend.generate(BASE, PROMPTS[:1])
    assert not openai_server.posts("/v1/completions") + second_server.posts("/v1/completions")


def test_a_server_that_lacks_the_adapter_is_refused_naming_both(openai_server, second_server):
    openai_server.models.append({"id": "ticket-cand", "object": "model",
                                 "root": "/srv/adapters/cand", "parent": "tiny-base"})
    candidate = served_ref("candidate", "tiny-base", "ticket-cand")
    with pytest.raises(ServerModelMismatch, match=re.escape(
            f"{second_server.url} does not serve the adapter 'ticket-cand' of "
            f"{candidate.describe()}, which {openai_server.url} serves as 'ticket-cand'")):
        backend_for(openai_server, second_server).fingerprint(candidate)


# -- usage ----------------------------------------------------------------------------


def test_generations_carry_prompt_tokens_and_latency(openai_server, replies):
    openai_server.on("/v1/completions", lambda request: replies.Reply(
        {**replies.completion_reply("ok").body,
         "usage": {"prompt_tokens": 17, "completion_tokens": 3}}, delay=DELAY))
    openai_server.script("/v1/chat/completions", replies.chat_reply("ok"))
    backend = backend_for(openai_server)
    [prompted] = backend.generate(BASE, [GenerateRequest(prompt="hello")])
    chat = GenerateRequest(messages=(Message(role="user", content="hello"),))
    [chatted] = backend.generate(BASE, [chat])
    assert (prompted.prompt_tokens, chatted.prompt_tokens) == (17, 5)
    assert prompted.latency_ms is not None and chatted.latency_ms is not None
    assert DELAY * 1000 <= prompted.latency_ms < 2 * DELAY * 1000, prompted
    assert 0 < chatted.latency_ms < DELAY * 1000, chatted
    assert prompted.busy_ms is None  # the cache layer's to fill


def test_scores_carry_the_prompts_own_tokens_and_the_longest_calls_latency(
    openai_server, replies
):
    openai_server.on("/v1/completions", answer_with_prompt(replies, delay=DELAY, bos="<s>"))
    request = ScoreRequest(prompt="Ticket: card charged twice\nLabel:",
                           choices=(" billing", " account access"))
    [scores] = backend_for(openai_server).score(BASE, [request])
    assert scores.token_counts == (1, 2)
    assert scores.prompt_tokens == 6  # <s> Ticket: card charged twice \nLabel:
    assert scores.latency_ms is not None
    # the two choices' calls run side by side: the request waits for one delay, not two
    assert DELAY * 1000 <= scores.latency_ms < 2 * DELAY * 1000, scores


def test_latency_leaves_out_the_backends_queue(openai_server, replies):
    openai_server.on("/v1/completions", answer_with_prompt(replies, delay=DELAY))
    backend = backend_for(openai_server, concurrency=1)
    backend.served_models()
    start = time.monotonic()
    generations = backend.generate(BASE, PROMPTS[:4])
    assert time.monotonic() - start >= 4 * DELAY  # one at a time: the queue was long
    latencies = [g.latency_ms for g in generations]
    assert all(lat is not None and DELAY * 1000 <= lat < 2 * DELAY * 1000
               for lat in latencies), latencies


def test_latency_includes_the_retries(openai_server, replies):
    openai_server.script("/v1/completions", replies.Reply(
        {"error": {"message": "busy"}}, status=503, headers={"Retry-After": str(DELAY)}))
    [generation] = backend_for(openai_server).generate(BASE, PROMPTS[:1])
    assert len(openai_server.posts("/v1/completions")) == 2
    assert generation.latency_ms is not None and generation.latency_ms >= DELAY * 1000


def test_cache_hits_keep_the_usage_measured_when_computed(openai_server, replies, tmp_path):
    openai_server.on("/v1/completions", answer_with_prompt(replies, delay=DELAY))
    cache = ResponseCache(tmp_path / "responses.sqlite")
    backend = CachedBackend(backend_for(openai_server), cache)
    computed = backend.generate(BASE, PROMPTS[:2]) + backend.score(BASE, SCORE_REQUESTS[:1])
    openai_server.on("/v1/completions", answer_with_prompt(replies))  # would be faster now
    hits = backend.generate(BASE, PROMPTS[:2]) + backend.score(BASE, SCORE_REQUESTS[:1])
    cache.close()
    assert backend.hits == 3
    usage = [(a.prompt_tokens, a.latency_ms, a.busy_ms) for a in computed]
    assert [(a.prompt_tokens, a.latency_ms, a.busy_ms) for a in hits] == usage
    assert all(latency is not None and latency >= DELAY * 1000 for _, latency, _ in usage)


# -- configuration --------------------------------------------------------------------


def write_config(folder: Path, openai_table: str) -> Path:
    (folder / "eval.jsonl").write_text('{"id": "1", "prompt": "x", "label": "billing"}\n')
    path = folder / "tunegate.toml"
    path.write_text(textwrap.dedent("""
        base = "tiny-base"
        candidate = "served:ticket-cand"
        [task]
        labels = ["billing", "other"]
        [data]
        eval = "eval.jsonl"
        [backend]
        kind = "openai"
        [backend.openai]
    """) + openai_table)
    return path


def test_several_servers_are_a_list_in_base_url(tmp_path):
    path = write_config(tmp_path, 'base_url = ["http://gpu0:8000/v1", "http://gpu1:8000/v1"]\n')
    openai = load_config(path).backend.openai
    assert openai is not None
    assert openai.servers == ("http://gpu0:8000/v1", "http://gpu1:8000/v1")
    assert OpenAIConfig(base_url="http://gpu0:8000/v1").servers == ("http://gpu0:8000/v1",)


@pytest.mark.parametrize(("table", "message"), [
    ('base_url = ["http://gpu0:8000/v1", "gpu1:8000"]\n',
     "backend.openai.base_url: Value error, entry 2 ('gpu1:8000') must start with http://"),
    ('base_url = []\n', "backend.openai.base_url: Value error, expected a URL or a non-empty"),
    ('base_url = ["http://gpu0:8000/v1", "http://gpu0:8000/v1/"]\n', "is listed twice"),
    ('base_urls = ["http://gpu0:8000/v1"]\n', "several servers go in base_url as a list"),
])
def test_bad_server_lists_are_config_errors_naming_the_field(tmp_path, table, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(write_config(tmp_path, table))
