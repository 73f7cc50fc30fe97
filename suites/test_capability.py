"""General capability: on every lm-eval task of [tool.tunegate.capability], the candidate
may lose at most `max_drop_points` points of accuracy against its own base model.

A fine-tune that forgets what the base could do (catastrophic forgetting) fails here,
with the documents that flipped from right to wrong and the paired statistics.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tunegate.backends import ModelRef
from tunegate.config import GateConfig
from tunegate.gates import GateResult, capability_regression
from tunegate.session import GateSession


def test_capability_regression(
    tg_session: GateSession,
    tg_base: ModelRef,
    tg_candidate: ModelRef,
    tg_config: GateConfig,
    tg_gate: Callable[[GateResult], GateResult],
) -> None:
    settings = tg_config.capability
    if not settings.tasks:
        pytest.skip("no capability tasks configured ([tool.tunegate.capability] tasks)")
    tg_gate(capability_regression(
        tg_session.capability(tg_base),
        tg_session.capability(tg_candidate),
        settings.max_drop_points,
        tasks=settings.tasks,
        seed=tg_config.seed,
    ))
