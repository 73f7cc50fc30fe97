"""The fine-tuning knobs, as a validated, serialisable config (no torch here)."""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Scheduler = Literal["linear", "cosine", "constant", "constant_with_warmup"]


class TrainingConfig(BaseModel):
    """LoRA / QLoRA settings that practitioners set, with their usual defaults.

    ``load_in_4bit`` means QLoRA: the base is quantised with bitsandbytes, which needs
    CUDA; without it, training is refused with a clear reason.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    r: int = Field(default=8, ge=1, le=1024)
    alpha: int = Field(default=16, ge=1)
    dropout: float = Field(default=0.05, ge=0.0, lt=1.0)
    target_modules: tuple[str, ...] = (
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj",
    )
    epochs: float = Field(default=3.0, gt=0)
    max_steps: int = Field(default=-1, ge=-1)
    batch_size: int = Field(default=16, ge=1)
    gradient_accumulation: int = Field(default=1, ge=1)
    learning_rate: float = Field(default=3e-3, gt=0, le=1.0)
    warmup_ratio: float = Field(default=0.05, ge=0.0, lt=1.0)
    scheduler: Scheduler = "linear"
    weight_decay: float = Field(default=0.0, ge=0.0)
    max_seq_length: int = Field(default=256, ge=8)
    seed: int = 0
    load_in_4bit: bool = False

    @model_validator(mode="after")
    def _check_targets(self) -> TrainingConfig:
        if not self.target_modules:
            raise ValueError("target_modules must name at least one module")
        return self

    def content_hash(self) -> str:
        """A stable hash of every knob: two equal configs train the same adapter."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()
