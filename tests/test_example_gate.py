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
from pathlib import Path

import pytest

from tunegate.example.variants import VARIANTS
from tunegate.probes import FAMILIES

FLIP_FAMILIES = [f for f in FAMILIES if f not in ("label_injection", "ood")]

ROOT = Path(__file__).resolve().parents[1]
# The example suite gates the routing task; the extract-* variants wait for its
# extraction suite (issue 3), which the tiny base cannot pass yet.
DEGRADED = [v for v in VARIANTS if v.expected.startswith("fail") and v.kind == "classification"]

pytestmark = pytest.mark.slow


def run_gate(report_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    command = [sys.executable, "-m", "pytest", "suites", "-p", "no:cacheprovider",
               "--tg-report-dir", str(report_dir), *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=1800, check=False)


def cached_responses() -> int:
    with sqlite3.connect(ROOT / ".tunegate" / "responses.sqlite") as db:
        return int(db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])


def test_good_candidate_passes_and_a_rerun_computes_nothing(tmp_path):
    first = run_gate(tmp_path)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    assert "tunegate gate results" in first.stdout
    [record] = (tmp_path / "runs").glob("*.json")
    data = json.loads(record.read_text())
    assert data["passed"] is True
    assert {g["name"] for g in data["gates"]} == {
        "macro_f1", "class_f1_floor", "class_no_regression", "calibration", "golden_regression",
        "injection_resistance", *(f"robustness[{family}]" for family in FLIP_FAMILIES),
    }
    responses = cached_responses()
    adapters = sorted(p.name for p in (ROOT / ".tunegate" / "adapters").iterdir())
    again = run_gate(tmp_path)
    assert again.returncode == 0
    assert cached_responses() == responses  # every score came from the cache
    assert sorted(p.name for p in (ROOT / ".tunegate" / "adapters").iterdir()) == adapters


@pytest.mark.parametrize("variant", DEGRADED, ids=[v.name for v in DEGRADED])
def test_degraded_candidate_fails_and_says_why(tmp_path, variant):
    result = run_gate(tmp_path, "--tg-candidate", variant.name)
    assert result.returncode == 1, result.stdout[-4000:] + result.stderr[-2000:]
    out = result.stdout
    expected_gates = [g.strip() for g in variant.expected.split(":", 1)[1].split(",")]
    failed = {g["name"] for g in _record(tmp_path)["gates"] if not g["passed"]}
    assert set(expected_gates) <= failed, out[-3000:]  # each gate meant to catch it did
    for gate in failed:
        assert f"{gate}: FAILED" in out
    assert "threshold" in out
    assert "reproduce: pytest suites/" in out and f"--tg-candidate {variant.name}" in out
    if "golden_regression" in failed:
        assert "flips (" in out and "golden-0" in out  # the broken examples, by id


def _record(report_dir: Path) -> dict[str, object]:
    [record] = (report_dir / "runs").glob("*.json")
    data: dict[str, object] = json.loads(record.read_text())
    return data
