"""Run records built from literal data, for the record and history tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tunegate.report.record import (
    ExampleRecord,
    GateRecord,
    ReferenceRecord,
    RunRecord,
    SuiteRecord,
    TestRecord,
    config_hash,
)

CONFIG: dict[str, Any] = {"base": "example", "candidate": "good", "production": "production",
                          "seed": 3, "name": "main", "task": {"labels": ["a", "b"]}}


def make_record(run_id: str = "20260101T000000-aaaaaa", *, finished: str = "2026-01-01T00:05:00Z",
                candidate_sha: str = "c" * 64, f1: float = 0.8, examples: int = 4,
                passed: bool = True) -> RunRecord:
    """A complete v2 record: two gates, three tests, ``examples`` example outcomes."""
    gates = [
        GateRecord(test="suite/test_q.py::test_f1", name="macro_f1", passed=passed,
                   status="PASSED" if passed else "FAILED", values={"macro_f1": f1},
                   thresholds={"macro_f1": 0.7}, directions={"macro_f1": ">="},
                   evidence={"confusion": {"labels": ["a", "b"], "matrix": [[1, 0], [0, 1]]}}),
        GateRecord(test="suite/test_q.py::test_ece", name="calibration", passed=True,
                   status="PASSED", values={"ece": 0.05, "brier": None},
                   thresholds={"ece": 0.1}, directions={"ece": "<="}, reason="fine"),
    ]
    return RunRecord(
        run_id=run_id, started="2026-01-01T00:00:00Z", finished=finished, duration_s=300.5,
        exit_status=0 if passed else 1, passed=passed, seed=3,
        seeds={"gate": 3, "PYTHONHASHSEED": 0}, config=CONFIG, config_hash=config_hash(CONFIG),
        references=[
            ReferenceRecord(role="base", base="/m/base", adapter=None, fingerprint="b" * 64),
            ReferenceRecord(role="candidate", base="/m/base", adapter="/m/cand",
                            fingerprint="b" * 64 + "+x", adapter_sha256=candidate_sha),
            ReferenceRecord(role="production", base="/m/base", adapter="/m/prod",
                            fingerprint="b" * 64 + "+y", adapter_sha256="p" * 64),
        ],
        gates=gates, environment={"python": "3.11"},
        suite=SuiteRecord(directory="suite", files={"test_q.py": "f" * 64}, hash="h" * 64,
                          complete=True),
        tests=[TestRecord(nodeid="suite/test_q.py::test_f1", outcome="passed", duration_s=1.5),
               TestRecord(nodeid="suite/test_q.py::test_ece", outcome="passed", duration_s=0.5),
               TestRecord(nodeid="suite/test_q.py::test_x", outcome="skipped", duration_s=0.0,
                          message="no production")],
        examples=[ExampleRecord(role="candidate", task="main", split="eval", id=f"e{i}",
                                gold="a", answer="a" if i % 2 else "b", correct=bool(i % 2),
                                confidence=0.5 + i / 100) for i in range(examples)],
    )


@pytest.fixture
def record_factory() -> Callable[..., RunRecord]:
    """``record_factory(run_id=..., finished=..., candidate_sha=..., f1=..., examples=...)``."""
    return make_record
