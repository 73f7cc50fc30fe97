"""The gate itself on vLLM in-process: ``pytest --tg-backend vllm`` on a project whose
pytest turns warnings into errors gives the verdicts and values the transformers
backend gives, and leaves no engine process or warning behind."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tunegate.backends.vllm_server import vllm_available
from tunegate.data import write_examples

MISSING = vllm_available()
pytestmark = [
    pytest.mark.vllm,
    pytest.mark.skipif(MISSING is not None, reason=f"needs vLLM (tox -e vllm): {MISSING}"),
]
pytest_plugins = ["pytester"]

SUITES = Path(__file__).resolve().parents[2] / "suites"
LABELS = '["billing", "shipping", "technical", "account", "returns", "other"]'


def gate_values(root: Path) -> dict[str, tuple[bool, dict[str, float]]]:
    [record] = (root / "runs").glob("*.json")
    data = json.loads(record.read_text())
    return {g["test"]: (g["passed"], g["values"]) for g in data["gates"]}


def test_the_gate_on_vllm_equals_the_gate_on_transformers(
    pytester: pytest.Pytester, tiny_base, tiny_adapters, tiny_examples
):
    root = pytester.path
    write_examples(root / "eval.jsonl", tiny_examples[:24])
    write_examples(root / "golden.jsonl", tiny_examples[24:40])
    (root / "tunegate.toml").write_text(
        f'base = "{tiny_base}"\nproduction = "{tiny_adapters[1]}"\n'
        f'candidate = "{tiny_adapters[0]}"\ncache_dir = "cache"\n'
        f"[task]\nlabels = {LABELS}\n"
        '[data]\neval = "eval.jsonl"\ngolden = "golden.jsonl"\n'
        "[thresholds]\nmacro_f1 = 0.0\nclass_f1_floor = 0.0\ngolden_max_regression = 1.0\n"
        '[backend]\nkind = "vllm"\n[backend.vllm]\nmax_model_len = 256\n'
    )
    for name in ("conftest.py", "test_task_quality.py", "test_golden_regression.py"):
        shutil.copy(SUITES / name, root / name)
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\nfilterwarnings = error\n")

    runs = {}
    for kind in ("transformers", "vllm"):
        result = pytester.runpytest_subprocess("--tg-backend", kind, "--tg-no-cache",
                                               "--tg-report-dir", f"reports-{kind}")
        assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
        output = result.stdout.str() + result.stderr.str()
        assert "Unclosed context" not in output and "Logging error" not in output
        runs[kind] = gate_values(root / f"reports-{kind}")

    assert runs["vllm"].keys() == runs["transformers"].keys()
    assert len(runs["vllm"]) == 4
    for test, (passed, values) in runs["transformers"].items():
        assert runs["vllm"][test][0] == passed, test
        for key, value in values.items():
            assert runs["vllm"][test][1][key] == pytest.approx(value, abs=1e-4), (test, key)
