"""suites/test_capability.py run by pytester on the tiny model and the tiny task."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(pytester: pytest.Pytester, tiny_base: Path, tiny_task: Any,
            tiny_docs: list[dict[str, Any]]) -> Path:
    tiny_task.write(pytester.path / "tasks", tiny_docs)
    shutil.copy(ROOT / "suites" / "test_capability.py", pytester.path / "test_capability.py")
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n")
    return pytester.path


def configure(project: Path, tiny_base: Path, candidate: str, capability: str) -> None:
    (project / "tunegate.toml").write_text(
        f'base = "{tiny_base}"\ncandidate = "{candidate}"\n'
        '[task]\nlabels = ["billing", "other"]\n[data]\neval = "eval.jsonl"\n'
        f"[capability]\n{capability}\n", encoding="utf-8")


def gates(project: Path) -> list[dict[str, Any]]:
    [record] = (project / "reports" / "runs").glob("*.json")
    result: list[dict[str, Any]] = json.loads(record.read_text())["gates"]
    return result


def test_skips_with_the_reason_when_no_task_is_configured(
    pytester: pytest.Pytester, project: Path, tiny_base: Path
) -> None:
    configure(project, tiny_base, "base", "tasks = []")
    result = pytester.runpytest_subprocess("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*no capability tasks configured*"])


def test_records_a_passing_gate_for_an_unchanged_model(
    pytester: pytest.Pytester, project: Path, tiny_base: Path, tiny_task: Any
) -> None:
    configure(project, tiny_base, "base",
              f'tasks = ["{tiny_task.name}"]\ninclude_path = "tasks"\nmax_drop_points = 0.0')
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)
    [gate] = gates(project)
    assert gate["name"] == "capability_regression" and gate["passed"]
    assert gate["values"][f"drop_points[{tiny_task.name}]"] == 0.0
    assert gate["evidence"]["tasks"][0]["docs"] == tiny_task.docs


def test_fails_closed_on_a_task_lm_eval_does_not_know(
    pytester: pytest.Pytester, project: Path, tiny_base: Path, billing_adapter: Path
) -> None:
    configure(project, tiny_base, str(billing_adapter),
              'tasks = ["no_such_task"]\ninclude_path = "tasks"')
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*capability_regression: NOT EVALUATED*lm-eval knows no task "
                                 "'no_such_task'*", "*reproduce: pytest test_capability.py*"])
    [gate] = gates(project)
    assert gate["status"] == "NOT EVALUATED" and not gate["passed"]
