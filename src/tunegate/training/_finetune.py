"""One LoRA / QLoRA fine-tuning run with peft and the transformers Trainer.

The loss is on the answer tokens only: the prompt is masked out of the labels, so the
adapter learns to answer, not to reproduce tickets.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunegate._progress import progress_enabled
from tunegate.backends._render import needs_special_tokens, render_answer, render_prompt
from tunegate.data import Message
from tunegate.training._config import TrainingConfig


@dataclass(frozen=True)
class TrainingItem:
    """An input (chat messages or a formatted prompt) and the answer to teach."""

    messages: tuple[Message, ...] | None
    prompt: str | None
    answer: str


@dataclass(frozen=True)
class TrainingOutcome:
    seconds: float
    steps: int
    final_loss: float


class QLoRAUnavailable(RuntimeError):
    """4-bit training was asked for where bitsandbytes and CUDA are not present."""


def tokenize_items(
    tokenizer: Any, items: Sequence[TrainingItem], max_length: int
) -> list[dict[str, list[int]]]:
    """input_ids with labels = -100 on the prompt, truncated from the left of the prompt."""
    rows = []
    for item in items:
        prompt = render_prompt(tokenizer, item.messages, item.prompt)
        answer = render_answer(tokenizer, item.messages, item.answer)
        special = needs_special_tokens(tokenizer, prompt)
        prompt_ids = tokenizer.encode(prompt, add_special_tokens=special)
        whole = tokenizer.encode(prompt + answer, add_special_tokens=special)
        answer_ids = whole[len(prompt_ids):]
        if tokenizer.eos_token_id in answer_ids:  # what a template adds after EOS is not taught
            answer_ids = answer_ids[: answer_ids.index(tokenizer.eos_token_id) + 1]
        keep = max(1, max_length - len(answer_ids))
        prompt_ids = prompt_ids[-keep:]
        input_ids = (prompt_ids + answer_ids)[:max_length]
        labels = ([-100] * len(prompt_ids) + answer_ids)[:max_length]
        rows.append({"input_ids": input_ids, "labels": labels})
    return rows


def finetune(
    base: str, items: Sequence[TrainingItem], config: TrainingConfig, out_dir: Path
) -> TrainingOutcome:
    """Train a LoRA adapter on ``items`` and save it (peft format) into ``out_dir``."""
    import torch
    import transformers
    from peft import LoraConfig, get_peft_model

    started = time.perf_counter()
    transformers.utils.logging.disable_progress_bar()
    transformers.set_seed(config.seed)
    tokenizer = transformers.AutoTokenizer.from_pretrained(base)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = _load_base(base, config, torch, transformers)
    lora = LoraConfig(
        r=config.r, lora_alpha=config.alpha, lora_dropout=config.dropout,
        target_modules=list(config.target_modules), task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, lora)
    rows = tokenize_items(tokenizer, items, config.max_seq_length)
    steps_per_epoch = math.ceil(len(rows) / (config.batch_size * config.gradient_accumulation))
    total = config.max_steps if config.max_steps > 0 else math.ceil(steps_per_epoch * config.epochs)
    args = transformers.TrainingArguments(
        output_dir=str(out_dir / "_trainer"), num_train_epochs=config.epochs,
        max_steps=config.max_steps, per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.gradient_accumulation,
        learning_rate=config.learning_rate, warmup_steps=int(config.warmup_ratio * total),
        lr_scheduler_type=config.scheduler, weight_decay=config.weight_decay,
        seed=config.seed, data_seed=config.seed, use_cpu=not torch.cuda.is_available(),
        report_to=[], save_strategy="no", logging_strategy="no",
        remove_unused_columns=False, disable_tqdm=True,
    )
    collator = transformers.DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100)
    trainer = transformers.Trainer(
        model=model, args=args, train_dataset=_ListDataset(rows), data_collator=collator,
        callbacks=[_progress_callback(total)] if progress_enabled() else [],
    )
    trainer.remove_callback(transformers.PrinterCallback)  # no loss dicts on stdout
    result = trainer.train()
    model.save_pretrained(str(out_dir))
    tokenizer.save_pretrained(out_dir)
    return TrainingOutcome(
        time.perf_counter() - started, int(result.global_step), float(result.training_loss)
    )


def _load_base(base: str, config: TrainingConfig, torch: Any, transformers: Any) -> Any:
    if not config.load_in_4bit:
        return transformers.AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    if not torch.cuda.is_available():
        raise QLoRAUnavailable("load_in_4bit (QLoRA) needs CUDA; no GPU is present")
    try:
        import bitsandbytes  # noqa: F401
        from peft import prepare_model_for_kbit_training
    except ImportError as exc:
        raise QLoRAUnavailable("load_in_4bit needs bitsandbytes: pip install bitsandbytes") from exc
    quantization = transformers.BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16,
    )
    model = transformers.AutoModelForCausalLM.from_pretrained(
        base, quantization_config=quantization, device_map="auto"
    )
    return prepare_model_for_kbit_training(model)


class _ListDataset:
    def __init__(self, rows: list[dict[str, list[int]]]):
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, list[int]]:
        return self.rows[index]


def _progress_callback(total: int) -> Any:
    """A Trainer callback drawing a rich bar of training steps."""
    from rich.progress import Progress
    from transformers import TrainerCallback

    class RichProgress(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self.bar = Progress(transient=True)
            self.bar.start()
            self.task = self.bar.add_task("fine-tuning", total=total)

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self.bar.update(self.task, completed=state.global_step)

        def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self.bar.stop()

    return RichProgress()
