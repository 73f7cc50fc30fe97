"""The transformers+peft backend against straightforward reference computations."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tunegate.backends import (
    AdapterMismatchError,
    AdapterNoOpError,
    GenerateRequest,
    ModelRef,
    ScoreRequest,
)
from tunegate.data import Example, Message

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
peft = pytest.importorskip("peft")

from tunegate.backends.transformers_backend import TransformersBackend  # noqa: E402
from tunegate.config import BackendConfig  # noqa: E402

SINGLE = ("billing", "shipping", "technical", "account", "returns", "other")
MULTI = ("billing team", "shipping and delivery", "a technical fault", "other")


def requests_for(examples: list[Example], choices: tuple[str, ...]) -> list[ScoreRequest]:
    return [ScoreRequest(choices=choices, messages=e.messages) for e in examples]


def reference_scores(model, tokenizer, request: ScoreRequest) -> list[float]:
    """One unpadded forward per (prompt, choice): the obviously-correct computation."""
    prompt = tokenizer.apply_chat_template(
        [m.model_dump() for m in request.messages], add_generation_prompt=True, tokenize=False
    )
    context = tokenizer.encode(prompt)
    scores = []
    for choice in request.choices:
        whole = tokenizer.encode(prompt + " " + choice)
        continuation = whole[len(context):]
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([whole])).logits[0]
        logprobs = torch.log_softmax(logits.float(), dim=-1)
        scores.append(sum(
            float(logprobs[len(context) - 1 + i, token]) for i, token in enumerate(continuation)
        ))
    return scores


@pytest.fixture(scope="module")
def backend(tiny_base: Path) -> TransformersBackend:
    return TransformersBackend(str(tiny_base), BackendConfig(batch_size=5))


@pytest.fixture(scope="module")
def plain_model(tiny_base: Path):
    return transformers.AutoModelForCausalLM.from_pretrained(tiny_base).eval()


@pytest.mark.parametrize("choices", [SINGLE, MULTI], ids=["single-token", "multi-token"])
def test_scores_equal_one_forward_per_choice(backend, plain_model, tiny_examples, choices):
    requests = requests_for(tiny_examples[:12], choices)
    got = backend.score(ModelRef("base", backend.base), requests)
    for request, scores in zip(requests, got, strict=True):
        expected = reference_scores(plain_model, backend.tokenizer, request)
        assert scores.logprobs == pytest.approx(expected, abs=1e-4)
        assert len(scores.token_counts) == len(choices)


def test_multi_token_choices_take_more_than_one_token(backend, tiny_examples):
    [scores] = backend.score(ModelRef("base", backend.base), requests_for(tiny_examples[:1], MULTI))
    assert max(scores.token_counts) > 1


def test_scores_do_not_depend_on_batching(tiny_base, tiny_examples):
    requests = requests_for(tiny_examples[:9], MULTI)
    one = TransformersBackend(str(tiny_base), BackendConfig(batch_size=1))
    many = TransformersBackend(str(tiny_base), BackendConfig(batch_size=9))
    ref = ModelRef("base", str(tiny_base))
    for a, b in zip(one.score(ref, requests), many.score(ref, requests), strict=True):
        assert a.logprobs == pytest.approx(b.logprobs, abs=1e-5)


def test_adapter_switching_equals_separately_loaded_models(
    backend, tiny_base, tiny_adapters, tiny_examples
):
    requests = requests_for(tiny_examples[:6], SINGLE)
    refs = [ModelRef(f"a{i}", backend.base, path) for i, path in enumerate(tiny_adapters)]
    # Interleave: a0, a1, base, a0 again: switching must not leak state between refs.
    switched = {ref.name: backend.score(ref, requests) for ref in refs}
    base_scores = backend.score(ModelRef("base", backend.base), requests)
    again = backend.score(refs[0], requests)
    for ref in refs:
        fresh = transformers.AutoModelForCausalLM.from_pretrained(tiny_base)
        separate = peft.PeftModel.from_pretrained(fresh, ref.adapter).eval()
        for request, scores in zip(requests, switched[ref.name], strict=True):
            expected = reference_scores(separate, backend.tokenizer, request)
            assert scores.logprobs == pytest.approx(expected, abs=1e-4)
    plain = transformers.AutoModelForCausalLM.from_pretrained(tiny_base).eval()
    for request, scores in zip(requests, base_scores, strict=True):
        assert scores.logprobs == pytest.approx(
            reference_scores(plain, backend.tokenizer, request), abs=1e-4
        )
    assert [s.logprobs for s in again] == [s.logprobs for s in switched["a0"]]
    assert switched["a0"][0].logprobs != switched["a1"][0].logprobs


def test_untrained_adapter_fails_the_no_op_canary(tiny_base, tmp_path, tiny_examples):
    model = transformers.AutoModelForCausalLM.from_pretrained(tiny_base)
    untrained = peft.get_peft_model(
        model, peft.LoraConfig(r=4, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    )
    untrained.save_pretrained(tmp_path / "noop")
    backend = TransformersBackend(str(tiny_base))
    with pytest.raises(AdapterNoOpError, match="does not change the model's output"):
        backend.score(ModelRef("c", str(tiny_base), tmp_path / "noop"),
                      requests_for(tiny_examples[:1], SINGLE))


def test_generation_matches_unbatched_greedy(backend, plain_model, tiny_examples):
    requests = [
        GenerateRequest(messages=e.messages, max_new_tokens=8) for e in tiny_examples[:5]
    ]
    got = backend.generate(ModelRef("base", backend.base), requests)
    tokenizer = backend.tokenizer
    for request, generation in zip(requests, got, strict=True):
        prompt = tokenizer.apply_chat_template(
            [m.model_dump() for m in request.messages], add_generation_prompt=True,
            tokenize=False,
        )
        ids = torch.tensor([tokenizer.encode(prompt)])
        out = plain_model.generate(ids, max_new_tokens=8, do_sample=False,
                                   pad_token_id=tokenizer.pad_token_id)
        new = out[0, ids.shape[1]:].tolist()
        if tokenizer.eos_token_id in new:
            new = new[: new.index(tokenizer.eos_token_id)]
        assert generation.text == tokenizer.decode(new, skip_special_tokens=True)
        assert generation.token_count == len(new)


def test_generation_stops_at_stop_strings(backend, tiny_examples):
    base = ModelRef("base", backend.base)
    prompts = [e.text[:20] for e in tiny_examples[:10]]
    free = backend.generate(base, [GenerateRequest(prompt=p, max_new_tokens=12) for p in prompts])
    prompt, text = next((p, g.text) for p, g in zip(prompts, free, strict=True) if len(g.text) > 3)
    stop = text[2:4]
    [stopped] = backend.generate(
        base, [GenerateRequest(prompt=prompt, max_new_tokens=12, stop=(stop,))]
    )
    assert stop not in stopped.text
    assert text.startswith(stopped.text)
    assert stopped.finish_reason == "stop"


def test_plain_prompts_without_chat(backend):
    request = ScoreRequest(choices=(" billing", " shipping"), prompt="Ticket: I was charged twice")
    [scores] = backend.score(ModelRef("base", backend.base), [request])
    assert all(v < 0 for v in scores.logprobs)


def test_messages_need_a_user_turn():
    with pytest.raises(ValueError, match="user turn"):
        Example(id="x", messages=(Message(role="system", content="hi"),))


def test_lineage_of_another_base_is_refused(backend, tiny_adapters, tmp_path, tiny_examples):
    adapter = tmp_path / "foreign"
    shutil.copytree(tiny_adapters[0], adapter)
    (adapter / "lineage.json").write_text(json.dumps({"base_fingerprint": "f" * 64}))
    with pytest.raises(AdapterMismatchError, match=r"trained on base f{12}"):
        backend.score(ModelRef("c", backend.base, adapter), requests_for(tiny_examples[:1], SINGLE))


def test_adapter_of_another_shape_is_refused(tmp_path, tiny_adapters, tiny_examples,
                                            tiny_base_factory):
    wider = tiny_base_factory(tmp_path / "wider", hidden=96)
    other = TransformersBackend(str(wider))
    adapter = tmp_path / "adapter"
    shutil.copytree(tiny_adapters[0], adapter)
    config = json.loads((adapter / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = str(wider)
    (adapter / "adapter_config.json").write_text(json.dumps(config))
    with pytest.raises(AdapterMismatchError, match="does not fit the base"):
        other.score(ModelRef("c", str(wider), adapter), requests_for(tiny_examples[:1], SINGLE))


def test_adapter_named_for_another_base_is_refused(tmp_path, tiny_adapters, backend, tiny_examples):
    adapter = tmp_path / "renamed"
    shutil.copytree(tiny_adapters[0], adapter)
    config = json.loads((adapter / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = "meta-llama/Llama-3.1-8B"
    (adapter / "adapter_config.json").write_text(json.dumps(config))
    with pytest.raises(AdapterMismatchError, match=r"Llama-3\.1-8B"):
        backend.score(ModelRef("c", backend.base, adapter), requests_for(tiny_examples[:1], SINGLE))


def test_the_shared_system_prompt_is_computed_once(backend, tiny_examples):
    batch = [backend._encode_choices(i, r)
             for i, r in enumerate(requests_for(tiny_examples[:4], SINGLE))]
    with backend.activate(ModelRef("base", backend.base)) as model:
        shared, cache = backend._shared_prefix(model, batch)
    system = backend.tokenizer.encode("system: " + tiny_examples[0].messages[0].content)
    assert shared >= len(system) - 1
    assert cache is not None and cache.layers[0].keys.shape[0] == 4
