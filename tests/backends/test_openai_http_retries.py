"""The HTTP backend when the server misbehaves: 429, 5xx, dropped connections, slow
answers; the API key stays out of logs, errors and the cache; concurrency is bounded."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from tunegate.backends import CachedBackend, GenerateRequest, ModelRef, ResponseCache
from tunegate.backends.openai_http import BackendHTTPError, OpenAIHTTPBackend
from tunegate.config import OpenAIConfig

BASE = ModelRef("base", "tiny-base")
ONE = [GenerateRequest(prompt="hello")]
KEY = "sk-test-0123456789abcdef"


def backend_for(server: Any, **settings: Any) -> OpenAIHTTPBackend:
    settings = {"backoff_s": 0.0, **settings}
    return OpenAIHTTPBackend(OpenAIConfig(base_url=server.url, **settings))


def test_429_is_retried_after_the_servers_retry_after(openai_server, replies):
    openai_server.script("/v1/completions",
                         replies.Reply({"error": {"message": "slow down"}}, status=429,
                                       headers={"Retry-After": "0.3"}))
    backend = backend_for(openai_server)
    backend.served_models()
    start = time.monotonic()
    [generation] = backend.generate(BASE, ONE)
    assert generation.text == "ok"
    assert time.monotonic() - start >= 0.3  # backoff_s is 0: only Retry-After waits
    assert len(openai_server.posts("/v1/completions")) == 2


def test_5xx_and_dropped_connections_are_retried(openai_server, replies):
    openai_server.script("/v1/completions", replies.Reply(status=500, body={}),
                         replies.Reply(drop=True), replies.Reply(status=503, body={}))
    [generation] = backend_for(openai_server, max_retries=3).generate(BASE, ONE)
    assert generation.text == "ok"
    assert len(openai_server.posts("/v1/completions")) == 4


def test_the_last_failure_names_the_url_the_status_and_the_attempts(openai_server, replies):
    openai_server.script("/v1/completions", *[replies.Reply(
        {"error": {"message": "worker died"}}, status=500)] * 3)
    with pytest.raises(BackendHTTPError) as caught:
        backend_for(openai_server, max_retries=2).generate(BASE, ONE)
    message = str(caught.value)
    assert f"POST {openai_server.url}/completions" in message
    assert "after 3 attempt(s): HTTP 500: worker died" in message
    assert caught.value.status == 500


def test_a_client_error_is_not_retried(openai_server, replies):
    openai_server.script("/v1/completions", replies.Reply(
        {"error": {"message": "max_tokens too large"}}, status=400))
    with pytest.raises(BackendHTTPError, match="failed: HTTP 400: max_tokens too large"):
        backend_for(openai_server, max_retries=3).generate(BASE, ONE)
    assert len(openai_server.posts("/v1/completions")) == 1


def test_a_slow_answer_times_out(openai_server, replies):
    backend = backend_for(openai_server, timeout_s=0.2, max_retries=1)
    backend.served_models()
    openai_server.script("/v1/completions", replies.Reply(delay=5.0, body={}),
                         replies.Reply(delay=5.0, body={}))
    start = time.monotonic()
    with pytest.raises(BackendHTTPError, match=r"after 2 attempt\(s\): timed out after 0.2 s"):
        backend.generate(BASE, ONE)
    assert time.monotonic() - start < 2.0


def test_an_unreachable_server_fails_with_its_url(openai_server):
    url = openai_server.url
    openai_server.stop()
    backend = OpenAIHTTPBackend(OpenAIConfig(base_url=url, max_retries=1, backoff_s=0.0))
    with pytest.raises(BackendHTTPError, match=rf"GET {url}/models failed.*connection failed"):
        backend.generate(BASE, ONE)


def test_concurrency_is_bounded(openai_server, replies):
    # a long delay, so that three requests overlap on the server even on a busy machine
    openai_server.on("/v1/completions", lambda request: replies.Reply(
        replies.completion_reply("ok").body, delay=0.3))
    requests = [GenerateRequest(prompt=f"p{i}") for i in range(9)]
    backend_for(openai_server, concurrency=3).generate(BASE, requests)
    assert openai_server.max_active == 3  # reached, never exceeded


def test_the_api_key_is_sent_but_never_logged_raised_or_cached(
    openai_server, replies, monkeypatch, caplog, tmp_path
):
    monkeypatch.setenv("TG_TEST_API_KEY", KEY)
    caplog.set_level(logging.DEBUG)  # httpx and httpcore log at debug too
    config = OpenAIConfig(base_url=openai_server.url, api_key_env="TG_TEST_API_KEY",
                          backoff_s=0.0)
    cache = ResponseCache(tmp_path / "responses.sqlite")
    backend = CachedBackend(OpenAIHTTPBackend(config), cache)
    openai_server.script("/v1/completions", replies.Reply(status=502, body={}))
    backend.generate(BASE, ONE)  # one retry logged, then cached

    def echo_header(request):  # a hostile server that reflects the key in its error
        return replies.Reply({"error": {"message": f"bad key {request.headers['Authorization']}"}},
                             status=401)

    openai_server.on("/v1/completions", echo_header)
    with pytest.raises(BackendHTTPError) as caught:
        backend.generate(BASE, [GenerateRequest(prompt="other")])
    cache.close()
    assert all(r.headers["Authorization"] == f"Bearer {KEY}" for r in openai_server.received)
    assert "bad key Bearer ***" in str(caught.value)
    assert "retry 1 of 3" in caplog.text
    for where in (str(caught.value), repr(caught.value), caplog.text, repr(backend.inner),
                  config.model_dump_json()):
        assert KEY not in where
    assert KEY.encode() not in (tmp_path / "responses.sqlite").read_bytes()


def test_a_missing_key_variable_is_named_not_guessed(monkeypatch):
    monkeypatch.delenv("TG_TEST_API_KEY", raising=False)
    config = OpenAIConfig(base_url="http://127.0.0.1:9/v1", api_key_env="TG_TEST_API_KEY")
    with pytest.raises(ValueError, match="TG_TEST_API_KEY, which is not set"):
        OpenAIHTTPBackend(config)
