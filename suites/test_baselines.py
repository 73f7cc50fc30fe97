"""Was fine-tuning worth it: the candidate must beat every prompted baseline of
[tool.tunegate.baselines] — a base model asked zero-shot, or shown k training examples
first — on the same eval examples, by thresholds.min_delta_over_baseline with the 95 %
paired bootstrap interval's lower bound above zero (in thresholds.baseline_metric,
macro-F1 unless configured); and serving it must stay within the
latency, token and cost ceilings. The run record's decision table puts the figures of
every reference side by side."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tunegate.config import GateConfig
from tunegate.gates import GateResult, improvement_over
from tunegate.gates.usage import usage_ceiling
from tunegate.pytest_plugin import gate_session
from tunegate.session import GateSession
from tunegate.tasks import Predictions

Gate = Callable[[GateResult], GateResult]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "baseline" in metafunc.fixturenames:
        names = sorted(gate_session(metafunc.config).config.baselines)
        metafunc.parametrize("baseline", names or [pytest.param(
            None, marks=pytest.mark.skip(reason="no prompted baselines configured "
                                                "([tool.tunegate.baselines])"))],
                             ids=names or ["none"])


def test_candidate_beats_prompted_baseline(
    baseline: str, tg_session: GateSession, candidate_eval: Predictions,
    tg_config: GateConfig, tg_gate: Gate,
) -> None:
    prompted = tg_session.predictions(tg_session.baselines[baseline], "eval")
    tg_gate(improvement_over(
        candidate_eval.gold, prompted.predicted, candidate_eval.predicted,
        candidate_eval.labels, tg_config.thresholds.min_delta_over_baseline,
        metric=tg_config.thresholds.baseline_metric, seed=tg_config.seed,
        name=f"beats_{baseline}",
    ))


def test_latency_tokens_and_cost(candidate_eval: Predictions, tg_config: GateConfig,
                                 tg_gate: Gate) -> None:
    bounds = tg_config.thresholds
    ceilings = {"max_p50_ms": bounds.max_p50_latency_ms,
                "max_p95_ms": bounds.max_p95_latency_ms,
                "max_tokens_per_request": bounds.max_tokens_per_request,
                "max_cost_per_1000": bounds.max_cost_per_1000}
    if all(v is None for v in ceilings.values()):
        pytest.skip("no latency, token or cost ceiling configured (thresholds.max_p95_latency_ms"
                    ", max_p50_latency_ms, max_tokens_per_request, max_cost_per_1000)")
    prices = (tg_config.cost.model_dump(exclude={"currency"}, exclude_none=True)
              if tg_config.cost is not None else None)
    tg_gate(usage_ceiling(candidate_eval.usage, **ceilings, prices=prices,
                          ids=[p.id for p in candidate_eval.items]))
