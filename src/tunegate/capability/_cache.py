"""The capability result cache: lm-eval's per-document results, one JSON file each.

lm-eval's ``HFLM`` does its own tokenization, batching and context/continuation
splitting, which is what makes its numbers comparable with published ones, so its
requests do not go through tunegate's response cache. Its results are cached instead,
keyed by everything that decides them: the model's content fingerprint (base, plus
adapter), the task's content (YAML and local data files), the lm-eval version and the
evaluation settings. An unchanged base is evaluated once for every candidate.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from tunegate.capability._results import TaskResult
from tunegate.data import write_text_atomic

SCHEMA_VERSION = 1


def result_key(
    model_fingerprint: str, task: str, task_hash: str, lm_eval_version: str,
    settings: dict[str, Any],
) -> str:
    """sha256 over everything that decides a task's results on a model."""
    payload = json.dumps(
        {"schema": SCHEMA_VERSION, "model": model_fingerprint, "task": task,
         "task_hash": task_hash, "lm_eval": lm_eval_version, "settings": settings},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


class ResultCache:
    """Task results stored as ``<folder>/<key>.json``, written atomically."""

    def __init__(self, folder: Path):
        self.folder = folder

    def get(self, key: str) -> TaskResult | None:
        """The stored result, or None when missing or unreadable (then it is recomputed)."""
        path = self.folder / f"{key}.json"
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            if record.pop("schema_version", None) != SCHEMA_VERSION:
                return None
            return TaskResult.from_dict(record, cached=True)
        except (OSError, ValueError, TypeError):
            return None

    def put(self, key: str, result: TaskResult) -> None:
        """Store a successful result; results with an error are never stored."""
        if result.error is not None:
            return
        record = {"schema_version": SCHEMA_VERSION, **result.to_dict()}
        write_text_atomic(self.folder / f"{key}.json", json.dumps(record))

    def __len__(self) -> int:
        return len(list(self.folder.glob("*.json"))) if self.folder.is_dir() else 0
