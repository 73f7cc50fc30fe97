"""Fine-tuning runs: loss on answer tokens only, and the content-addressed adapter cache."""

from __future__ import annotations

import json

import pytest

from tunegate.training import AdapterStore, TrainingConfig, TrainingItem, tokenize_items

pytest.importorskip("peft")


def items(examples) -> list[TrainingItem]:
    return [TrainingItem(e.messages, None, e.label) for e in examples]


QUICK = TrainingConfig(max_steps=3, batch_size=8, r=4, alpha=8)


def test_labels_cover_only_the_answer(tiny_base, tiny_examples):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_base)
    [row] = tokenize_items(tokenizer, items(tiny_examples[:1]), max_length=256)
    answer = [t for t in row["labels"] if t != -100]
    text = tokenizer.decode(answer)
    assert text == f" {tiny_examples[0].label}</s>"  # the template's trailing newline is not taught
    masked = row["labels"].index(answer[0])
    assert all(t == -100 for t in row["labels"][:masked])
    assert row["input_ids"][masked:] == answer


def test_truncation_keeps_the_answer(tiny_base, tiny_examples):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_base)
    [row] = tokenize_items(tokenizer, items(tiny_examples[:1]), max_length=12)
    assert len(row["input_ids"]) == 12
    assert tokenizer.decode([t for t in row["labels"] if t != -100]).startswith(" ")


def test_same_inputs_train_once(tiny_base, tiny_examples, tmp_path):
    store = AdapterStore(tmp_path / "adapters")
    data = items(tiny_examples[:16])
    first = store.get_or_train(str(tiny_base), "f" * 64, data, QUICK, name="good")
    again = AdapterStore(tmp_path / "adapters").get_or_train(
        str(tiny_base), "f" * 64, data, QUICK, name="good"
    )
    assert first == again
    assert store.trained == 1
    assert (first / "adapter_model.safetensors").is_file()
    lineage = json.loads((first / "lineage.json").read_text())
    assert lineage["base_fingerprint"] == "f" * 64
    assert lineage["examples"] == 16
    assert lineage["training"]["max_steps"] == 3
    assert lineage["outcome"]["steps"] == 3
    assert not [p for p in (tmp_path / "adapters").glob(".*") if p.is_dir()]  # no scratch left


TRAIN_AT_ONCE = """
import json, sys, time
from pathlib import Path
from tunegate.data import load_examples
from tunegate.training import AdapterStore, TrainingConfig, TrainingItem

base, data, root, me, other = sys.argv[1:]
items = [TrainingItem(e.messages, None, e.label) for e in load_examples(data)]
Path(me).touch()  # imports done: start together with the other process
while not Path(other).exists():
    time.sleep(0.01)
store = AdapterStore(Path(root))
config = TrainingConfig(max_steps=3, batch_size=8, r=4, alpha=8)
path = store.get_or_train(base, "f" * 64, items, config, name="good")
print(json.dumps({"trained": store.trained, "path": str(path)}))
"""


def test_processes_asking_at_once_train_once(tiny_base, tiny_examples, tmp_path):
    """pytest -n workers or parallel CI jobs on one cache: one trains, the other waits."""
    import subprocess
    import sys

    from tunegate.data import write_examples

    data = tmp_path / "train.jsonl"
    write_examples(data, tiny_examples[:16])
    ready = [tmp_path / "ready-0", tmp_path / "ready-1"]
    workers = [subprocess.Popen([sys.executable, "-c", TRAIN_AT_ONCE, str(tiny_base), str(data),
                                 str(tmp_path / "adapters"), str(me), str(other)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for me, other in (ready, ready[::-1])]
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err[-2000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert sorted(r["trained"] for r in results) == [0, 1]  # without the lock: [1, 1]
    assert len({r["path"] for r in results}) == 1


@pytest.mark.parametrize(
    "change",
    ["data", "config", "base"],
)
def test_any_input_change_trains_a_new_adapter(tiny_base, tiny_examples, tmp_path, change):
    store = AdapterStore(tmp_path / "adapters")
    data = items(tiny_examples[:16])
    first = store.get_or_train(str(tiny_base), "f" * 64, data, QUICK)
    other_data = items(tiny_examples[1:17]) if change == "data" else data
    other_config = QUICK.model_copy(update={"seed": 7}) if change == "config" else QUICK
    other_base = "e" * 64 if change == "base" else "f" * 64
    second = store.get_or_train(str(tiny_base), other_base, other_data, other_config)
    assert second != first
    assert store.trained == 2


def test_qlora_without_cuda_is_refused_clearly(tiny_base, tiny_examples, tmp_path):
    from tunegate.training import QLoRAUnavailable, finetune

    with pytest.raises(QLoRAUnavailable, match="needs CUDA"):
        finetune(str(tiny_base), items(tiny_examples[:4]),
                 QUICK.model_copy(update={"load_in_4bit": True}), tmp_path / "q")


def test_config_hash_is_stable_and_sensitive():
    assert TrainingConfig().content_hash() == TrainingConfig().content_hash()
    assert TrainingConfig().content_hash() != TrainingConfig(r=16).content_hash()


def test_config_is_validated():
    with pytest.raises(ValueError, match="target_modules"):
        TrainingConfig(target_modules=())
    with pytest.raises(ValueError):
        TrainingConfig(learning_rate=0)
