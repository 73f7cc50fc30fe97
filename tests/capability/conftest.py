"""A tiny local lm-eval task on the tiny test model: ticket routing as multiple choice.

Real lm-eval reads it (TaskManager over a temporary include_path); its documents are
chat-format tickets whose choices are the team labels, so an adapter trained to answer
'billing' to everything changes every answer, which shows that lm-eval computed with
the adapter active.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tunegate.config import CapabilityConfig

TASK = "tiny_routing"
LABELS = ("billing", "shipping", "technical", "account", "returns", "other")
DOCS = 12

TASK_YAML = f"""task: {TASK}
dataset_path: json
dataset_kwargs:
  data_files:
    test: data/{TASK}.jsonl
test_split: test
output_type: multiple_choice
doc_to_text: context
doc_to_choice: choices
doc_to_target: label
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
"""


def routing_docs(tiny_base: Path) -> list[dict[str, Any]]:
    """Held-out tickets (not the adapters' training ones) in the base's chat format."""
    from transformers import AutoTokenizer

    from tunegate.example.tickets import build_datasets

    tokenizer = AutoTokenizer.from_pretrained(tiny_base)
    docs = []
    for example in build_datasets(0)["eval"][:DOCS]:
        turns = [m.model_dump() for m in example.messages if m.role != "assistant"]
        context = tokenizer.apply_chat_template(turns, add_generation_prompt=True,
                                                tokenize=False)
        docs.append({"context": context, "choices": list(LABELS),
                     "label": LABELS.index(example.label or "other")})
    return docs


def write_task(folder: Path, docs: list[dict[str, Any]], yaml_text: str = TASK_YAML) -> Path:
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / f"{TASK}.yaml").write_text(yaml_text, encoding="utf-8")
    lines = "".join(json.dumps(doc) + "\n" for doc in docs)
    (folder / "data" / f"{TASK}.jsonl").write_text(lines, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def tiny_docs(tiny_base: Path) -> list[dict[str, Any]]:
    return routing_docs(tiny_base)


@pytest.fixture
def task_folder(tmp_path: Path, tiny_docs: list[dict[str, Any]]) -> Path:
    """A fresh include_path holding the tiny routing task (tests may edit it)."""
    return write_task(tmp_path / "tasks", tiny_docs)


@pytest.fixture(scope="session")
def tiny_backend(tiny_base: Path) -> Any:
    """The transformers backend over the tiny base: lm-eval receives its model."""
    from tunegate.backends.transformers_backend import TransformersBackend

    return TransformersBackend(str(tiny_base))


class TinyTask:
    """The tiny task's name, labels and YAML, and helpers to write and configure it."""

    name = TASK
    labels = LABELS
    docs = DOCS
    yaml = TASK_YAML
    write = staticmethod(write_task)

    @staticmethod
    def settings(**changes: Any) -> CapabilityConfig:
        return CapabilityConfig(**{"tasks": (TASK,), "batch_size": 8, **changes})


@pytest.fixture(scope="session")
def tiny_task() -> type[TinyTask]:
    return TinyTask
