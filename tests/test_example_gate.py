"""The bundled example gate end to end, as a user runs it: `pytest suites/`.

Real everything: the tiny base model built offline, adapters fine-tuned by the
fixtures, the transformers+peft backend, the response cache. Slow (minutes, cold);
the models and adapters are cached in the repository's ignored .tunegate/ folder.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tunegate.example.variants import VARIANTS, Variant
from tunegate.probes import FAMILIES

FLIP_FAMILIES = [f for f in FAMILIES if f not in ("label_injection", "ood")]

ROOT = Path(__file__).resolve().parents[1]
DEGRADED = [v for v in VARIANTS if v.expected.startswith("fail")]

pytestmark = pytest.mark.slow


# The suite file that holds each gate a degraded variant is meant to fail: a degraded
# run needs only those (the good candidate runs the whole suite).
SUITE_OF_GATE = {
    **dict.fromkeys(("macro_f1", "class_f1_floor", "class_no_regression", "calibration"),
                    "suites/test_task_quality.py"),
    "golden_regression": "suites/test_golden_regression.py",
    **dict.fromkeys(("injection_resistance", "ood_abstention"), "suites/test_robustness.py"),
    "capability_regression": "suites/test_capability.py",
    **dict.fromkeys(("json_validity", "field_accuracy", "summary_similarity",
                     "extraction_golden_regression"), "suites/test_extraction.py"),
}


def run_gate(report_dir: Path, *args: str, suites: tuple[str, ...] = ("suites",),
             threads: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    command = [sys.executable, "-m", "pytest", *suites, "-p", "no:cacheprovider",
               "--tg-report-dir", str(report_dir), *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=1800, check=False)


def cached_responses() -> int:
    with sqlite3.connect(ROOT / ".tunegate" / "responses.sqlite") as db:
        return int(db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])


def test_good_candidate_passes_and_a_rerun_computes_nothing(gate_runs):
    tmp_path, first = gate_runs["good"]
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    assert "tunegate gate results" in first.stdout
    [record] = (tmp_path / "runs").glob("*.json")
    data = json.loads(record.read_text())
    assert data["passed"] is True
    assert {g["name"] for g in data["gates"]} == {
        "macro_f1", "class_f1_floor", "class_no_regression", "calibration", "golden_regression",
        "injection_resistance", "ood_abstention",
        *(f"robustness[{family}]" for family in FLIP_FAMILIES),
        *(f"{check}[{split}]" for check in ("chat_format", "personal_data")
          for split in ("train", "eval", "golden", "ood")),
        "duplicates[train]", *(f"leakage[{split}]" for split in ("eval", "golden", "ood")),
        "class_balance[train]", "label_drift[eval]", "capability_regression",
        "beats_zero-shot", "beats_4-shot", "usage",
        # the second task, strict-JSON extraction, by its own adapters
        "json_validity", "field_accuracy", "summary_similarity", "extraction_golden_regression",
    }
    # was fine-tuning worth it: every reference on the same eval tickets, usage measured
    decision = {row["reference"]: row for row in data["decision"] if row["task"] == "main"}
    assert set(decision) == {"zero-shot", "4-shot", "production", "candidate"}
    [extraction] = [row for row in data["decision"] if row["task"] == "extraction"]
    assert (extraction["reference"], extraction["metric"]) == ("candidate", "exact_match")
    assert decision["candidate"]["value"] > decision["4-shot"]["ci_high"]
    assert decision["4-shot"]["tokens_per_request"] > 2 * decision["candidate"][
        "tokens_per_request"]
    assert all(row["latency_p95_ms"] and row["cost_per_1000"] for row in decision.values())
    responses = cached_responses()
    adapters = sorted(p.name for p in (ROOT / ".tunegate" / "adapters").iterdir())
    again = run_gate(tmp_path)
    assert again.returncode == 0
    assert cached_responses() == responses  # every score came from the cache
    assert sorted(p.name for p in (ROOT / ".tunegate" / "adapters").iterdir()) == adapters


GOOD_TEST = "test_good_candidate_passes_and_a_rerun_computes_nothing"
DEGRADED_TEST = "test_degraded_candidate_fails_and_says_why"
JUDGE_TEST = "test_the_example_judge_trains_without_vllm"


def expected_gates(variant: Variant) -> list[str]:
    return [g.strip() for g in variant.expected.split(":", 1)[1].split(",")]


def candidate_option(variant: Variant) -> str:
    # the routing task is the config's main one; the extraction task is named
    return variant.name if variant.kind == "classification" else f"extraction={variant.name}"


@pytest.fixture(scope="module")
def gate_runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
              ) -> dict[str, tuple[Path, subprocess.CompletedProcess[str]]]:
    """The gate runs of this module's selected tests, `good` (the whole suite) and each
    degraded variant (the suite files of the gates meant to catch it), two at a time on
    one thread each, after the base is built on both cores.

    Training such a tiny model gains little from a second thread, so two single-thread
    runs use the two cores better than one run after another; the adapter store's lock
    makes a run wait for, not repeat, an adapter another run is training.
    """
    names = {getattr(item, "originalname", "") for item in request.session.items}
    selected = [item.callspec.params["variant"] for item in request.session.items
                if getattr(item, "originalname", "") == DEGRADED_TEST]
    selected.sort(key=lambda v: v.kind == "classification")  # the longest runs first
    jobs: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = []
    if GOOD_TEST in names:
        jobs.append(("good", (), ("suites",)))
    for variant in selected:
        files = tuple(sorted({SUITE_OF_GATE[g] for g in expected_gates(variant)}))
        jobs.append((variant.name, ("--tg-candidate", candidate_option(variant)), files))
    build = subprocess.run([sys.executable, "-m", "tunegate.cli", "example", "base"], cwd=ROOT,
                           capture_output=True, text=True, timeout=1800, check=False)
    assert build.returncode == 0, build.stderr[-2000:]

    if JUDGE_TEST in names:  # trained here, without vLLM; tox -e vllm serves it
        jobs.insert(0, ("judge", ("example", "judge"), ()))

    def run(job: tuple[str, tuple[str, ...], tuple[str, ...]]
            ) -> tuple[str, tuple[Path, subprocess.CompletedProcess[str]]]:
        name, args, files = job
        report_dir = tmp_path_factory.mktemp(name)
        if not files:
            env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
            return name, (report_dir, subprocess.run(
                [sys.executable, "-m", "tunegate.cli", *args], cwd=ROOT, env=env,
                capture_output=True, text=True, timeout=2400, check=False))
        return name, (report_dir, run_gate(report_dir, *args, suites=files, threads=1))

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(run, jobs))


def test_the_example_judge_trains_without_vllm(gate_runs):
    """`tunegate example judge` trains the judge adapter of the example base (cached
    like every adapter), so that tox -e vllm only serves it."""
    _, result = gate_runs["judge"]
    assert result.returncode == 0, result.stderr[-3000:]
    folder = Path(result.stdout.strip().splitlines()[-1])
    assert (folder / "adapter_config.json").is_file()
    lineage = json.loads((folder / "lineage.json").read_text())
    assert lineage["data_source"] == "tunegate.example.judge.training_items"


@pytest.mark.parametrize("variant", DEGRADED, ids=[v.name for v in DEGRADED])
def test_degraded_candidate_fails_and_says_why(variant, gate_runs):
    tmp_path, result = gate_runs[variant.name]
    candidate = candidate_option(variant)
    assert result.returncode == 1, result.stdout[-4000:] + result.stderr[-2000:]
    out = result.stdout
    failed = {g["name"] for g in _record(tmp_path)["gates"] if not g["passed"]}
    assert set(expected_gates(variant)) <= failed, out[-3000:]  # each gate meant to catch it did
    for gate in failed:
        assert f"{gate}: FAILED" in out
    assert "threshold" in out
    assert "reproduce: pytest suites/" in out and f"--tg-candidate {candidate}" in out
    if "capability_regression" in failed:  # the documents it forgot, by task
        assert "example_cloze" in out and "flips (" in out
    if "golden_regression" in failed:
        assert "flips (" in out and "golden-0" in out  # the broken examples, by id
    if "json_validity" in failed:  # the outputs that broke, and how
        assert "invalid JSON" in out
    if "ood_abstention" in failed:  # the rates, and the requests it routed to a team
        assert "confident-wrong" in out and "abstained" in out and "::ood::" in out


def _record(report_dir: Path) -> dict[str, object]:
    [record] = (report_dir / "runs").glob("*.json")
    data: dict[str, object] = json.loads(record.read_text())
    return data


def test_two_runs_report_the_regression_and_the_failing_adapter_is_not_promoted(
    tmp_path, capsys
):
    """issue 6's acceptance: `good`, then a degraded variant, into one report folder."""
    from tunegate.cli import main

    assert run_gate(tmp_path).returncode == 0  # both adapters are cached by now
    assert run_gate(tmp_path, "--tg-candidate", "flipped-labels").returncode == 1
    records = {r["passed"]: r for r in map(lambda p: json.loads(p.read_text()),
                                           (tmp_path / "runs").glob("*.json"))}
    good, bad = records[True], records[False]

    assert main(["report", "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "out")]) == 0
    html = (tmp_path / "out" / "report.html").read_text()
    golden = next(g for g in bad["gates"] if g["name"] == "golden_regression")
    flipped_ids = [row["id"] for row in golden["evidence"]["flips"]]
    assert "FAILED" in html and "golden_regression" in html and "<svg" in html
    assert all(example_id in html for example_id in flipped_ids[:5])
    assert bad["run_id"] in (tmp_path / "out" / "summary.md").read_text()

    config = tmp_path / "tunegate.toml"
    config.write_text(
        f'base = "example"\ncandidate = "good"\nreport_dir = "{tmp_path}"\n'
        f'[task]\nlabels = ["billing", "shipping", "technical", "account", "returns", '
        f'"other"]\n[data]\neval = "{ROOT / "evals" / "tickets_eval.jsonl"}"\n')
    common = ["--config", str(config)]
    suites = ["--suites", str(ROOT / "suites")]
    for name, record in (("router-good", good), ("router-flipped", bad)):
        [candidate] = [r for r in record["references"]
                       if r["role"] == "candidate" and r["task"] == "main"]
        assert main(["registry", "register", candidate["adapter"], "--name", name,
                     *common]) == 0
    capsys.readouterr()
    assert main(["promote", "router-flipped", "--to", "production", *common, *suites]) == 1
    refusal = capsys.readouterr()
    assert bad["run_id"] in refusal.out + refusal.err
    assert "golden_regression" in refusal.out + refusal.err
    assert main(["promote", "router-good", "--to", "production", *common, *suites]) == 0
