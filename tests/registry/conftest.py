"""A project on disk for registry tests: config, suite, report folder, adapter folders.

Adapter folders hold an adapter_config.json and arbitrary weight bytes: the registry
hashes and copies content, it never loads a model.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tunegate.backends._fingerprint import folder_fingerprint
from tunegate.config import GateConfig, load_config
from tunegate.registry import Registry
from tunegate.report.record import RunRecord, config_hash, suite_files, suite_hash

CONFIG = """\
base = "base-model"
candidate = "candidate-adapter"
report_dir = "reports"

[task]
labels = ["a", "b"]

[data]
eval = "eval.jsonl"
"""


@dataclass
class Project:
    root: Path
    config_path: Path

    @property
    def config(self) -> GateConfig:
        return load_config(self.config_path)

    @property
    def registry(self) -> Registry:
        return Registry.for_config(self.config)

    @property
    def report_dir(self) -> Path:
        return self.root / "reports"

    @property
    def suites(self) -> Path:
        return self.root / "suites"

    def suite_hash(self) -> str:
        return suite_hash(suite_files(self.suites))

    def adapter(self, name: str, payload: bytes, lineage: dict[str, Any] | None = None) -> Path:
        """An adapter folder with these weight bytes (and a lineage.json when given)."""
        folder = self.root / "adapters-in" / name
        folder.mkdir(parents=True)
        (folder / "adapter_config.json").write_text(json.dumps(
            {"peft_type": "LORA", "r": 4, "base_model_name_or_path": "tiny-llama"}))
        (folder / "adapter_model.safetensors").write_bytes(payload)
        if lineage is not None:
            (folder / "lineage.json").write_text(json.dumps(lineage))
        return folder

    def run(
        self, adapter: Path | str, run_id: str, *, finished: str = "2026-05-01T10:00:00Z",
        failed_gates: Sequence[str] = (), passed: bool | None = None, complete: bool = True,
        suite: str | None = None,
    ) -> Path:
        """Write the run record of a gate run whose candidate was ``adapter``'s content."""
        sha = adapter if isinstance(adapter, str) else folder_fingerprint(adapter)
        ok = not failed_gates if passed is None else passed
        gates = [{"test": f"suites/test_gate.py::test_{n}", "name": n, "passed": True,
                  "status": "passed", "values": {"f1": 0.9}, "thresholds": {"f1": 0.8}}
                 for n in ("macro_f1", "golden_regression")]
        gates += [{"test": f"suites/test_gate.py::test_{n}", "name": n, "passed": False,
                   "status": "failed", "values": {"f1": 0.5}, "thresholds": {"f1": 0.8}}
                  for n in failed_gates]
        record = RunRecord.model_validate({
            "run_id": run_id, "started": finished, "finished": finished,
            "exit_status": 0 if ok else 1, "passed": ok, "seed": 0, "config": {},
            "config_hash": config_hash({}),
            "references": [
                {"role": "base", "base": "tiny-llama", "adapter": None, "fingerprint": "b"},
                {"role": "candidate", "base": "tiny-llama", "adapter": str(adapter),
                 "fingerprint": "c", "adapter_sha256": sha},
            ],
            "gates": gates, "environment": {"python": "3.11"},
            "suite": {"directory": str(self.suites), "files": suite_files(self.suites),
                      "hash": suite or self.suite_hash(), "complete": complete},
        })
        folder = self.report_dir / "runs"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{run_id}.json"
        path.write_text(record.model_dump_json(indent=2))
        return path


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A gate project: tunegate.toml, a one-file suite, a base model folder."""
    (tmp_path / "tunegate.toml").write_text(CONFIG)
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "test_gate.py").write_text("def test_gate():\n    assert True\n")
    (tmp_path / "base-model").mkdir()
    return Project(tmp_path, tmp_path / "tunegate.toml")


@pytest.fixture
def cli(project: Project) -> Callable[..., int]:
    """``cli("promote", "x", "--to", "production")``: the tunegate command on the project."""
    from tunegate.cli import main

    def run(*args: str) -> int:
        return main([*args, "--config", str(project.config_path)])

    return run
