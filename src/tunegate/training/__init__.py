"""Fine-tuning runs (LoRA / QLoRA with peft), cached by content hash."""

from tunegate.training._config import TrainingConfig
from tunegate.training._finetune import (
    QLoRAUnavailable,
    TrainingItem,
    TrainingOutcome,
    finetune,
    tokenize_items,
)
from tunegate.training._store import AdapterStore, items_sha256, read_lineage

__all__ = [
    "AdapterStore",
    "QLoRAUnavailable",
    "TrainingConfig",
    "TrainingItem",
    "TrainingOutcome",
    "finetune",
    "items_sha256",
    "read_lineage",
    "tokenize_items",
]
