"""Run records shaped like the example gate's, for the report tests (loaded by path).

``night(n)`` is the n-th nightly run of a good candidate; ``night(n, degraded=True)`` a
run whose candidate routes billing tickets to returns: golden examples flip, class F1
drops, macro-F1 fails, and a test errors without a gate result. Values move a little
from night to night so that trends have something to draw.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tunegate.report.history import History
from tunegate.report.record import (
    ExampleRecord,
    GateRecord,
    ReferenceRecord,
    RunRecord,
    SuiteRecord,
    TestRecord,
    config_hash,
    write_run_record,
)

LABELS = ["billing", "shipping", "returns", "other"]
GOLDEN_FLIPS = ["golden-003", "golden-007"]  # right for production, wrong when degraded


def config(candidate: str) -> dict[str, Any]:
    return {"name": "main", "base": "example", "candidate": candidate,
            "production": "production", "seed": 0,
            "task": {"kind": "classification", "labels": LABELS},
            "thresholds": {"class_f1_floor": 0.7, "class_max_drop": 0.08}, "tasks": {}}


def gate(name: str, test: str, values: dict[str, float | None],
         bounds: dict[str, tuple[str, float]], reason: str = "",
         evidence: dict[str, Any] | None = None) -> GateRecord:
    """A gate whose verdict follows from its values and bounds."""
    passed = all(values[k] is not None and (values[k] >= t if d == ">=" else values[k] <= t)
                 for k, (d, t) in bounds.items())
    return GateRecord(test=f"suites/{test}", name=name, passed=passed,
                      status="PASSED" if passed else "FAILED", values=values,
                      thresholds={k: t for k, (_, t) in bounds.items()},
                      directions={k: d for k, (d, _) in bounds.items()}, reason=reason,
                      evidence=evidence or {})


def examples(degraded: bool, night: int) -> list[ExampleRecord]:
    """40 eval, 10 golden and 20 probe outcomes for production and the candidate."""
    records = []
    for i in range(40):
        gold = LABELS[i % 4]
        production = gold if i % 5 else "other"  # production misses every fifth
        candidate = gold if (i + night) % 8 else "shipping"
        if degraded and gold == "billing":
            candidate = "returns"
        for role, answer in (("production", production), ("candidate", candidate)):
            records.append(ExampleRecord(role=role, task="main", split="eval",
                                         id=f"eval-{i:03d}", gold=gold, answer=answer,
                                         correct=answer == gold, confidence=0.8))
    for i in range(10):
        broken = degraded and f"golden-{i:03d}" in GOLDEN_FLIPS
        for role in ("production", "candidate"):
            answer = "returns" if role == "candidate" and broken else "billing"
            records.append(ExampleRecord(role=role, task="main", split="golden",
                                         id=f"golden-{i:03d}", gold="billing", answer=answer,
                                         correct=answer == "billing"))
    for i in range(20):
        answer = "other" if (i + night) % 6 == 0 else "shipping"
        records.append(ExampleRecord(role="candidate", task="main", split="probes",
                                     id=f"eval-{i:03d}::typos::1", gold="shipping",
                                     answer=answer, correct=answer == "shipping"))
    return records


def gates(degraded: bool, night: int) -> list[GateRecord]:
    drift = 0.004 * night
    f1 = 0.62 if degraded else 0.80 + drift
    regression = 0.2 if degraded else 0.0
    flips = [{"candidate": "returns", "expected": "billing", "id": i,
              "input": f"I was charged twice | ticket {i}", "reference": "billing"}
             for i in (GOLDEN_FLIPS if degraded else [])]
    return [
        gate("chat_format[train]", "test_data.py::test_chat_format[train]",
             {"invalid_examples": 0.0}, {"invalid_examples": ("<=", 0.0)},
             "0 of 1920 examples break the chat format", {"issues": []}),
        gate("golden_regression", "test_golden_regression.py::test_golden_regression",
             {"regression_rate": regression, "regression_rate_ci_low": regression / 2,
              "regression_rate_ci_high": regression + 0.1, "regressed": 10 * regression,
              "improved": 0.0, "reference_correct": 10.0, "examples": 10.0,
              "p_value_worse": 0.25 if degraded else 1.0},
             {"regression_rate": ("<=", 0.05)},
             f"{int(10 * regression)} of 10 golden examples the reference gets right regressed",
             {"flips": flips, "improved": [], "mcnemar": {"regressed": len(flips)}}),
        gate("robustness[typos]", "test_robustness.py::test_brittle[typos]",
             {"candidate_flip_rate": 0.12 + drift, "reference_flip_rate": 0.18,
              "flip_rate_increase": -0.06 + drift, "probes": 20.0},
             {"flip_rate_increase": ("<=", 0.05)}, "typos: fine"),
        gate("robustness[casing]", "test_robustness.py::test_brittle[casing]",
             {"candidate_flip_rate": 0.40, "reference_flip_rate": 0.30 - drift,
              "flip_rate_increase": 0.10 + drift, "probes": 20.0},
             {"flip_rate_increase": ("<=", 0.15)}, "casing: within bounds"),
        gate("ood_abstention", "test_robustness.py::test_ood",
             {"abstain_rate": 0.9 - drift, "confident_wrong_rate": 0.02, "probes": 50.0},
             {"abstain_rate": (">=", 0.5), "confident_wrong_rate": ("<=", 0.1)},
             "abstained 90%", {"abstain_rate_by_group": {"weather": 1.0, "recipes": 0.8},
                               "confident_wrong": []}),
        gate("macro_f1", "test_task_quality.py::test_macro_f1",
             {"macro_f1": f1, "accuracy": f1 + 0.01}, {"macro_f1": (">=", 0.78)},
             f"macro-F1 {f1:.4f} against minimum 0.7800"),
        gate("judge_scores", "test_judge.py::test_judge_scores",
             {"mean_score": 4.3 - drift, "judge_kappa": 0.71}, {"mean_score": (">=", 4.0)},
             "mean rubric score 4.30", {"per_criterion": {"routing": 4.5, "tone": 4.1}}),
        gate("capability[arc_easy]", "test_capability.py::test_no_forgetting[arc_easy]",
             {"accuracy_drop": 0.01, "base_accuracy": 0.41, "candidate_accuracy": 0.40},
             {"accuracy_drop": ("<=", 0.02)}, "arc_easy: -1.0 points"),
    ]


def night(n: int, *, degraded: bool = False, day: int | None = None, hour: int = 2) -> RunRecord:
    """The run of night ``n`` (finished on 2026-11-<day or n+1> at ``hour``:00)."""
    stamp = f"2026-11-{day if day is not None else n + 1:02d}T{hour:02d}:00:00Z"
    candidate = "degraded" if degraded else "good"
    found = gates(degraded, n)
    tests = [TestRecord(nodeid=g.test, outcome="passed" if g.passed else "failed",
                        duration_s=0.5) for g in found]
    if degraded:
        tests.append(TestRecord(nodeid="suites/test_extraction.py::test_schema", outcome="error",
                                duration_s=0.1, message="FileNotFoundError: schema.json"))
    passed = all(g.passed for g in found) and not degraded
    run_id = stamp.replace("-", "").replace(":", "")[:15] + f"-{n:06x}"
    return RunRecord(
        run_id=run_id, started=stamp, finished=stamp, duration_s=600.0,
        exit_status=0 if passed else 1, passed=passed, seed=0, config=config(candidate),
        config_hash=config_hash(config(candidate)),
        references=[
            ReferenceRecord(role="base", base="/models/base", adapter=None, fingerprint="b" * 64),
            ReferenceRecord(role="production", base="/models/base", adapter="/adapters/prod",
                            fingerprint="b" * 64 + "+" + "p" * 64, adapter_sha256="p" * 64),
            ReferenceRecord(role="candidate", base="/models/base",
                            adapter=f"/adapters/{candidate}",
                            fingerprint="b" * 64 + "+" + "c" * 64,
                            adapter_sha256=("d" if degraded else "c") * 64),
        ],
        gates=found, environment={"python": "3.11", "tunegate": "0.1.0"},
        suite=SuiteRecord(directory="suites", files={"test_x.py": "f" * 64}, hash="s" * 64,
                          complete=True),
        tests=tests, examples=examples(degraded, n),
    )


def nights(count: int, *, degraded_last: bool = True) -> list[RunRecord]:
    """``count`` nights of the good candidate, the last one degraded when asked."""
    return [night(n, degraded=degraded_last and n == count - 1) for n in range(count)]


def history(path: Path, records: list[RunRecord]) -> Path:
    """A real SQLite history holding ``records``."""
    store = History(path)
    assert store.version >= 2  # creates the file, even with no record to add
    for record in records:
        store.add(record)
    return path


def runs_folder(report_dir: Path, records: list[RunRecord]) -> Path:
    """``<report_dir>/runs/`` with one record file a run."""
    for record in records:
        write_run_record(record, report_dir)
    return report_dir / "runs"
