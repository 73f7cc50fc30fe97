"""judge.adapter before any server starts: what is checked here, without vLLM."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunegate.backends.vllm_server import VLLMServer
from tunegate.config import ConfigError, load_config
from tunegate.session import GateSession


def test_a_judge_adapter_that_is_not_a_peft_adapter_is_a_config_error(tmp_path: Path,
                                                                      tiny_base: Path):
    (tmp_path / "not-an-adapter").mkdir()
    (tmp_path / "tunegate.toml").write_text(
        f'base = "{tiny_base}"\ncandidate = "base"\n[task]\nlabels = ["a", "b"]\n'
        '[data]\neval = "eval.jsonl"\n[judge]\nadapter = "not-an-adapter"\n')
    session = GateSession(load_config(tmp_path / "tunegate.toml"))
    with pytest.raises(ConfigError, match=r"judge\.adapter.*not a peft adapter"):
        session.judge_server  # noqa: B018 - the property starts the server


def test_the_server_is_given_a_context_length_only_when_one_is_set(tmp_path: Path):
    def command(**kwargs: int | None) -> list[str]:
        return VLLMServer(tmp_path, tmp_path, port=8000, **kwargs).command()

    assert command()[-2:] == ["--max-model-len", "512"]
    assert command(max_model_len=2048)[-2:] == ["--max-model-len", "2048"]
    assert "--max-model-len" not in command(max_model_len=None)  # vLLM reads the model's
