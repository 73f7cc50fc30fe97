"""The example's own judge, for real: suites/test_judge.py on the bundled example, with
the judge adapter of the example base served by vLLM on 127.0.0.1 for each run.

It must earn its vote first (κ and accuracy on evals/judge_calibration.jsonl above the
floors), then pass the `good` candidate and fail a degraded one. The base and the
adapters come from the repository's .tunegate/ (built by the slow tests of ``tox -e py``
when they ran first, else here); only the judge's calls are new.

Opt-in (``-m example_judge``): the judge's recipe is not yet robust. With training seed
0 it calibrates on an AMD EPYC (κ 0.870; this test passed on a fresh clone), with seed
1 it does not (κ 0.48), and another CPU's arithmetic acts like another seed, so CI does
not hang on it until the recipe holds across seeds:

    tox -e vllm -- tests/vllm/test_example_judge.py -m "vllm and example_judge"
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tunegate.backends.vllm_server import vllm_available

MISSING = vllm_available()
pytestmark = [
    pytest.mark.vllm,
    pytest.mark.slow,
    pytest.mark.example_judge,
    pytest.mark.skipif(MISSING is not None, reason=f"needs vLLM (tox -e vllm): {MISSING}"),
]

ROOT = Path(__file__).resolve().parents[2]
DEGRADED = "undertrained"


@pytest.fixture(autouse=True, scope="module")
def _opt_in(request: pytest.FixtureRequest) -> None:
    """Before the module's runs (a module fixture of its own scope comes first)."""
    if "example_judge" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("opt-in: select with -m 'vllm and example_judge' (the example judge's "
                    "recipe calibrates with seed 0, not yet with every seed)")


def judge_gates(report_dir: Path) -> dict[str, dict[str, Any]]:
    [record] = (report_dir / "runs").glob("*.json")
    return {g["name"]: g for g in json.loads(record.read_text())["gates"]}


@pytest.fixture(scope="module")
def judge_runs(tmp_path_factory: pytest.TempPathFactory
               ) -> dict[str, tuple[Path, subprocess.CompletedProcess[str]]]:
    """suites/test_judge.py for `good` and for the degraded variant, one after the other
    (each run starts and stops its own judge server)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    trained = subprocess.run([sys.executable, "-m", "tunegate.cli", "example", "judge"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=2400,
                             check=False)
    assert trained.returncode == 0, trained.stderr[-3000:]
    runs = {}
    for candidate in ("good", DEGRADED):
        report_dir = tmp_path_factory.mktemp(candidate)
        runs[candidate] = report_dir, subprocess.run(
            [sys.executable, "-m", "pytest", "suites/test_judge.py", "-p", "no:cacheprovider",
             "--tg-candidate", candidate, "--tg-report-dir", str(report_dir)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=2400, check=False)
    return runs


def test_the_example_judge_is_calibrated_and_passes_good(judge_runs):
    report_dir, result = judge_runs["good"]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    gates = judge_gates(report_dir)
    assert set(gates) == {"judge_calibrated", "judge_scores", "judge_win_rate"}
    assert all(g["passed"] for g in gates.values())
    calibration = gates["judge_calibrated"]["values"]
    assert calibration["kappa"] >= 0.6 and calibration["accuracy"] >= 0.8
    assert gates["judge_win_rate"]["values"]["position_bias"] <= 0.2
    print("\n".join(f"{name}: {g['reason']}" for name, g in gates.items()))


def test_the_example_judge_fails_a_degraded_candidate(judge_runs):
    report_dir, result = judge_runs[DEGRADED]
    assert result.returncode == 1, result.stdout[-4000:] + result.stderr[-2000:]
    gates = judge_gates(report_dir)
    assert gates["judge_calibrated"]["passed"]  # the same judge: its vote counts
    assert not gates["judge_scores"]["passed"]
    assert "mean judge score" in gates["judge_scores"]["reason"]
    assert f"--tg-candidate {DEGRADED}" in result.stdout
