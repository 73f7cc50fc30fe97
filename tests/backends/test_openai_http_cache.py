"""The HTTP backend behind the response cache: an interrupted or killed run resumes
without repeating the calls it completed; the session builds the backend from config."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from tunegate.backends import CachedBackend, GenerateRequest, ModelRef, ResponseCache
from tunegate.backends.openai_http import BackendHTTPError, OpenAIHTTPBackend
from tunegate.config import ConfigError, OpenAIConfig, load_config
from tunegate.session import GateSession

BASE = ModelRef("base", "tiny-base")
PROMPTS = [GenerateRequest(prompt=f"p{i}") for i in range(8)]


def answer_with_prompt(replies: Any, fail_once: str | None = None) -> Any:
    failed: list[str] = []

    def respond(request: Any) -> Any:
        prompt = request.body["prompt"]
        if prompt == fail_once and not failed:
            failed.append(prompt)
            return replies.Reply({"error": {"message": "bad request"}}, status=400)
        return replies.completion_reply(f"<{prompt}>")

    return respond


def seen_prompts(server: Any, since: int = 0) -> list[str]:
    return sorted(r.body["prompt"] for r in server.posts("/v1/completions")[since:])


def test_an_interrupted_run_resumes_with_only_the_missing_requests(
    openai_server, replies, tmp_path
):
    openai_server.on("/v1/completions", answer_with_prompt(replies, fail_once="p3"))
    config = OpenAIConfig(base_url=openai_server.url, concurrency=1)
    cache = ResponseCache(tmp_path / "responses.sqlite")
    backend = CachedBackend(OpenAIHTTPBackend(config), cache, chunk_size=2)
    with pytest.raises(BackendHTTPError):
        backend.generate(BASE, PROMPTS[:6])
    before = len(openai_server.posts("/v1/completions"))
    generations = backend.generate(BASE, PROMPTS[:6])
    cache.close()
    assert [g.text for g in generations] == [f"<p{i}>" for i in range(6)]
    assert seen_prompts(openai_server, before) == ["p2", "p3", "p4", "p5"]


CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from tunegate.backends import CachedBackend, GenerateRequest, ModelRef, ResponseCache
    from tunegate.backends.openai_http import OpenAIHTTPBackend
    from tunegate.config import OpenAIConfig

    config = OpenAIConfig(base_url=sys.argv[1], concurrency=1)
    cache = ResponseCache(Path(sys.argv[2]))
    backend = CachedBackend(OpenAIHTTPBackend(config), cache, chunk_size=2)
    requests = [GenerateRequest(prompt=f"p{i}") for i in range(8)]
    backend.generate(ModelRef("base", "tiny-base"), requests)
""")


def test_a_killed_run_resumes_without_repeating_its_calls(openai_server, replies, tmp_path):
    reached = threading.Event()
    answer = answer_with_prompt(replies)

    def hang_at_p4(request: Any) -> Any:
        if request.body["prompt"] == "p4" and not reached.is_set():
            reached.set()
            return replies.Reply(delay=60.0, body={})  # the run is killed while waiting
        return answer(request)

    openai_server.on("/v1/completions", hang_at_p4)
    cache_path = tmp_path / "responses.sqlite"
    child = subprocess.Popen([sys.executable, "-c", CHILD, openai_server.url, str(cache_path)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert reached.wait(timeout=60), child.communicate(timeout=5)
    finally:
        child.kill()
        child.communicate()
    assert seen_prompts(openai_server) == ["p0", "p1", "p2", "p3", "p4"]
    cache = ResponseCache(cache_path)
    backend = CachedBackend(OpenAIHTTPBackend(OpenAIConfig(base_url=openai_server.url)), cache)
    generations = backend.generate(BASE, PROMPTS)
    cache.close()
    assert [g.text for g in generations] == [f"<p{i}>" for i in range(8)]
    assert seen_prompts(openai_server, since=5) == ["p4", "p5", "p6", "p7"]
    assert (backend.hits, backend.misses) == (4, 4)


def write_config(folder: Path, backend: str) -> Path:
    (folder / "eval.jsonl").write_text('{"id": "1", "prompt": "x", "label": "billing"}\n')
    path = folder / "tunegate.toml"
    path.write_text(textwrap.dedent("""
        base = "tiny-base"
        candidate = "served:ticket-cand"
        production = "none"
        cache_dir = ".tg"
        [task]
        labels = ["billing", "other"]
        [data]
        eval = "eval.jsonl"
    """) + backend)
    return path


def test_the_session_builds_the_http_backend_behind_the_cache(openai_server, tmp_path):
    openai_server.models.append({"id": "ticket-cand", "object": "model",
                                 "root": "/srv/adapters/cand", "parent": "tiny-base"})
    path = write_config(tmp_path, f"""
        [backend]
        kind = "openai"
        [backend.openai]
        base_url = "{openai_server.url}"
        concurrency = 2
    """.replace("\n        ", "\n"))
    session = GateSession(load_config(path))
    assert isinstance(session.backend.inner, OpenAIHTTPBackend)
    assert session.backend.cache is session.response_cache is not None
    assert session.candidate.adapter == Path("served:ticket-cand")
    session.backend.generate(session.candidate, [GenerateRequest(prompt="q")])
    session.backend.generate(session.candidate, [GenerateRequest(prompt="q")])
    [sent] = openai_server.posts("/v1/completions")  # the second call was a cache hit
    assert sent.body["model"] == "ticket-cand"
    session.response_cache.close()


@pytest.mark.parametrize(("table", "message"), [
    ('[backend]\nkind = "openai"\n', "kind 'openai' needs a [backend.openai] table"),
    ('[backend]\nkind = "openai"\n[backend.openai]\nbase_url = "127.0.0.1:8000"\n',
     "backend.openai.base_url"),
    ('[backend.openai]\nbase_url = "http://h/v1"\napi_key_env = "sk-live-0123-abcd"\n',
     "backend.openai.api_key_env"),
    ('[judge]\nrepeat = 3\n', "repeat > 1 needs temperature > 0"),
])
def test_bad_http_and_judge_settings_are_config_errors(tmp_path, table, message):
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        load_config(write_config(tmp_path, "\n" + table))
    assert "sk-live" not in str(caught.value)
