"""Casing noise: all lower case, all upper case, or a random case per word."""

from __future__ import annotations

import random
from typing import Final

from tunegate.probes._base import WORD, Perturbation, ProbeContext

__all__ = ["CASINGS", "casing"]

CASINGS: Final = ("lower", "upper", "random_words")


def _random_words(rng: random.Random, text: str) -> str:
    """Each word lower, upper or capitalised at random."""
    styles = (str.lower, str.upper, str.capitalize)
    return WORD.sub(lambda word: rng.choice(styles)(word.group()), text)


def casing(text: str, rng: random.Random, context: ProbeContext) -> Perturbation:
    """The text in a casing that differs from the input, chosen at random.

    Text without cased letters comes back unchanged.
    """
    order = list(CASINGS)
    rng.shuffle(order)
    for style in order:
        if style == "lower":
            changed = text.lower()
        elif style == "upper":
            changed = text.upper()
        else:
            changed = _random_words(rng, text)
        if changed != text:
            return Perturbation(changed, {"casing": style})
    return Perturbation(text, {"casing": None})
