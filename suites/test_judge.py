"""LLM-as-judge: a judge grades the candidate's answers and compares them with
production's. Its verdicts count only once it agrees with people on the labelled
outputs in evals/judge_calibration.jsonl (Cohen's κ and accuracy floors); until then
every judge gate fails with "judge not calibrated" and the figures.

The judge is any OpenAI-compatible server: `--tg-judge URL,MODEL` or
[tool.tunegate.judge.openai]. Without one, this suite is skipped and says so.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tunegate.backends import ModelRef
from tunegate.config import JudgeConfig
from tunegate.data import Example
from tunegate.gates import GateResult, judge_calibrated, judge_scores, judge_win_rate
from tunegate.judge import (
    GradeItem,
    Judge,
    PairItem,
    calibrate,
    judge_unavailable,
    load_calibration,
    pairwise_summary,
    score_summary,
)
from tunegate.session import GateSession

Gate = Callable[[GateResult], GateResult]


@pytest.fixture(scope="session")
def judge_config(tg_session: GateSession) -> JudgeConfig:
    return tg_session.config.judge


@pytest.fixture(scope="session")
def judge(tg_session: GateSession) -> Judge:
    reason = judge_unavailable(tg_session.config.judge)
    if reason is not None:
        pytest.skip(reason)
    return tg_session.judge


@pytest.fixture(scope="session")
def calibration(judge: Judge, tg_session: GateSession, judge_config: JudgeConfig) -> GateResult:
    """The judge's agreement with the human labels, computed once per run."""
    items = load_calibration(tg_session.config.resolve(judge_config.calibration))
    report = calibrate(judge, items, pass_score=judge_config.pass_score)
    return judge_calibrated(report, judge_config.min_kappa, judge_config.min_accuracy)


@pytest.fixture(scope="session")
def judged_examples(tg_session: GateSession, judge_config: JudgeConfig) -> list[Example]:
    """The eval examples whose answers are judged (the first ``judge.sample``)."""
    return tg_session.dataset("eval")[: judge_config.sample]


def _answers(tg_session: GateSession, ref: ModelRef, examples: list[Example]) -> list[str]:
    by_id = tg_session.predictions(ref, "eval").by_id()
    return [by_id[e.id].label for e in examples]


def test_judge_calibrated(calibration: GateResult, tg_gate: Gate) -> None:
    tg_gate(calibration)


def test_judge_scores(judge: Judge, calibration: GateResult, judged_examples: list[Example],
                      tg_session: GateSession, tg_candidate: ModelRef,
                      judge_config: JudgeConfig, tg_gate: Gate) -> None:
    answers = _answers(tg_session, tg_candidate, judged_examples)
    verdicts = judge.grade([GradeItem(e.id, e.text, answer, e.label)
                            for e, answer in zip(judged_examples, answers, strict=True)])
    tg_gate(judge_scores(score_summary(verdicts, seed=tg_session.config.seed), calibration,
                         judge_config.min_mean_score))


def test_judge_win_rate_over_production(
    judge: Judge, calibration: GateResult, judged_examples: list[Example],
    tg_session: GateSession, tg_candidate: ModelRef, tg_production: ModelRef,
    judge_config: JudgeConfig, tg_gate: Gate,
) -> None:
    if judge.pairwise_rubric is None:
        pytest.skip("no pairwise rubric configured (judge.pairwise_rubric)")
    candidate = _answers(tg_session, tg_candidate, judged_examples)
    production = _answers(tg_session, tg_production, judged_examples)
    verdicts = judge.compare([
        PairItem(e.id, e.text, mine, theirs, e.label)
        for e, mine, theirs in zip(judged_examples, candidate, production, strict=True)
    ])
    tg_gate(judge_win_rate(pairwise_summary(verdicts, seed=tg_session.config.seed), calibration,
                           judge_config.min_win_rate, judge_config.max_position_bias))
