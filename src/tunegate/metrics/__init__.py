"""Metrics: pure functions over predictions and references, each with its direction."""

from tunegate.metrics.classification import (
    METRICS,
    ClassificationMetrics,
    ClassMetrics,
    MetricInfo,
    classification_metrics,
)

__all__ = [
    "METRICS",
    "ClassMetrics",
    "ClassificationMetrics",
    "MetricInfo",
    "classification_metrics",
]
