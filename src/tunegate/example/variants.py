"""The example's adapters: production, the good candidate, and degraded candidates.

Each variant is a change to the training data or the training config. The degraded
ones model mistakes teams really ship: a systematic annotation error, a class lost
from the training data, a run stopped far too early, a learning rate set too high, an
export bug that wrote some JSON targets in another format. Each must fail the gate for
its own reason while the good one passes. Routing variants are for the classification
task, ``extract-*`` ones for the JSON-extraction task.
"""

from __future__ import annotations

import ast
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tunegate.data import Example

Transform = Callable[[Sequence[Example], int], list[Example]]

# Data written before this date is the older snapshot production was trained on.
PRODUCTION_SNAPSHOT = "2025-12-01"


def _keep_all(examples: Sequence[Example], seed: int) -> list[Example]:
    return list(examples)


def _older_snapshot(examples: Sequence[Example], seed: int) -> list[Example]:
    return [e for e in examples if str(e.meta.get("created", "")) < PRODUCTION_SNAPSHOT]


def _relabel(example: Example, label: str) -> Example:
    return example.model_copy(update={"label": label, "reference": label})


def _flip_topic(source: str, topics: tuple[str, ...], target: str) -> Transform:
    """Systematically relabel one class's tickets on some topics as another class."""

    def transform(examples: Sequence[Example], seed: int) -> list[Example]:
        return [
            _relabel(e, target)
            if e.label == source and e.meta.get("topic") in topics and e.meta.get("kind") != "vague"
            else e
            for e in examples
        ]

    return transform


def _drop_class(label: str, keep_share: float) -> Transform:
    """Keep only a small share of one class's examples (seeded)."""

    def transform(examples: Sequence[Example], seed: int) -> list[Example]:
        rng = random.Random(f"drop-{label}-{seed}")
        return [e for e in examples if e.label != label or rng.random() < keep_share]

    return transform


def _drop_kind(kind: str) -> Transform:
    """Drop every training example of one kind (``meta.kind``)."""

    def transform(examples: Sequence[Example], seed: int) -> list[Example]:
        return [e for e in examples if e.meta.get("kind") != kind]

    return transform


def _python_repr_when(meta_key: str, value: str) -> Transform:
    """Targets of the examples whose ``meta[meta_key] == value`` written as Python reprs.

    A real export bug: one source system's records went through ``str(dict)`` instead
    of ``json.dumps``, so the adapter learns single quotes and ``None`` for those inputs.
    """

    def transform(examples: Sequence[Example], seed: int) -> list[Example]:
        out = []
        for e in examples:
            if e.meta.get(meta_key) == value and e.reference is not None:
                broken = repr(json.loads(e.reference))
                assert ast.literal_eval(broken) == json.loads(e.reference)
                e = e.model_copy(update={"reference": broken})
            out.append(e)
        return out

    return transform


@dataclass(frozen=True)
class Variant:
    """A named way to train an example adapter, and what the gate should say of it."""

    name: str
    description: str
    expected: str
    transform: Transform = _keep_all
    training: dict[str, Any] = field(default_factory=dict)
    kind: str = "classification"


VARIANTS: tuple[Variant, ...] = (
    Variant("good", "the candidate: all current training data", "pass"),
    Variant(
        "production",
        f"the adapter in production: the older data snapshot (before {PRODUCTION_SNAPSHOT})",
        "pass",
        _older_snapshot,
    ),
    Variant(
        "flipped-labels",
        "annotation error: billing tickets about double charges and wrong amounts "
        "labelled returns",
        "fail: class_f1_floor, golden_regression",
        _flip_topic("billing", ("double_charge", "wrong_amount"), "returns"),
    ),
    Variant(
        "missing-class",
        "the account class almost absent from the training data (3 % kept)",
        "fail: class_f1_floor, class_no_regression, macro_f1, golden_regression",
        _drop_class("account", 0.03),
    ),
    Variant(
        "no-offtopic",
        "a data-pipeline filter drops the off-topic requests: the adapter has never seen "
        "a question from outside the support domain",
        "fail: ood_abstention",
        _drop_kind("ood"),
    ),
    Variant(
        "undertrained",
        "a run stopped after 30 optimiser steps",
        "fail: macro_f1, golden_regression",
        training={"max_steps": 30},
    ),
    Variant(
        "overtrained",
        "learning rate 1e-2 (good's is 2e-3) for 3 epochs: it overwrites the base's general "
        "language (catastrophic forgetting) and routes nearly everything to one team",
        "fail: capability_regression, golden_regression, calibration",
        # At 5e-3 the outcome hung on the CPU's arithmetic: one machine's adapter lost
        # 33 points of example_cloze and routed worse, another's lost 6 and routed as
        # well as good. At 1e-2 it loses 74 and collapses (macro-F1 0.06).
        training={"learning_rate": 1e-2, "epochs": 3},
    ),
    # The extraction task's variants ([tool.tunegate.tasks.extraction]; select one with
    # --tg-candidate extraction=NAME).
    Variant("extract-good", "the JSON-extraction candidate: all current training data",
            "pass", kind="extraction"),
    Variant(
        "extract-production",
        "the JSON-extraction adapter in production: the older data snapshot "
        f"(before {PRODUCTION_SNAPSHOT})",
        "pass",
        _older_snapshot,
        kind="extraction",
    ),
    Variant(
        "extract-broken-format",
        "export bug: the targets of urgent tickets written as Python dicts, not JSON",
        "fail: json_validity, field_accuracy, summary_similarity",
        _python_repr_when("urgency", "high"),
        kind="extraction",
    ),
)


def variant_names(kind: str | None = None) -> list[str]:
    """Variant names (of one task kind, if given), each kind's good variant first."""
    return [v.name for v in VARIANTS if kind is None or v.kind == kind]


def get_variant(name: str) -> Variant:
    for variant in VARIANTS:
        if variant.name == name:
            return variant
    raise KeyError(f"no example variant {name!r}; known: {', '.join(variant_names())}")
