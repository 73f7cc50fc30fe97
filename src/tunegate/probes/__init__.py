"""Deterministic adversarial and out-of-distribution probes of an eval set.

Each family (``FAMILIES``) perturbs the user text of an example: typos, casing,
whitespace and punctuation noise, unicode look-alikes, paraphrases, distractor
sentences, label and prompt injections, truncation, over-long inputs, and requests
from other domains whose expected answer is the abstain label. ``generate_probes``
turns examples into probe examples (``<source_id>::<family>::<n>``) whose meta records
the family, the source and the seed; ``build_probe_set`` writes them with provenance.
Pure Python: importing this package loads no model backend.
"""

from tunegate.probes._base import Family, Perturb, Perturbation, ProbeContext
from tunegate.probes._generate import (
    FAMILIES,
    generate_probes,
    pair_with_source,
    probe_id,
    source_id,
)
from tunegate.probes._write import ProbeSet, ProbeSetError, build_probe_set, provenance_path

__all__ = [
    "FAMILIES",
    "Family",
    "Perturb",
    "Perturbation",
    "ProbeContext",
    "ProbeSet",
    "ProbeSetError",
    "build_probe_set",
    "generate_probes",
    "pair_with_source",
    "probe_id",
    "provenance_path",
    "source_id",
]
