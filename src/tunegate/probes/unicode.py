"""Unicode tricks: Latin letters swapped for Cyrillic or Greek look-alikes, zero-width
characters inside words."""

from __future__ import annotations

import random
from typing import Final

from tunegate.probes._base import Perturbation, ProbeContext

__all__ = ["HOMOGLYPHS", "ZERO_WIDTH", "reveal", "unicode_tricks"]

HOMOGLYPHS: Final[dict[str, tuple[str, ...]]] = {
    "a": ("\u0430",), "c": ("\u0441",), "e": ("\u0435",), "i": ("\u0456",),
    "j": ("\u0458",), "o": ("\u043e", "\u03bf"), "p": ("\u0440", "\u03c1"),
    "s": ("\u0455",), "x": ("\u0445",), "y": ("\u0443",), "v": ("\u03bd",),
    "A": ("\u0410", "\u0391"), "B": ("\u0412", "\u0392"), "C": ("\u0421",),
    "E": ("\u0415", "\u0395"), "H": ("\u041d", "\u0397"), "I": ("\u0406", "\u0399"),
    "K": ("\u041a", "\u039a"), "M": ("\u041c", "\u039c"), "N": ("\u039d",),
    "O": ("\u041e", "\u039f"), "P": ("\u0420", "\u03a1"), "T": ("\u0422", "\u03a4"),
    "X": ("\u0425", "\u03a7"), "Y": ("\u03a5",), "Z": ("\u0396",),
}
"""Latin letter -> Cyrillic / Greek letters drawn the same in common fonts."""

ZERO_WIDTH: Final = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")
"""Zero-width space, non-joiner, joiner, word joiner, zero-width no-break space."""

_LATIN_OF: Final = {glyph: latin for latin, glyphs in HOMOGLYPHS.items() for glyph in glyphs}
_MODES: Final = ("homoglyphs", "zero_width", "both")


def reveal(text: str) -> str:
    """Undo this family: look-alikes back to Latin, zero-width characters removed."""
    return "".join(_LATIN_OF.get(char, char) for char in text if char not in ZERO_WIDTH)


def _homoglyphs(rng: random.Random, text: str) -> tuple[str, int]:
    """About a fifth (at least one) of the replaceable letters swapped; and how many."""
    positions = [i for i, char in enumerate(text) if char in HOMOGLYPHS]
    if not positions:
        return text, 0
    chosen = set(rng.sample(positions, max(1, len(positions) // 5)))
    chars = [rng.choice(HOMOGLYPHS[c]) if i in chosen else c for i, c in enumerate(text)]
    return "".join(chars), len(chosen)


def _zero_width(rng: random.Random, text: str) -> tuple[str, int]:
    """One to four zero-width characters between two letters; and how many."""
    gaps = [i for i in range(1, len(text)) if text[i - 1].isalpha() and text[i].isalpha()]
    if not gaps:
        return text, 0
    chosen = sorted(rng.sample(gaps, min(len(gaps), rng.randint(1, 4))), reverse=True)
    for i in chosen:
        text = text[:i] + rng.choice(ZERO_WIDTH) + text[i:]
    return text, len(chosen)


def unicode_tricks(text: str, rng: random.Random, context: ProbeContext) -> Perturbation:
    """Homoglyphs, zero-width characters, or both; ``reveal`` of the result is the input
    whenever the input held no such characters itself."""
    mode = rng.choice(_MODES)
    swapped = inserted = 0
    if mode in ("homoglyphs", "both"):
        text, swapped = _homoglyphs(rng, text)
    if mode in ("zero_width", "both") or swapped == 0:
        text, inserted = _zero_width(rng, text)
    if swapped == 0 and inserted == 0:
        text, swapped = _homoglyphs(rng, text)
    return Perturbation(text, {"homoglyphs": swapped, "zero_width": inserted})
