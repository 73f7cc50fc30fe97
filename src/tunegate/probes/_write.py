"""Writing a probe set with its provenance beside it."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunegate import __version__
from tunegate.data import (
    Example,
    file_sha256,
    load_examples,
    provenance_path,
    write_examples,
    write_json,
)
from tunegate.probes._generate import FAMILIES, generate_probes

__all__ = ["ProbeSet", "ProbeSetError", "build_probe_set", "provenance_path"]

SCHEMA_VERSION = 1


class ProbeSetError(RuntimeError):
    """The probe set was not written, and why."""


@dataclass(frozen=True)
class ProbeSet:
    """What was written: the set, its provenance, and the probes per family."""

    path: Path
    provenance: Path
    counts: dict[str, int]
    source_count: int



def build_probe_set(
    source: Path,
    out: Path,
    families: Sequence[str] | None = None,
    *,
    seed: int = 0,
    per_example: int = 1,
    labels: Sequence[str] | None = None,
    abstain_label: str = "other",
    overlong_chars: int = 4000,
    force: bool = False,
    exclude: Callable[[Sequence[Example]], set[str]] | None = None,
) -> ProbeSet:
    """Generate probes of the examples in ``source`` and write them to ``out``.

    ``exclude`` names probes to leave out (the gate session drops probes that repeat a
    training text); the provenance lists them. Refuses, writing nothing, when ``out`` or
    its provenance exists and ``force`` is false, or when no probe could be generated.
    """
    source, out = Path(source), Path(out)
    provenance = provenance_path(out)
    existing = [str(p) for p in (out, provenance) if p.exists()]
    if existing and not force:
        raise ProbeSetError(f"{', '.join(existing)} exists; pass --force to overwrite")
    examples = load_examples(source)
    names = list(FAMILIES) if families is None else list(dict.fromkeys(families))
    if labels is None:
        labels = sorted({e.label for e in examples if e.label is not None} | {abstain_label})
    probes = generate_probes(examples, names, seed=seed, per_example=per_example,
                             labels=labels, abstain_label=abstain_label,
                             overlong_chars=overlong_chars)
    excluded = sorted(exclude(probes)) if exclude is not None else []
    probes = [p for p in probes if p.id not in set(excluded)]
    if not probes:
        raise ProbeSetError(f"no probe could be generated from {source}")
    counts = Counter(str(p.meta["probe_family"]) for p in probes)
    per_family = {name: counts.get(name, 0) for name in names}
    out.parent.mkdir(parents=True, exist_ok=True)
    write_examples(out, probes)
    record: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "source": {"path": str(source), "sha256": file_sha256(source), "count": len(examples)},
        "seed": seed,
        "families": names,
        "per_example": per_example,
        "labels": list(labels),
        "abstain_label": abstain_label,
        "overlong_chars": overlong_chars,
        "counts": per_family,
        "count": len(probes),
        "excluded": excluded,
        "sha256": file_sha256(out),
        "tunegate": __version__,
    }
    write_json(provenance, record)
    return ProbeSet(out, provenance, per_family, len(examples))
