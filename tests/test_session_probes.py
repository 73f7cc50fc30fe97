"""The session's probes: generated from the run's seed and the [probes] settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunegate.config import ConfigError, load_config
from tunegate.data import Example, write_examples
from tunegate.example.tickets import build_datasets
from tunegate.session import GateSession

CONFIG = """
base = "example"
candidate = "good"
seed = {seed}

[task]
labels = ["billing", "shipping", "technical", "account", "returns", "other"]

[data]
eval = "eval.jsonl"

[probes]
families = ["typos", "label_injection", "ood"]
overlong_chars = 500
"""


def session(tmp_path: Path, seed: int = 0, extra: str = "") -> GateSession:
    write_examples(tmp_path / "eval.jsonl", build_datasets(0)["eval"][:20])
    (tmp_path / "tunegate.toml").write_text(CONFIG.format(seed=seed) + extra)
    return GateSession(load_config(tmp_path / "tunegate.toml"))


def test_probes_follow_the_configured_families_and_seed(tmp_path):
    probes = session(tmp_path).probes()
    assert [p.meta["probe_family"] for p in probes] == ["typos"] * 20 + [
        "label_injection"] * 20 + ["ood"] * 20
    assert session(tmp_path).probes() == probes  # same seed, same probes
    assert session(tmp_path, seed=1).probes() != probes
    injected = [p for p in probes if p.meta["probe_family"] == "label_injection"]
    assert all(p.meta["injected_label"] != p.label for p in injected)
    assert {p.label for p in probes if p.meta["probe_family"] == "ood"} == {"other"}


def test_probe_settings_are_validated(tmp_path):
    with pytest.raises(ConfigError, match=r"tunegate.toml:\d+: probes.per_example"):
        session(tmp_path, extra="per_example = 0\n").probes()


def test_probes_generate_writes_what_a_gate_run_generates(tmp_path):
    from tunegate.cli import main
    from tunegate.data import load_examples

    on_the_fly = session(tmp_path, seed=3).probes()
    out = tmp_path / "probes.jsonl"
    assert main(["probes", "generate", "--config", str(tmp_path / "tunegate.toml"),
                 "--source", "eval", "--out", str(out)]) == 0
    assert load_examples(out) == on_the_fly


def with_train(tmp_path: Path, train: list[Example]) -> GateSession:
    """The session of tmp_path's config, with ``train`` as its training set."""
    write_examples(tmp_path / "train.jsonl", train)
    config = tmp_path / "tunegate.toml"
    config.write_text(config.read_text().replace("[data]\n", '[data]\ntrain = "train.jsonl"\n'))
    return GateSession(load_config(config))


def test_probes_that_repeat_a_training_text_are_left_out(tmp_path):
    plain = session(tmp_path).probes()
    ood = next(p for p in plain if p.meta["probe_family"] == "ood")
    typo = next(p for p in plain if p.meta["probe_family"] == "typos")
    near = typo.text.replace(".", "!") + " thanks"  # the typo probe, nearly
    train = [ood.model_copy(update={"id": "t1", "meta": {}}),
             typo.model_copy(update={"id": "t2", "meta": {},
                                     "messages": (typo.messages[0], typo.messages[1]
                                                  .model_copy(update={"content": near}))})]
    gated = with_train(tmp_path, train)
    dropped = gated.training_overlap(plain)
    assert typo.id in dropped
    assert {p.id for p in plain if p.text == ood.text} <= dropped  # every repeat of it
    assert [p.id for p in gated.probes()] == [p.id for p in plain if p.id not in dropped]
    # the written set is the same set, and its provenance names what was left out
    from tunegate.cli import main
    from tunegate.data import load_examples

    out = tmp_path / "probes.jsonl"
    assert main(["probes", "generate", "--config", str(tmp_path / "tunegate.toml"),
                 "--source", "eval", "--out", str(out)]) == 0
    assert load_examples(out) == gated.probes()
    provenance = json.loads((tmp_path / "probes.provenance.json").read_text())
    assert provenance["excluded"] == sorted(dropped)


def test_without_training_data_no_probe_is_left_out(tmp_path):
    plain = session(tmp_path)
    assert plain.training_overlap(plain.probes()) == set()
