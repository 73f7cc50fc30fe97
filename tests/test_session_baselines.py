"""GateSession.baselines: prompted references from the config, demonstrations drawn from
the training split and never from what the gate evaluates on."""

from __future__ import annotations

from pathlib import Path

import pytest

from tunegate.config import ConfigError, load_config
from tunegate.data import write_examples
from tunegate.example.tickets import build_datasets
from tunegate.session import GateSession

LABELS = '["billing", "shipping", "technical", "account", "returns", "other"]'


def session(tmp_path: Path, baselines: str) -> GateSession:
    data = build_datasets(0)
    train, evaluation = data["train"][:30], data["eval"][:20]
    # every training ticket but the first four repeats an eval ticket (under another id)
    leaked = [e.model_copy(update={"id": f"leak-{i}", "messages": evaluation[i].messages})
              for i, e in enumerate(train[4:24])]
    write_examples(tmp_path / "train.jsonl", [*train[:4], *leaked])
    write_examples(tmp_path / "eval.jsonl", evaluation)
    (tmp_path / "tunegate.toml").write_text(
        f'base = "some/model"\ncandidate = "base"\n[task]\nlabels = {LABELS}\n'
        '[data]\ntrain = "train.jsonl"\neval = "eval.jsonl"\n' + baselines)
    return GateSession(load_config(tmp_path / "tunegate.toml"))


def test_baselines_are_the_base_asked_each_way(tmp_path):
    gate = session(tmp_path, '[baselines.zero]\nsystem = "Name the team."\n'
                             "[baselines.four]\nshots = 4\nseed = 3\n")
    zero, four = gate.baselines["zero"], gate.baselines["four"]
    assert (zero.name, zero.base, zero.adapter) == ("zero", "some/model", None)
    assert zero.prompting is not None and zero.prompting.system == "Name the team."
    assert four.prompting is not None and four.prompting.shots == 4


def test_demonstrations_never_repeat_an_evaluated_text(tmp_path):
    gate = session(tmp_path, "")
    shown = {d.messages for seed in range(8) for d in gate.demonstrations(4, seed)}
    evaluated = {e.messages for e in gate.dataset("eval")}
    assert shown and not shown & evaluated
    assert len(shown) == 4  # only the four clean training tickets can be shown


def test_too_many_shots_is_a_config_error_naming_the_baseline(tmp_path):
    gate = session(tmp_path, "[baselines.eight]\nshots = 8\n")
    with pytest.raises(ConfigError, match=r"baselines\.eight\.shots.*only 4 .*20 repeat"):
        _ = gate.baselines
