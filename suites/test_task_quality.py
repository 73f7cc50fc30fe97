"""Task quality: the candidate must route tickets well overall and in every class."""

from __future__ import annotations

from collections.abc import Callable

from tunegate.config import GateConfig
from tunegate.gates import GateResult, class_f1_floor, macro_f1_at_least
from tunegate.metrics import ClassificationMetrics


def test_macro_f1(
    candidate_metrics: ClassificationMetrics,
    tg_config: GateConfig,
    tg_gate: Callable[[GateResult], GateResult],
) -> None:
    tg_gate(macro_f1_at_least(candidate_metrics, tg_config.thresholds.macro_f1))


def test_every_class_f1(
    candidate_metrics: ClassificationMetrics,
    tg_config: GateConfig,
    tg_gate: Callable[[GateResult], GateResult],
) -> None:
    tg_gate(class_f1_floor(candidate_metrics, tg_config.thresholds.class_f1_floor))
