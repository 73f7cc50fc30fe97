"""The OpenAI-compatible backend against a real HTTP server: generation, scoring,
served-name routing and fingerprints."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tunegate.backends import Backend, GenerateRequest, ModelRef, ScoreRequest
from tunegate.backends.openai_http import (
    ChoiceMergesWithContext,
    OpenAIHTTPBackend,
    PromptLogprobsUnsupported,
    served_ref,
)
from tunegate.config import OpenAIConfig
from tunegate.data import Message

BASE = ModelRef("base", "tiny-base")


def backend_for(server: Any, **settings: Any) -> OpenAIHTTPBackend:
    return OpenAIHTTPBackend(OpenAIConfig(base_url=server.url, backoff_s=0.0, **settings))


def test_it_is_a_backend(openai_server):
    assert isinstance(backend_for(openai_server), Backend)


def test_chat_generation_sends_an_openai_chat_request(openai_server, replies):
    openai_server.script("/v1/chat/completions", replies.chat_reply("billing\nEND more", 4))
    request = GenerateRequest(messages=(Message(role="user", content="charged twice"),),
                              max_new_tokens=12, stop=("\nEND",), temperature=0.7, seed=3)
    [generation] = backend_for(openai_server).generate(BASE, [request])
    assert (generation.text, generation.token_count, generation.finish_reason) == (
        "billing", 4, "stop")
    [sent] = openai_server.posts("/v1/chat/completions")
    assert sent.body == {"model": "tiny-base", "max_tokens": 12, "temperature": 0.7, "seed": 3,
                         "messages": [{"role": "user", "content": "charged twice"}],
                         "stop": ["\nEND"]}


def test_extra_body_adds_server_fields_to_generation_and_to_the_fingerprint(openai_server,
                                                                           replies):
    openai_server.script("/v1/chat/completions", replies.chat_reply("billing", 1))
    extra = {"truncate_prompt_tokens": 200, "truncation_side": "left"}
    backend = backend_for(openai_server, extra_body=extra)
    request = GenerateRequest(messages=(Message(role="user", content="charged twice"),),
                              max_new_tokens=4)
    backend.generate(BASE, [request])
    [sent] = openai_server.posts("/v1/chat/completions")
    assert sent.body == {**extra, "model": "tiny-base", "max_tokens": 4, "temperature": 0.0,
                         "seed": 0, "messages": [{"role": "user", "content": "charged twice"}]}
    assert backend.fingerprint(BASE) != backend_for(openai_server).fingerprint(BASE)


@pytest.mark.parametrize("field", ["model", "max_tokens", "messages", "seed"])
def test_extra_body_cannot_replace_what_tunegate_sets(field):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=f"{field}: set by tunegate for each request"):
        OpenAIConfig(base_url="http://127.0.0.1:1/v1", extra_body={field: 1})


def test_prompt_generation_uses_completions_and_keeps_request_order(openai_server, replies):
    def respond(request):
        return replies.completion_reply(f"<{request.body['prompt']}>", finish="length")

    openai_server.on("/v1/completions", respond)
    requests = [GenerateRequest(prompt=f"p{i}", max_new_tokens=5) for i in range(5)]
    generations = backend_for(openai_server, concurrency=3).generate(BASE, requests)
    assert [g.text for g in generations] == [f"<p{i}>" for i in range(5)]
    assert all(g.finish_reason == "length" for g in generations)
    sent = openai_server.posts("/v1/completions")[0].body
    assert sent == {"model": "tiny-base", "prompt": sent["prompt"], "max_tokens": 5,
                    "temperature": 0.0, "seed": 0}
    assert not openai_server.posts("/v1/chat/completions")


def test_score_sums_the_echoed_logprobs_of_each_choice(openai_server, replies):
    request = ScoreRequest(prompt="Ticket: card charged twice\nLabel:",
                           choices=(" billing", " account access"))
    [scores] = backend_for(openai_server).score(BASE, [request])
    lp = replies.token_logprob
    assert scores.token_counts == (1, 2)
    assert scores.logprobs == pytest.approx(
        (lp(" billing"), lp(" account") + lp(" access")))
    bodies = [r.body for r in openai_server.posts("/v1/completions")]
    assert sorted(b["prompt"] for b in bodies) == sorted(request.prompt + c
                                                         for c in request.choices)
    assert all(b["echo"] is True and b["logprobs"] == 1 and b["max_tokens"] == 0
               and b["temperature"] == 0.0 and b["model"] == "tiny-base" for b in bodies)


def test_score_splits_at_the_end_of_the_text_despite_a_leading_bos_token(openai_server, replies):
    openai_server.bos = "<s>"  # the server echoes a BOS token the prompt text lacks
    request = ScoreRequest(prompt="Label: ", choices=("billing", "other"))
    [scores] = backend_for(openai_server).score(BASE, [request])
    # the context's trailing space moves to the choice, where the tokenizer attaches it
    assert scores.logprobs == pytest.approx((replies.token_logprob(" billing"),
                                             replies.token_logprob(" other")))
    assert scores.token_counts == (1, 1)


def test_a_choice_that_merges_with_the_context_is_refused(openai_server):
    request = ScoreRequest(prompt="Label:", choices=("billing",))
    with pytest.raises(ChoiceMergesWithContext, match="spans the end of the prompt"):
        backend_for(openai_server).score(BASE, [request])


def test_a_server_that_rejects_echo_gets_a_clear_error(openai_server, replies):
    openai_server.script("/v1/completions", replies.Reply(
        {"error": {"message": "echo is not supported"}}, status=400))
    with pytest.raises(PromptLogprobsUnsupported,
                       match=r"prompt log-probabilities.*400: echo is not supported"):
        backend_for(openai_server).score(BASE, [ScoreRequest(prompt="a", choices=(" b",))])


def test_a_server_that_returns_no_prompt_logprobs_gets_a_clear_error(openai_server, replies):
    openai_server.script("/v1/completions", replies.completion_reply("a b"))
    with pytest.raises(PromptLogprobsUnsupported, match="no logprobs"):
        backend_for(openai_server).score(BASE, [ScoreRequest(prompt="a", choices=(" b",))])


def test_chat_scoring_renders_the_template_with_the_configured_tokenizer(
    openai_server, replies, tmp_path
):
    folder = _tokenizer_with_chat_template(tmp_path / "tok")
    backend = backend_for(openai_server, tokenizer=str(folder))
    request = ScoreRequest(messages=(Message(role="user", content="charged twice"),),
                           choices=("billing",))
    [scores] = backend.score(BASE, [request])
    [sent] = openai_server.posts("/v1/completions")
    assert sent.body["prompt"] == "<|user|>\ncharged twice\n<|assistant|>\nbilling"
    assert scores.logprobs == pytest.approx((replies.token_logprob("\nbilling"),))


def test_chat_scoring_without_a_tokenizer_says_what_to_configure(openai_server):
    request = ScoreRequest(messages=(Message(role="user", content="x"),), choices=("a",))
    with pytest.raises(ValueError, match=r"backend\.openai\.tokenizer"):
        backend_for(openai_server).score(BASE, [request])


# -- served names -------------------------------------------------------------------


@pytest.fixture
def lora_server(openai_server, tmp_path):
    adapter = tmp_path / "adapter-prod"
    adapter.mkdir()
    (adapter / "adapter_model.safetensors").write_bytes(b"weights-1")
    openai_server.models += [
        {"id": "ticket-cand", "object": "model", "root": "/srv/adapters/cand",
         "parent": "tiny-base", "owned_by": "vllm"},
        {"id": "ticket-prod", "object": "model", "root": str(adapter), "parent": "tiny-base",
         "owned_by": "vllm"},
    ]
    openai_server.adapter = adapter
    return openai_server


def test_references_route_to_served_names(lora_server):
    backend = backend_for(lora_server)
    candidate = served_ref("candidate", "tiny-base", "ticket-cand")
    production = ModelRef("production", "tiny-base", lora_server.adapter)
    for ref in (BASE, candidate, production):
        backend.generate(ref, [GenerateRequest(prompt="hi")])
    assert [r.body["model"] for r in lora_server.posts("/v1/completions")] == [
        "tiny-base", "ticket-cand", "ticket-prod"]
    assert backend.served_name(ModelRef("b", "/srv/models/tiny-base")) == "tiny-base"  # root


def test_an_unserved_adapter_names_what_the_server_serves(lora_server, tmp_path):
    backend = backend_for(lora_server)
    with pytest.raises(LookupError, match=r"--lora-modules.*serves: ticket-cand, ticket-prod"):
        backend.served_name(ModelRef("candidate", "tiny-base", tmp_path))
    with pytest.raises(LookupError, match="adapter 'nope'"):
        backend.served_name(served_ref("candidate", "tiny-base", "nope"))


def test_fingerprints_tell_models_apart_and_follow_local_content(lora_server):
    backend = backend_for(lora_server)
    production = ModelRef("production", "tiny-base", lora_server.adapter)
    refs = [BASE, served_ref("c", "tiny-base", "ticket-cand"), production]
    prints = [backend.fingerprint(ref) for ref in refs]
    assert len(set(prints)) == 3
    assert backend.fingerprint(ModelRef("other role", "tiny-base")) == prints[0]
    (lora_server.adapter / "adapter_model.safetensors").write_bytes(b"weights-2")
    assert backend_for(lora_server).fingerprint(production) != prints[2]


def test_a_loopback_servers_port_is_not_part_of_the_fingerprint(openai_server, replies):
    other = replies.OpenAIServer().start()
    try:
        assert other.url != openai_server.url
        assert backend_for(other).fingerprint(BASE) == backend_for(openai_server).fingerprint(BASE)
        other.models[0] = {**other.models[0], "root": "/srv/models/another"}
        assert backend_for(other).fingerprint(BASE) != backend_for(openai_server).fingerprint(BASE)
    finally:
        other.stop()


def test_sync_calls_work_inside_a_running_event_loop(openai_server):
    backend = backend_for(openai_server)

    async def inside() -> str:
        return backend.generate(BASE, [GenerateRequest(prompt="x")])[0].text

    assert asyncio.run(inside()) == "ok"


def _tokenizer_with_chat_template(folder: Path) -> Path:
    """A real (tiny) tokenizer folder whose chat template puts the answer after a newline."""
    pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.WordLevel({"<s>": 0, "</s>": 1, "<unk>": 2}, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, bos_token="<s>",
                                        eos_token="</s>", unk_token="<unk>")
    tokenizer.chat_template = (
        "{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}\n{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
    )
    tokenizer.save_pretrained(folder)
    return folder


def _slow_echo(server: Any, replies: Any) -> None:
    server.on("/v1/completions", lambda request: replies.Reply(
        replies.echo_reply(request.body["prompt"]).body, delay=0.1))


SCORE_REQUESTS = [ScoreRequest(prompt=f"Ticket {i}\nLabel:", choices=(" billing", " other"))
                  for i in range(4)]


def test_scoring_on_a_server_that_serves_lora_sends_one_request_at_a_time(lora_server,
                                                                           replies):
    """vLLM issue 29955: with LoRA enabled, prompt log-probs of several requests in one
    engine step kill the engine, for base-model requests too."""
    _slow_echo(lora_server, replies)
    backend = backend_for(lora_server, concurrency=8)
    assert backend.serves_lora()
    scores = backend.score(BASE, SCORE_REQUESTS)
    assert lora_server.max_active == 1
    assert [s.token_counts for s in scores] == [(1, 1)] * 4
    # generation is not affected: it still runs concurrently
    backend.generate(BASE, [GenerateRequest(prompt=f"p{i}") for i in range(8)])


def test_scoring_on_a_server_without_lora_runs_concurrently(openai_server, replies):
    _slow_echo(openai_server, replies)
    backend = backend_for(openai_server, concurrency=8)
    assert not backend.serves_lora()
    backend.score(BASE, SCORE_REQUESTS)
    assert openai_server.max_active > 1
