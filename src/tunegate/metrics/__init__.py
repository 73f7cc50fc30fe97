"""Metrics: pure functions over predictions and references, each with its direction."""

from tunegate.metrics import calibration, classification, structure, text, usage
from tunegate.metrics.calibration import (
    CalibrationMetrics,
    brier_score,
    calibration_metrics,
    expected_calibration_error,
    mean_gold_logprob,
)
from tunegate.metrics.classification import (
    ClassificationMetrics,
    ClassMetrics,
    MetricInfo,
    classification_metrics,
)
from tunegate.metrics.paired import (
    BootstrapResult,
    IntervalResult,
    McNemarResult,
    bootstrap_metric,
    macro_f1_from_indices,
    mcnemar_exact,
    paired_bootstrap,
    paired_bootstrap_metric,
    wilson_interval,
)
from tunegate.metrics.structure import (
    StructureMetrics,
    field_accuracy,
    json_parse_rate,
    schema_validity_rate,
    structure_metrics,
)
from tunegate.metrics.text import (
    BertScorer,
    BertScoreResult,
    bert_score_f1,
    exact_match,
    normalize_answer,
    rouge,
    rouge_scores,
    shared_bert_scorer,
)
from tunegate.metrics.usage import RequestUsage, UsageMetrics, cost_per_1000, usage_metrics

METRICS: dict[str, MetricInfo] = {
    **classification.METRICS,
    **calibration.METRICS,
    **text.METRICS,
    **structure.METRICS,
    **usage.METRICS,
}
"""Every metric by name, with its direction; each module registers its own."""

__all__ = [
    "METRICS",
    "BertScoreResult",
    "BertScorer",
    "BootstrapResult",
    "CalibrationMetrics",
    "ClassMetrics",
    "ClassificationMetrics",
    "IntervalResult",
    "McNemarResult",
    "MetricInfo",
    "RequestUsage",
    "StructureMetrics",
    "UsageMetrics",
    "bert_score_f1",
    "bootstrap_metric",
    "brier_score",
    "calibration_metrics",
    "classification_metrics",
    "cost_per_1000",
    "exact_match",
    "expected_calibration_error",
    "field_accuracy",
    "json_parse_rate",
    "macro_f1_from_indices",
    "mcnemar_exact",
    "mean_gold_logprob",
    "normalize_answer",
    "paired_bootstrap",
    "paired_bootstrap_metric",
    "rouge",
    "rouge_scores",
    "schema_validity_rate",
    "shared_bert_scorer",
    "structure_metrics",
    "usage_metrics",
    "wilson_interval",
]
