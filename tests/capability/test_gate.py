"""capability_regression: pass, fail and could-not-evaluate, on hand-made paired results."""

from __future__ import annotations

import pytest

import tunegate.capability
from tunegate.capability import DocOutcome, TaskResult
from tunegate.gates import capability_regression
from tunegate.metrics.paired import mcnemar_exact


def result(task: str, correct: list[bool], *, hashes: list[str] | None = None,
           error: str | None = None, order: list[int] | None = None) -> TaskResult:
    """A task result whose document i is right when correct[i] (answer 'a' vs 'b')."""
    docs = [
        DocOutcome(f"{task}/{i}", (hashes or [f"h{i}"] * len(correct))[i], ok,
                   f"prompt {i}", "a", "a" if ok else "b")
        for i, ok in enumerate(correct)
    ]
    if order is not None:
        docs = [docs[i] for i in order]
    return TaskResult(task, "acc", "model", tuple(docs), error)


BASE = [True] * 90 + [False] * 10  # 90 % right


def test_passes_when_no_task_drops_more_than_allowed() -> None:
    candidate = BASE[:]
    candidate[0] = False  # one document lost: 1 point
    gate = capability_regression({"t": result("t", BASE)}, {"t": result("t", candidate)}, 2.0)
    assert gate.passed and gate.error is None
    assert gate.values["drop_points[t]"] == pytest.approx(1.0)
    assert gate.values["base_accuracy[t]"] == pytest.approx(0.9)
    assert gate.values["candidate_accuracy[t]"] == pytest.approx(0.89)
    assert gate.thresholds == {"drop_points[t]": 2.0}
    assert gate.directions == {"drop_points[t]": "<="}
    assert [flip["doc"] for flip in gate.evidence["flips"]] == ["t/0"]
    assert "no task dropped more than 2 points" in gate.reason


def test_fails_naming_the_task_the_flipped_docs_and_the_statistics() -> None:
    candidate = [False] * 8 + BASE[8:]  # 8 right answers lost, none gained
    base = {"kept": result("kept", BASE), "lost": result("lost", BASE)}
    cand = {"kept": result("kept", BASE), "lost": result("lost", candidate)}
    gate = capability_regression(base, cand, 5.0, tasks=["kept", "lost"])
    assert not gate.passed and gate.error is None and gate.status == "FAILED"
    rows = {row["task"]: row for row in gate.evidence["tasks"]}
    assert rows["lost"]["over_limit"] and not rows["kept"]["over_limit"]
    assert rows["lost"]["drop_points"] == pytest.approx(8.0)
    expected = mcnemar_exact(BASE, candidate, "worse")
    assert rows["lost"]["p_value_worse"] == pytest.approx(expected.p_value)
    assert gate.values["p_value_worse[lost]"] == pytest.approx(2 ** -8)
    low, high = rows["lost"]["difference_ci_points"]
    assert low <= -8.0 <= high < 0.0
    assert [f["doc"] for f in gate.evidence["flips"]] == [f"lost/{i}" for i in range(8)]
    assert gate.evidence["flips"][0] == {"task": "lost", "doc": "lost/0", "prompt": "prompt 0",
                                         "expected": "a", "base": "a", "candidate": "b"}
    assert "1 of 2 tasks dropped more than 5 points: lost 90.0 -> 82.0" in gate.reason
    assert "lost/0" in gate.explain()


def test_pairs_documents_by_key_not_by_position() -> None:
    shuffled = list(reversed(range(len(BASE))))
    gate = capability_regression({"t": result("t", BASE)},
                                 {"t": result("t", BASE, order=shuffled)}, 0.0)
    assert gate.passed and gate.values["drop_points[t]"] == 0.0
    assert gate.evidence["flips"] == []


@pytest.mark.parametrize(
    ("candidate", "message"),
    [
        ({}, "t: no candidate result"),
        ({"t": result("t", [], error="lm-eval failed: boom")},
         "t: candidate not evaluated: lm-eval failed: boom"),
        ({"t": result("t", [])}, "t: no documents evaluated on the candidate"),
        ({"t": result("t", BASE[:50])}, "t: base and candidate evaluated different documents"),
        ({"t": result("t", BASE, hashes=["other"] * 100)}, "documents changed between base"),
    ],
    ids=["missing", "error", "no-docs", "other-docs", "changed-docs"],
)
def test_fails_closed_when_a_task_cannot_be_compared(
    candidate: dict[str, TaskResult], message: str
) -> None:
    gate = capability_regression({"t": result("t", BASE), "ok": result("ok", BASE)},
                                 {**candidate, "ok": result("ok", BASE)}, 100.0)
    assert not gate.passed and gate.status == "NOT EVALUATED"
    assert message in (gate.error or "")
    assert "drop_points[ok]" in gate.values  # the tasks that could be compared still are


def test_no_tasks_is_not_a_pass() -> None:
    gate = capability_regression({}, {}, 2.0)
    assert gate.status == "NOT EVALUATED" and "no capability tasks" in (gate.error or "")


def test_rejects_a_threshold_outside_0_to_100_points() -> None:
    with pytest.raises(ValueError, match="max_drop_points"):
        capability_regression({}, {}, 101.0)


def test_public_surface() -> None:
    assert tunegate.capability.__all__ == [
        "CapabilityError", "DocOutcome", "ResultCache", "TaskResult", "result_key",
        "run_capability",
    ]
    assert all(hasattr(tunegate.capability, name) for name in tunegate.capability.__all__)
