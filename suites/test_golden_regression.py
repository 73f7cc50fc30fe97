"""Golden-set regression: on the golden examples the reference (production, else the
base) gets right, the candidate may regress on at most 5 % (configurable)."""

from __future__ import annotations

from collections.abc import Callable

from tunegate.backends import ModelRef
from tunegate.config import GateConfig
from tunegate.gates import GateResult, golden_regression
from tunegate.session import GateSession


def test_golden_regression(
    tg_session: GateSession,
    tg_candidate: ModelRef,
    tg_reference: ModelRef,
    tg_config: GateConfig,
    tg_gate: Callable[[GateResult], GateResult],
) -> None:
    golden = tg_session.dataset("golden")
    reference = tg_session.predictions(tg_reference, "golden")
    candidate = tg_session.predictions(tg_candidate, "golden")
    tg_gate(golden_regression(
        ids=[e.id for e in golden],
        inputs=[e.text for e in golden],
        expected=[e.label or "" for e in golden],
        reference_answers=reference.predicted,
        candidate_answers=candidate.predicted,
        max_regression=tg_config.thresholds.golden_max_regression,
        require_significance=tg_config.thresholds.golden_require_significance,
        alpha=tg_config.thresholds.golden_alpha,
        seed=tg_config.seed,
    ))
