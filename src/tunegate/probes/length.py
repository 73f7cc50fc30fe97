"""Length extremes: the ticket cut short at a word boundary, or padded to many characters."""

from __future__ import annotations

import random
import re
from typing import Final

from tunegate.probes._base import Perturbation, ProbeContext

__all__ = ["FILLERS", "overlong", "truncation"]

FILLERS: Final = (
    "Thank you for your time and patience.",
    "I hope you are having a good day.",
    "Please let me know if you need anything else from me.",
    "I appreciate the work your team does.",
    "Have a nice week ahead.",
)
"""Harmless sentences that say nothing about the ticket's team."""

_SPACE: Final = re.compile(r"\s")


def truncation(text: str, rng: random.Random, context: ProbeContext) -> Perturbation:
    """The first 30-70 % of the text, cut back to the last word boundary.

    A text without a word boundary before the cut is cut at the character; the result is
    a non-empty proper prefix of the input whenever the input has two characters or more.
    """
    fraction = round(rng.uniform(0.3, 0.7), 3)
    details: dict[str, object] = {"truncated_at": fraction, "label_may_be_lost": True}
    if len(text.strip()) < 2:
        return Perturbation(text, details)
    cut = max(1, min(len(text) - 1, int(len(text) * fraction)))
    spaces = [m.start() for m in _SPACE.finditer(text, 0, cut + 1)]
    inner = [i for i in spaces if text[:i].strip()]
    kept = text[: inner[-1]].rstrip() if inner else text[:cut]
    if not kept.strip():
        kept = text[: len(text) - len(text.lstrip()) + 1]
    return Perturbation(kept, {**details, "kept_chars": len(kept)})


def overlong(text: str, rng: random.Random, context: ProbeContext) -> Perturbation:
    """The text padded after (or before) with repeated harmless sentences.

    The result is close to, never over, ``context.overlong_chars`` characters; an input
    already that long gets at least one filler sentence.
    """
    target = max(context.overlong_chars, len(text) + 2 + max(map(len, FILLERS)))
    before = rng.random() < 0.25
    parts: list[str] = []
    length = len(text)
    while True:
        sentence = rng.choice(FILLERS)
        if length + len(sentence) + 1 > target and parts:
            break
        parts.append(sentence)
        length += len(sentence) + 1
    padding = " ".join(parts)
    changed = f"{padding} {text}" if before else f"{text} {padding}"
    return Perturbation(changed, {"padded_to": len(changed), "padding_position":
                                  "before" if before else "after"})
