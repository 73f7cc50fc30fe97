"""Building a golden set from a reference: kept examples, provenance and refusals."""

from __future__ import annotations

import calendar
import json
import re
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from tunegate.backends import ChoiceScores, ModelRef, ScoreRequest
from tunegate.cli import main
from tunegate.config import BackendConfig, TaskConfig
from tunegate.data import Example, file_sha256, load_examples, write_examples
from tunegate.golden import GoldenBuildError, build_golden, provenance_path
from tunegate.tasks import ClassificationTask

pytest.importorskip("peft")

from tunegate.backends.transformers_backend import TransformersBackend

LABELS = ("billing", "shipping", "technical", "account", "returns", "other")


@pytest.fixture(scope="module")
def backend(tiny_base: Path) -> TransformersBackend:
    return TransformersBackend(str(tiny_base), BackendConfig(batch_size=8))


@pytest.fixture(scope="module")
def task() -> ClassificationTask:
    return ClassificationTask(TaskConfig(labels=LABELS))


@pytest.fixture(scope="module")
def source_examples() -> list[Example]:
    from tunegate.example.tickets import build_datasets

    examples = build_datasets(0)["eval"][:30]
    assert 3 <= sum(e.label == "billing" for e in examples) <= 27  # some kept, some dropped
    return examples


@pytest.fixture
def source(tmp_path: Path, source_examples: list[Example]) -> Path:
    path = tmp_path / "source.jsonl"
    write_examples(path, source_examples)
    return path


@pytest.fixture(scope="module")
def reference(tiny_base: Path, billing_adapter: Path) -> ModelRef:
    return ModelRef("production", str(tiny_base), billing_adapter)


def test_the_reference_answers_billing_to_everything(backend, task, reference, source_examples):
    predicted = task.classify(backend, reference, source_examples).predicted
    assert set(predicted) == {"billing"}


def test_build_keeps_what_the_reference_gets_right(
    backend, task, reference, source, source_examples, tmp_path
):
    out = tmp_path / "set.jsonl"
    before = time.time()
    built = build_golden(task, backend, reference, source, out, reference_spec="prod-dir")
    billing = [e for e in source_examples if e.label == "billing"]
    assert (built.path, built.kept, built.source_count) == (out, len(billing), 30)
    assert built.provenance == provenance_path(out) == tmp_path / "set.provenance.json"
    assert load_examples(out) == billing
    assert out.read_bytes() == b"".join(
        (json.dumps(e.to_record(), ensure_ascii=False) + "\n").encode() for e in billing
    )

    record = json.loads(built.provenance.read_text())
    assert record["reference"] == {
        "name": "production",
        "spec": "prod-dir",
        "base": reference.base,
        "adapter": str(reference.adapter),
        "fingerprint": backend.fingerprint(reference),
    }
    assert record["source"] == {"path": str(source), "sha256": file_sha256(source), "count": 30}
    assert record["count"] == len(billing)
    assert record["sha256"] == file_sha256(out)
    assert record["task"] == "classification"
    assert record["runs"] == 2
    assert record["dropped_ids"] == [e.id for e in source_examples if e.label != "billing"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record["created"])
    created = calendar.timegm(time.strptime(record["created"], "%Y-%m-%dT%H:%M:%SZ"))
    assert before - 2 <= created <= time.time() + 2


def test_build_creates_the_output_folder(backend, task, reference, source, tmp_path):
    out = tmp_path / "golden" / "new" / "set.jsonl"
    built = build_golden(task, backend, reference, source, out)
    assert out.is_file() and built.provenance.is_file()
    assert built.provenance.parent == out.parent


def test_existing_set_is_not_overwritten_without_force(
    backend, task, reference, source, source_examples, tmp_path
):
    out = tmp_path / "set.jsonl"
    write_examples(out, source_examples[:2])
    kept_bytes = out.read_bytes()
    refusal = rf"already written: {re.escape(str(out))}; pass --force"
    with pytest.raises(GoldenBuildError, match=refusal):
        build_golden(task, backend, reference, source, out)
    assert out.read_bytes() == kept_bytes
    assert not provenance_path(out).exists()

    built = build_golden(task, backend, reference, source, out, force=True)
    assert load_examples(out) == [e for e in source_examples if e.label == "billing"]
    assert built.provenance.is_file()


def test_existing_provenance_alone_also_refuses(backend, task, reference, source, tmp_path):
    out = tmp_path / "set.jsonl"
    provenance_path(out).write_text("{}\n")
    refusal = r"already written: .*set\.provenance\.json; pass --force"
    with pytest.raises(GoldenBuildError, match=refusal):
        build_golden(task, backend, reference, source, out)
    assert not out.exists()
    assert provenance_path(out).read_text() == "{}\n"


class SecondRunDiffers:
    """The real backend, except that its second ``score`` call answers one example
    differently (its choice log-probs reversed): nondeterminism, on demand."""

    def __init__(self, inner: TransformersBackend, index: int):
        self.inner, self.index, self.calls = inner, index, 0

    def fingerprint(self, ref: ModelRef) -> str:
        return self.inner.fingerprint(ref)

    def score(self, ref: ModelRef, requests: Sequence[ScoreRequest]) -> list[ChoiceScores]:
        scores = self.inner.score(ref, requests)
        self.calls += 1
        if self.calls == 2:
            flipped = scores[self.index]
            scores[self.index] = ChoiceScores(flipped.logprobs[::-1], flipped.token_counts)
        return scores

    def generate(self, ref, requests):
        return self.inner.generate(ref, requests)


def test_runs_that_differ_are_refused(backend, task, reference, source, source_examples,
                                      tmp_path):
    out = tmp_path / "set.jsonl"
    flaky = SecondRunDiffers(backend, index=7)
    with pytest.raises(GoldenBuildError) as caught:
        build_golden(task, flaky, reference, source, out)
    message = str(caught.value)
    assert flaky.calls == 2
    assert "answered 1 of 30 examples differently in two runs" in message
    assert f"({source_examples[7].id})" in message
    assert "'production'" in message and "deterministic reference" in message
    assert not out.exists() and not provenance_path(out).exists()


def test_nothing_right_is_refused(backend, task, reference, source_examples, tmp_path):
    source = tmp_path / "source.jsonl"
    write_examples(source, [e for e in source_examples if e.label != "billing"][:6])
    out = tmp_path / "set.jsonl"
    with pytest.raises(GoldenBuildError, match=r"gets none of the 6 examples of .*source\.jsonl"):
        build_golden(task, backend, reference, source, out)
    assert not out.exists() and not provenance_path(out).exists()


def test_cli_refuses_an_existing_set_without_force(
    tiny_base, billing_adapter, source_examples, tmp_path, capsys
):
    config = tmp_path / "tunegate.toml"
    config.write_text(
        f'base = "{tiny_base}"\n'
        f'production = "{billing_adapter}"\n'
        f'candidate = "{billing_adapter}"\n'
        'cache_dir = "cache"\n'
        f'[task]\nkind = "classification"\nlabels = {json.dumps(list(LABELS))}\n'
        '[data]\neval = "eval.jsonl"\ngolden = "golden/set.jsonl"\n'
    )
    write_examples(tmp_path / "eval.jsonl", source_examples[:12])
    out = tmp_path / "golden" / "set.jsonl"
    out.parent.mkdir()
    write_examples(out, source_examples[:1])
    kept_bytes = out.read_bytes()

    code = main(["golden", "build", "--config", str(config)])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err == (
        f"tunegate: golden build refused: already written: {out}; pass --force to overwrite\n"
    )
    assert captured.out == ""
    assert out.read_bytes() == kept_bytes

    assert main(["golden", "build", "--config", str(config), "--force"]) == 0
    printed = capsys.readouterr().out.splitlines()
    billing = [e for e in source_examples[:12] if e.label == "billing"]
    assert printed == [f"kept {len(billing)} of 12 examples", f"golden\t{out}",
                       f"provenance\t{provenance_path(out)}"]
    assert load_examples(out) == billing
    record = json.loads(provenance_path(out).read_text())
    assert record["reference"]["name"] == "production"
    assert record["reference"]["adapter"] == str(billing_adapter)
