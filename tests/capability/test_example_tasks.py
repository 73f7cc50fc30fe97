"""The example's lm-eval task files: generated, held out from pre-training, loadable."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tunegate.capability.example_tasks import (
    CLOZE_DOCS,
    CLOZE_TASK,
    FACTS_TASK,
    FOLDER,
    HeldOutCorpus,
    stale_example_tasks,
)
from tunegate.cli import main

ROOT = Path(__file__).resolve().parents[2]
TASKS = (CLOZE_TASK, FACTS_TASK)


@pytest.fixture(scope="module")
def corpus() -> HeldOutCorpus:
    return HeldOutCorpus.of_example_base()


def docs(task: str) -> list[dict[str, Any]]:
    lines = (ROOT / FOLDER / "data" / f"{task}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_committed_files_equal_the_generator() -> None:
    assert main(["example", "lm-eval-tasks", "--check", "--root", str(ROOT)]) == 0


def test_check_names_a_stale_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(ROOT / FOLDER, tmp_path / FOLDER)
    stale = tmp_path / FOLDER / "data" / f"{FACTS_TASK}.jsonl"
    stale.write_text(stale.read_text(encoding="utf-8")[:-200], encoding="utf-8")
    assert stale_example_tasks(tmp_path / FOLDER) == [stale]
    assert main(["example", "lm-eval-tasks", "--check", "--root", str(tmp_path)]) == 1
    assert f"differs from the generator: {stale}" in capsys.readouterr().err


@pytest.mark.parametrize("task", TASKS)
def test_no_document_occurs_in_the_pretraining_corpus(task: str, corpus: HeldOutCorpus) -> None:
    rows = docs(task)
    assert len(rows) >= 100
    for row in rows:
        answer = row["choices"][row["label"]]
        assert len(set(row["choices"])) == 4 and row["choices"].count(answer) == 1
        assert not corpus.contains(f"{row['context']} {answer}"), row
        assert corpus.contains(row["context"].split()[-1])  # yet made of words it learned


def test_cloze_distractors_never_end_a_pretraining_sentence_after_the_same_words(
    corpus: HeldOutCorpus,
) -> None:
    rows = docs(CLOZE_TASK)
    assert len(rows) == CLOZE_DOCS
    endings = [text.rstrip(".").split()[-3:] for text in corpus.texts]
    taught = {tuple(e[:2]): set() for e in endings if len(e) == 3}
    for e in endings:
        if len(e) == 3:
            taught[(e[0], e[1])].add(e[2])
    for row in rows:
        before = tuple(row["context"].split()[-2:])
        distractors = set(row["choices"]) - {row["choices"][row["label"]]}
        assert not distractors & taught.get(before, set()), row


def test_the_tasks_are_plain_yaml_that_lm_eval_loads() -> None:
    from lm_eval.tasks import TaskManager

    from tunegate.capability._lm_eval import TaskCatalog

    for task in TASKS:
        assert "!function" not in (ROOT / FOLDER / f"{task}.yaml").read_text(encoding="utf-8")
    manager = TaskManager(include_path=str(ROOT / FOLDER), include_defaults=False)
    assert set(TASKS) <= set(manager.all_tasks)
    catalog = TaskCatalog(ROOT / FOLDER)
    for task in TASKS:
        [loaded] = catalog.load(task)["tasks"].values()
        assert len(loaded.test_docs()) == len(docs(task))
