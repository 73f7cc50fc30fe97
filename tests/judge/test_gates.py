"""Judge gates: calibration floors, and judge verdicts that count only when calibrated."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tunegate.config import load_config
from tunegate.gates import GateFailed, judge_calibrated, judge_scores, judge_win_rate
from tunegate.judge import (
    CalibrationReport,
    PairwiseVerdict,
    PointwiseVerdict,
    agreement,
    pairwise_summary,
    score_summary,
)
from tunegate.session import GateSession


def report(human: list[str], judged: list[str | None], errors=()) -> CalibrationReport:
    verdicts = tuple(PointwiseVerdict(f"c{i}", None if j is None else int(j), "why")
                     for i, j in enumerate(judged))
    found = None if errors else agreement(human, [j for j in judged if j is not None])
    return CalibrationReport(found, verdicts, tuple(human), tuple(judged), tuple(errors))


GOOD = report(["5", "1", "5", "1", "5", "1", "4", "4", "2", "5"],
              ["5", "1", "5", "1", "5", "1", "4", "4", "2", "5"])
POOR = report(["5", "1", "5", "1", "5", "1", "4", "4", "2", "5"],
              ["5", "5", "1", "1", "5", "5", "2", "4", "4", "1"])
SCORES = [PointwiseVerdict(f"o{i}", s, "r") for i, s in enumerate([5, 4, 5, 5, 3, 5])]


def test_a_judge_that_agrees_with_people_is_calibrated():
    result = judge_calibrated(GOOD, min_kappa=0.6, min_accuracy=0.8)
    assert result.passed
    assert result.values["kappa"] == pytest.approx(1.0)
    assert result.reason.startswith("judge calibrated: κ 1.000 >= 0.600, accuracy 1.000")


def test_a_judge_below_the_floor_is_not_calibrated_with_the_figures():
    result = judge_calibrated(POOR, min_kappa=0.6, min_accuracy=0.8)
    assert not result.passed and result.error is None
    assert result.values["accuracy"] == pytest.approx(0.4)
    assert "judge not calibrated: κ" in result.reason and "accuracy 0.400" in result.reason
    assert "< 0.800" in result.reason
    assert len(result.evidence["disagreements"]) == 6
    assert "confusion (rows = true" in result.explain()


def test_judge_scores_count_only_when_the_judge_is_calibrated():
    summary = score_summary(SCORES)
    calibrated = judge_calibrated(GOOD, 0.6, 0.8)
    passed = judge_scores(summary, calibrated, min_mean_score=4.0)
    assert passed.passed
    assert passed.values["mean_score"] == pytest.approx(27 / 6)
    assert passed.values["ci_low"] <= passed.values["mean_score"] <= passed.values["ci_high"]
    assert passed.values["judge_kappa"] == pytest.approx(1.0)
    assert not judge_scores(summary, calibrated, min_mean_score=4.8).passed

    blocked = judge_scores(summary, judge_calibrated(POOR, 0.6, 0.8), min_mean_score=4.0)
    assert not blocked.passed and blocked.status == "NOT EVALUATED"
    assert blocked.reason.startswith("judge not calibrated: κ")
    assert blocked.values["judge_accuracy"] == pytest.approx(0.4)
    assert blocked.thresholds["judge_accuracy"] == 0.8
    with pytest.raises(GateFailed, match="judge not calibrated") as caught:
        blocked.check()
    assert "judge_kappa" in str(caught.value)


def test_verdicts_the_judge_could_not_give_fail_closed():
    verdicts = [*SCORES, PointwiseVerdict("o9", None, error="judge unreachable: GET ...")]
    result = judge_scores(score_summary(verdicts), judge_calibrated(GOOD, 0.6, 0.8), 1.0)
    assert result.status == "NOT EVALUATED"
    assert "could not grade 1 of 7 outputs (fails closed); o9: judge unreachable" in result.reason
    unreachable = report(["5"], [None], errors=[("c0", "judge unreachable: GET ...")])
    calibration = judge_calibrated(unreachable, 0.6, 0.8)
    assert calibration.status == "NOT EVALUATED"
    assert judge_scores(score_summary(SCORES), calibration, 1.0).reason.startswith(
        "judge not calibrated: the judge could not grade 1 of 1 calibration items")


def test_an_undefined_kappa_is_not_evaluated():
    result = judge_calibrated(report(["5", "5"], ["5", "5"]), 0.6, 0.8)
    assert result.status == "NOT EVALUATED" and "κ is undefined" in result.reason


def test_win_rate_gate_with_a_position_bias_bound():
    verdicts = [PairwiseVerdict("p1", "candidate", "A", "B"),
                PairwiseVerdict("p2", "tie", "A", "A"),
                PairwiseVerdict("p3", "candidate", "A", "B"),
                PairwiseVerdict("p4", "reference", "B", "A")]
    summary = pairwise_summary(verdicts)
    calibrated = judge_calibrated(GOOD, 0.6, 0.8)
    result = judge_win_rate(summary, calibrated, min_win_rate=0.5)
    assert result.passed and result.values["win_rate"] == pytest.approx(0.625)
    assert result.values["position_bias"] == pytest.approx(0.25)
    strict = judge_win_rate(summary, calibrated, min_win_rate=0.5, max_position_bias=0.1)
    assert not strict.passed and "follows the position" in strict.reason
    assert not judge_win_rate(summary, judge_calibrated(POOR, 0.6, 0.8), 0.5).passed


def test_bad_thresholds_are_refused():
    with pytest.raises(ValueError, match="min_accuracy"):
        judge_calibrated(GOOD, 0.6, 1.5)
    with pytest.raises(ValueError, match="min_win_rate"):
        judge_win_rate(pairwise_summary([]), judge_calibrated(GOOD, 0.6, 0.8), float("nan"))


def test_the_session_builds_the_configured_judge(openai_server, tmp_path):
    (tmp_path / "eval.jsonl").write_text('{"id": "1", "prompt": "x", "label": "billing"}\n')
    rubrics = tmp_path / "rubrics"
    rubrics.mkdir()
    shipped = Path(__file__).resolve().parents[2] / "evals" / "rubrics"
    for name in ("ticket_routing.toml", "ticket_routing_pairwise.toml"):
        (rubrics / name).write_text((shipped / name).read_text())
    path = tmp_path / "tunegate.toml"
    path.write_text(textwrap.dedent(f"""
        base = "tiny-base"
        candidate = "served:c"
        cache_dir = ".tg"
        [task]
        labels = ["billing", "other"]
        [data]
        eval = "eval.jsonl"
        [judge]
        rubric = "rubrics/ticket_routing.toml"
        pairwise_rubric = "rubrics/ticket_routing_pairwise.toml"
        model = "tiny-base"
        [judge.openai]
        base_url = "{openai_server.url}"
    """))
    session = GateSession(load_config(path))
    judge = session.judge
    assert judge.rubric is not None and judge.rubric.name == "ticket_routing"
    assert judge.backend.cache is session.response_cache is not None
    session.response_cache.close()
