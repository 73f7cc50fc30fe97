"""Shared fixtures: a tiny base model and real LoRA adapters, built by the tests."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tunegate.data import Example
from tunegate.training import TrainingConfig, TrainingItem

TINY_LABELS = ("billing", "shipping", "technical", "account", "returns", "other")


def tiny_spec(seed: int = 0, hidden: int = 64):
    from tunegate.example.base_model import BaseModelSpec

    return BaseModelSpec(vocab_size=800, hidden_size=hidden, intermediate_size=128, layers=2,
                         heads=2, steps=150, batch_size=16, block_size=32, seed=seed)


def tiny_texts() -> list[str]:
    from tunegate.example.tickets import build_datasets, general_corpus

    tickets = [e.text for e in build_datasets(0)["train"][:400]]
    return tickets + general_corpus(0, n=400)


def build_tiny_base(folder: Path, seed: int = 0, hidden: int = 64, **spec: Any) -> Path:
    import dataclasses

    from tunegate.example.base_model import build_base_model

    build_base_model(folder, tiny_texts(), dataclasses.replace(tiny_spec(seed, hidden), **spec))
    return folder


@pytest.fixture(scope="session")
def tiny_base_factory():
    """``factory(folder, seed=0, hidden=64, **spec)``: build another tiny base model
    (``spec``: other BaseModelSpec fields, e.g. ``max_positions``)."""
    return build_tiny_base


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Llama with a BPE tokenizer and the example chat template (~2 s)."""
    return build_tiny_base(tmp_path_factory.mktemp("tiny-base"))


@pytest.fixture(scope="session")
def tiny_examples() -> list[Example]:
    from tunegate.example.tickets import build_datasets

    return build_datasets(0)["train"][:64]


def training_items(examples: list[Example]) -> list[TrainingItem]:
    return [TrainingItem(e.messages, None, e.label or "") for e in examples]


QUICK = TrainingConfig(max_steps=30, batch_size=8, learning_rate=1e-2, r=4, alpha=8)


@pytest.fixture(scope="session")
def tiny_adapters(
    tmp_path_factory: pytest.TempPathFactory, tiny_base: Path, tiny_examples: list[Example]
) -> tuple[Path, Path]:
    """Two real LoRA adapters, trained briefly with different seeds and data."""
    from tunegate.training import finetune

    first = tmp_path_factory.mktemp("adapter-a")
    second = tmp_path_factory.mktemp("adapter-b")
    finetune(str(tiny_base), training_items(tiny_examples[:32]), QUICK, first)
    finetune(str(tiny_base), training_items(tiny_examples[32:]),
             QUICK.model_copy(update={"seed": 1}), second)
    return first, second


@pytest.fixture(scope="session")
def billing_adapter(
    tmp_path_factory: pytest.TempPathFactory, tiny_base: Path, tiny_examples: list[Example]
) -> Path:
    """An adapter taught to answer 'billing' to everything: its behaviour is certain."""
    from tunegate.training import finetune

    folder = tmp_path_factory.mktemp("adapter-billing")
    items = [TrainingItem(e.messages, None, "billing") for e in tiny_examples[:32]]
    finetune(str(tiny_base), items, QUICK, folder)
    return folder


# -- a real OpenAI-shaped HTTP server on 127.0.0.1 (tests/backends, tests/judge) -------


def load_httpserver() -> ModuleType:
    """tests/httpserver.py, loaded by path: the tests are not an importable package."""
    name = "tunegate_tests_httpserver"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).resolve().parent / "httpserver.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
def replies() -> ModuleType:
    """The server's reply builders: ``Reply``, ``chat_reply``, ``echo_reply``, ..."""
    return load_httpserver()


@pytest.fixture
def openai_server() -> Iterator[Any]:
    """A started server, stopped (and its socket closed) after the test."""
    server = load_httpserver().OpenAIServer().start()
    yield server
    server.stop()


# -- a project running suites/test_judge.py (tests/judge, tests/vllm) -------------------

SUITES = Path(__file__).resolve().parents[1] / "suites"


@pytest.fixture
def judge_project(pytester: pytest.Pytester, tiny_base: Path, tiny_adapters: tuple[Path, Path],
                  tiny_examples: list[Example]):
    """``write(calibration_rows, judge_settings="")``: a project with the example's judge
    suite and rubrics, the tiny references, 20 eval tickets and these labelled outputs."""
    import json
    import shutil

    from tunegate.data import write_examples

    def write(calibration: list[dict[str, Any]], judge_settings: str = "") -> Path:
        root = pytester.path
        write_examples(root / "eval.jsonl", tiny_examples[:20])
        (root / "calibration.jsonl").write_text(
            "".join(json.dumps(row) + "\n" for row in calibration))
        for name in ("conftest.py", "test_judge.py"):
            shutil.copy(SUITES / name, root / name)
        for name in ("ticket_routing.toml", "ticket_routing_pairwise.toml"):
            shutil.copy(SUITES.parent / "evals" / "rubrics" / name, root / name)
        (root / "tunegate.toml").write_text(
            f'base = "{tiny_base}"\nproduction = "{tiny_adapters[1]}"\n'
            f'candidate = "{tiny_adapters[0]}"\ncache_dir = "cache"\nreport_dir = "reports"\n'
            f"[task]\nlabels = {list(TINY_LABELS)!r}\n[data]\neval = \"eval.jsonl\"\n"
            .replace("'", '"')
            + '[judge]\nrubric = "ticket_routing.toml"\n'
            'pairwise_rubric = "ticket_routing_pairwise.toml"\n'
            'calibration = "calibration.jsonl"\n' + judge_settings
        )
        pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n")
        return root

    return write


@pytest.fixture
def gate_records():
    """``records(root)``: the gates of the newest run record in ``root/reports``, by name."""
    import json

    def records(root: Path) -> dict[str, dict[str, Any]]:
        newest = sorted((root / "reports" / "runs").glob("*.json"))[-1]
        return {gate["name"]: gate for gate in json.loads(newest.read_text())["gates"]}

    return records
