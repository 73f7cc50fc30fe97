"""Gates: a metric value held to a threshold, with a verdict that explains itself."""

from tunegate.gates._result import Direction, GateFailed, GateResult, gate_error
from tunegate.gates.classification import class_f1_floor, macro_f1_at_least
from tunegate.gates.golden import golden_regression

__all__ = [
    "Direction",
    "GateFailed",
    "GateResult",
    "class_f1_floor",
    "gate_error",
    "golden_regression",
    "macro_f1_at_least",
]
