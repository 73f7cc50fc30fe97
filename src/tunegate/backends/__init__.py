"""Backends: how text goes in and scores or generations come out.

Implementations are imported lazily by :func:`load_backend`, so importing this
package does not import torch.
"""

from tunegate.backends._cache import CachedBackend, ResponseCache
from tunegate.backends._canary import AdapterMismatchError, AdapterNoOpError
from tunegate.backends._protocol import (
    Backend,
    ChoiceScores,
    GenerateRequest,
    Generation,
    ModelRef,
    ScoreRequest,
)

__all__ = [
    "AdapterMismatchError",
    "AdapterNoOpError",
    "Backend",
    "CachedBackend",
    "ChoiceScores",
    "GenerateRequest",
    "Generation",
    "ModelRef",
    "ResponseCache",
    "ScoreRequest",
]
