"""The GitHub Actions examples in examples/ci/ parse and hold the steps they promise.

Every ``tunegate ...`` command in them is parsed by the real CLI parser, so an option
renamed in the CLI breaks this test rather than a user's nightly job.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from tunegate.cli import build_parser

yaml = pytest.importorskip("yaml", reason="PyYAML parses the workflow files")

COMMAND = re.compile(r"(?:^|[\s;&|(])tunegate ([a-z][^|;&\n]*)", re.MULTILINE)
CI = Path(__file__).resolve().parents[2] / "examples" / "ci"


def workflow(name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    document = yaml.safe_load((CI / name).read_text(encoding="utf-8"))
    (job,) = document["jobs"].values()
    return document, job["steps"]


def index(steps: list[dict[str, Any]], text: str) -> int:
    """The position of the first step whose ``run`` or ``uses`` contains ``text``."""
    return next(i for i, step in enumerate(steps)
                if text in step.get("run", "") or text in step.get("uses", ""))


def tunegate_commands(steps: list[dict[str, Any]]) -> list[list[str]]:
    """The arguments of every ``tunegate`` command in the steps' scripts."""
    commands = []
    for step in steps:
        script = step.get("run", "").replace("\\\n", " ")  # line continuations
        for found in COMMAND.finditer(script):
            commands.append(shlex.split(found.group(1)))
    return commands


def test_pull_request_gate():
    document, steps = workflow("release-gate.yml")
    assert "pull_request" in document[True]  # YAML 1.1 reads the key `on` as true
    torch, package = index(steps, "download.pytorch.org/whl/cpu"), index(steps, '".[hf,eval]"')
    assert torch < package
    gate = steps[index(steps, "pytest suites/")]
    assert "--junitxml=" in gate["run"] and "continue-on-error" not in gate  # fails the job
    summary = steps[index(steps, "GITHUB_STEP_SUMMARY")]
    assert summary["if"] == "always()" and "tunegate report --runs reports/runs" in summary["run"]
    upload = steps[index(steps, "actions/upload-artifact")]
    assert upload["if"] == "always()" and "reports/runs/*.json" in upload["with"]["path"]


def test_nightly_gate():
    document, steps = workflow("nightly.yml")
    assert document[True]["schedule"][0]["cron"]
    restore = index(steps, "actions/cache/restore")
    assert "history.sqlite" in steps[restore]["with"]["path"]
    gate, imported = index(steps, "pytest suites/"), index(steps, "tunegate history import")
    report, save = index(steps, "tunegate report --history"), index(steps, "actions/cache/save")
    upload = index(steps, "actions/upload-artifact")
    assert restore < gate < imported < report < save < upload < len(steps) - 1
    assert steps[gate]["continue-on-error"] is True
    assert steps[-1]["if"] == "steps.gate.outcome == 'failure'" and "exit 1" in steps[-1]["run"]
    kept = steps[upload]["with"]["path"]
    assert "reports/history.sqlite" in kept and "reports/report/" in kept
    assert steps[save]["with"]["key"] == steps[restore]["with"]["key"]


@pytest.mark.parametrize("name", ["release-gate.yml", "nightly.yml"])
def test_tunegate_commands_parse(name):
    commands = tunegate_commands(workflow(name)[1])
    assert commands
    for words in commands:
        build_parser().parse_args(words)  # SystemExit on an unknown option
