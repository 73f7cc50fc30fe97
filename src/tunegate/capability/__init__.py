"""General capability: lm-eval tasks on the base and on the candidate, paired by document.

The bridge to lm-eval (imported only when a task runs): tasks are found locally
(``include_path``) or among lm-eval's own, evaluated on the model the transformers
backend already holds, and cached by model fingerprint, task content and lm-eval
version. ``tunegate.gates.capability_regression`` decides on the results.
"""

from tunegate.capability._cache import ResultCache, result_key
from tunegate.capability._results import CapabilityError, DocOutcome, TaskResult
from tunegate.capability._run import run_capability

__all__ = [
    "CapabilityError",
    "DocOutcome",
    "ResultCache",
    "TaskResult",
    "result_key",
    "run_capability",
]
