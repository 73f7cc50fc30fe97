"""Trained adapters cached by content: (base fingerprint, training data, config).

An adapter asked for twice is trained once, also by processes running at once (pytest
-n workers, concurrent CI jobs on one cache): the first trains it under a file lock,
the others wait for it. Each adapter folder carries a lineage.json that says what it
was trained from, so a registry or a report can trace it without the run that made it.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from filelock import FileLock

import tunegate
from tunegate.training._config import TrainingConfig
from tunegate.training._finetune import TrainingItem, finetune

LINEAGE_VERSION = 1


def items_sha256(items: Sequence[TrainingItem]) -> str:
    """Content hash of the training data exactly as it is taught (input and answer)."""
    digest = hashlib.sha256()
    for item in items:
        record = {
            "messages": [m.model_dump() for m in item.messages] if item.messages else None,
            "prompt": item.prompt,
            "answer": item.answer,
        }
        digest.update(json.dumps(record, sort_keys=True, ensure_ascii=False).encode() + b"\n")
    return digest.hexdigest()


class AdapterStore:
    """A folder of trained adapters, one sub-folder per training key."""

    def __init__(self, root: Path):
        self.root = root
        self.trained = 0  # how many adapters this store trained (not loaded from cache)

    @staticmethod
    def key(base_fingerprint: str, data_sha256: str, config: TrainingConfig) -> str:
        payload = f"{base_fingerprint}\n{data_sha256}\n{config.content_hash()}"
        return hashlib.sha256(payload.encode()).hexdigest()

    def path_for(self, key: str) -> Path:
        return self.root / key[:20]

    def get_or_train(
        self,
        base: str,
        base_fingerprint: str,
        items: Sequence[TrainingItem],
        config: TrainingConfig,
        *,
        name: str = "adapter",
        data_source: str | None = None,
    ) -> Path:
        """The adapter trained with exactly these inputs; trains it when missing."""
        data_sha = items_sha256(items)
        key = self.key(base_fingerprint, data_sha, config)
        target = self.path_for(key)
        if (target / "lineage.json").is_file():
            return target
        self.root.mkdir(parents=True, exist_ok=True)
        with FileLock(self.root / f".{key[:20]}.lock"):
            if (target / "lineage.json").is_file():  # trained while this one waited
                return target
            return self._train(base, base_fingerprint, items, config, name=name,
                               data_source=data_source, key=key, data_sha=data_sha)

    def _train(
        self,
        base: str,
        base_fingerprint: str,
        items: Sequence[TrainingItem],
        config: TrainingConfig,
        *,
        name: str,
        data_source: str | None,
        key: str,
        data_sha: str,
    ) -> Path:
        target = self.path_for(key)
        scratch = Path(tempfile.mkdtemp(prefix=f".{key[:12]}-", dir=self.root))
        try:
            outcome = finetune(base, items, config, scratch)
            shutil.rmtree(scratch / "_trainer", ignore_errors=True)
            lineage = {
                "lineage_version": LINEAGE_VERSION,
                "name": name,
                "key": key,
                "base": base,
                "base_fingerprint": base_fingerprint,
                "data_sha256": data_sha,
                "data_source": data_source,
                "examples": len(items),
                "training": config.model_dump(mode="json"),
                "outcome": asdict(outcome),
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "environment": _environment(),
            }
            (scratch / "lineage.json").write_text(json.dumps(lineage, indent=2) + "\n")
            try:
                os.replace(scratch, target)
            except OSError:  # another process finished the same adapter first
                if not (target / "lineage.json").is_file():
                    raise
            self.trained += 1
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return target


def read_lineage(adapter: Path) -> dict[str, Any] | None:
    path = adapter / "lineage.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _environment() -> dict[str, str]:
    import peft
    import torch
    import transformers

    return {
        "tunegate": tunegate.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
    }
