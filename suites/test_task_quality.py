"""Task quality: the candidate must route tickets well overall and in every class,
no class may fall behind production, and its label probabilities must stay calibrated."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tunegate.config import GateConfig
from tunegate.gates import (
    GateResult,
    calibration_floor,
    class_f1_floor,
    macro_f1_at_least,
    no_class_regression,
)
from tunegate.metrics import ClassificationMetrics, calibration_metrics
from tunegate.tasks import Predictions

Gate = Callable[[GateResult], GateResult]


def test_macro_f1(candidate_metrics: ClassificationMetrics, tg_config: GateConfig,
                  tg_gate: Gate) -> None:
    tg_gate(macro_f1_at_least(candidate_metrics, tg_config.thresholds.macro_f1))


def test_every_class_f1(candidate_metrics: ClassificationMetrics, tg_config: GateConfig,
                        tg_gate: Gate) -> None:
    tg_gate(class_f1_floor(candidate_metrics, tg_config.thresholds.class_f1_floor))


def test_no_class_falls_behind_production(
    candidate_metrics: ClassificationMetrics,
    production_metrics: ClassificationMetrics,
    tg_config: GateConfig,
    tg_gate: Gate,
) -> None:
    tg_gate(no_class_regression(candidate_metrics, production_metrics,
                                tg_config.thresholds.class_max_drop))


def test_calibration(candidate_eval: Predictions, tg_config: GateConfig, tg_gate: Gate) -> None:
    bounds = tg_config.thresholds
    if bounds.max_ece is None and bounds.max_brier is None:
        pytest.skip("no calibration bounds configured (thresholds.max_ece / max_brier)")
    gold = [candidate_eval.labels.index(p.gold or "") for p in candidate_eval.items]
    metrics = calibration_metrics([p.probabilities for p in candidate_eval.items], gold)
    tg_gate(calibration_floor(metrics, max_ece=bounds.max_ece, max_brier=bounds.max_brier))
