"""What every probe family shares: the context it sees and the result it returns."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Family", "Perturb", "Perturbation", "ProbeContext"]

WORD = re.compile(r"[^\W\d_]+")
"""A run of letters, in any script."""


@dataclass(frozen=True)
class ProbeContext:
    """What a family may know besides the text: the label set and the true label."""

    labels: tuple[str, ...]
    label: str | None = None
    abstain_label: str = "other"
    overlong_chars: int = 4000


@dataclass(frozen=True)
class Perturbation:
    """A perturbed text and the family-specific details recorded in the probe's meta."""

    text: str
    details: Mapping[str, Any] = field(default_factory=dict)


Perturb = Callable[[str, random.Random, ProbeContext], Perturbation]
"""``perturb(text, rng, context)``: never raises, returns the text unchanged when it can
do nothing sensible with it."""


@dataclass(frozen=True)
class Family:
    """A registered probe family: its generator and what it does to the expected answer.

    ``label_policy`` is ``"keep"`` (meaning preserved), ``"keep_marked"`` (kept, but the
    perturbation may have removed the evidence) or ``"abstain"`` (the expected answer
    becomes the abstain label).
    """

    name: str
    perturb: Perturb
    label_policy: str = "keep"
    description: str = ""

    def __post_init__(self) -> None:
        if self.label_policy not in ("keep", "keep_marked", "abstain"):
            raise ValueError(f"unknown label policy {self.label_policy!r}")


def match_case(word: str, replacement: str) -> str:
    """``replacement`` cased like ``word`` (all upper, capitalised, or as given)."""
    if len(word) > 1 and word.isupper():
        return replacement.upper()
    if word[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement
