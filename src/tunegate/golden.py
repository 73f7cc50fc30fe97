"""Building a golden set from a reference model: what it gets right, reproducibly.

``build_golden`` runs the reference twice over a source dataset without the response
cache, refuses when the two runs disagree anywhere (a golden set of a nondeterministic
reference would flag noise as regressions), keeps the examples it gets right both
times, and writes the set with its provenance beside it. ``tunegate golden build`` is
the command-line face of it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunegate import __version__
from tunegate.backends._protocol import Backend, ModelRef
from tunegate.data import (
    Example,
    file_sha256,
    load_examples,
    provenance_path,
    write_examples,
    write_json,
)
from tunegate.tasks import ClassificationTask, ExtractionTask
from tunegate.tasks.extraction import exact_key

__all__ = ["GoldenBuild", "GoldenBuildError", "build_golden", "provenance_path"]

SHOWN = 10
"""Disagreeing examples named in the refusal."""


class GoldenBuildError(RuntimeError):
    """The golden set was not written, and why."""


@dataclass(frozen=True)
class GoldenBuild:
    """What was written: the set, its provenance, and how many examples were kept."""

    path: Path
    provenance: Path
    kept: int
    source_count: int



def _answers(
    task: ClassificationTask | ExtractionTask,
    backend: Backend,
    ref: ModelRef,
    examples: Sequence[Example],
) -> tuple[list[str], list[bool]]:
    """The reference's answer to each example, and whether it is right."""
    if isinstance(task, ClassificationTask):
        predictions = task.classify(backend, ref, examples)
        return predictions.predicted, [p.correct for p in predictions.items]
    extractions = task.extract(backend, ref, examples)
    answers = extractions.exact_keys(task.exact_fields)
    expected = [exact_key(item.reference, task.exact_fields) for item in extractions.items]
    return answers, [a == e for a, e in zip(answers, expected, strict=True)]


def build_golden(
    task: ClassificationTask | ExtractionTask,
    backend: Backend,
    ref: ModelRef,
    source: Path,
    out: Path,
    *,
    force: bool = False,
    reference_spec: str | None = None,
) -> GoldenBuild:
    """Run ``ref`` twice on ``source``; write what it gets right both times to ``out``.

    ``backend`` should not be a cache (the second run must recompute). Refuses, writing
    nothing, when ``out`` exists and ``force`` is false, when the runs differ, or when
    nothing would be kept.
    """
    out, source = Path(out), Path(source)
    provenance = provenance_path(out)
    existing = [str(p) for p in (out, provenance) if p.exists()]
    if existing and not force:
        raise GoldenBuildError(f"already written: {', '.join(existing)}; pass --force to overwrite")
    examples = load_examples(source)
    first, right_first = _answers(task, backend, ref, examples)
    second, right_second = _answers(task, backend, ref, examples)
    differing = [e.id for e, a, b in zip(examples, first, second, strict=True) if a != b]
    if differing:
        shown = ", ".join(differing[:SHOWN]) + (" ..." if len(differing) > SHOWN else "")
        raise GoldenBuildError(
            f"the reference {ref.name!r} answered {len(differing)} of {len(examples)} "
            f"examples differently in two runs ({shown}); a golden set needs a "
            "deterministic reference (greedy decoding, fixed seeds, deterministic kernels)"
        )
    kept = [e for e, a, b in zip(examples, right_first, right_second, strict=True) if a and b]
    if not kept:
        raise GoldenBuildError(
            f"the reference {ref.name!r} gets none of the {len(examples)} examples of "
            f"{source} right; nothing to keep"
        )
    fingerprint = backend.fingerprint(ref)
    record: dict[str, Any] = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "reference": {
            "name": ref.name,
            "spec": reference_spec,
            "base": ref.base,
            "adapter": str(ref.adapter) if ref.adapter else None,
            "fingerprint": fingerprint,
        },
        "task": task.kind,
        "source": {"path": str(source), "sha256": file_sha256(source), "count": len(examples)},
        "count": len(kept),
        "dropped_ids": [e.id for e in examples if e not in kept][:1000],
        "runs": 2,
        "tunegate": __version__,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    write_examples(out, kept)
    write_json(provenance, {**record, "sha256": file_sha256(out)})
    return GoldenBuild(out, provenance, len(kept), len(examples))
