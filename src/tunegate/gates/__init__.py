"""Gates: a metric value held to a threshold, with a verdict that explains itself."""

from tunegate.gates._result import Direction, GateFailed, GateResult, gate_error
from tunegate.gates.capability import capability_regression
from tunegate.gates.classification import (
    class_f1_floor,
    improvement_over,
    macro_f1_at_least,
    no_class_regression,
)
from tunegate.gates.floors import (
    calibration_floor,
    field_accuracy_floor,
    format_validity_floor,
    metric_floor,
    text_similarity_floor,
)
from tunegate.gates.golden import golden_regression
from tunegate.gates.judge import judge_calibrated, judge_scores, judge_win_rate
from tunegate.gates.robustness import injection_resistance, ood_abstention, probe_flip_regression

__all__ = [
    "Direction",
    "GateFailed",
    "GateResult",
    "calibration_floor",
    "capability_regression",
    "class_f1_floor",
    "field_accuracy_floor",
    "format_validity_floor",
    "gate_error",
    "golden_regression",
    "improvement_over",
    "injection_resistance",
    "judge_calibrated",
    "judge_scores",
    "judge_win_rate",
    "macro_f1_at_least",
    "metric_floor",
    "no_class_regression",
    "ood_abstention",
    "probe_flip_regression",
    "text_similarity_floor",
]
