"""Keyboard typos inside longer words: adjacent-key slips, swaps, drops and doubles."""

from __future__ import annotations

import random
import re
from typing import Final

from tunegate.probes._base import Perturbation, ProbeContext

__all__ = ["QWERTY_NEIGHBOURS", "typos"]

_ROWS: Final = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _neighbours() -> dict[str, str]:
    """Each letter's neighbours on the same and the adjacent rows of a QWERTY keyboard."""
    position = {key: (row, col) for row, keys in enumerate(_ROWS) for col, key in enumerate(keys)}
    found: dict[str, str] = {}
    for key, (row, col) in position.items():
        near = [
            other for other, (r, c) in position.items()
            if other != key and abs(r - row) <= 1 and abs(c + 0.5 * r - col - 0.5 * row) <= 1
        ]
        found[key] = "".join(sorted(near))
    return found


QWERTY_NEIGHBOURS: Final[dict[str, str]] = _neighbours()
_LONG_WORD: Final = re.compile(r"[^\W\d_]{4,}")
_OPERATIONS: Final = ("adjacent_key", "transpose", "delete", "duplicate")


def _edit(rng: random.Random, text: str, start: int, end: int) -> tuple[str, str]:
    """One typo at an inner position of ``text[start:end]``: the new text and the operation."""
    i = rng.randint(start + 1, end - 2)
    operation = rng.choice(_OPERATIONS)
    char = text[i]
    if operation == "adjacent_key" and char.lower() in QWERTY_NEIGHBOURS:
        slip = rng.choice(QWERTY_NEIGHBOURS[char.lower()])
        return text[:i] + (slip.upper() if char.isupper() else slip) + text[i + 1 :], operation
    if operation == "transpose" and text[i] != text[i + 1]:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :], operation
    if operation == "delete":
        return text[:i] + text[i + 1 :], operation
    return text[: i + 1] + text[i:], "duplicate"


def typos(text: str, rng: random.Random, context: ProbeContext) -> Perturbation:
    """One or two typos, each inside a word of four letters or more.

    Every edit changes the text, so the result is at most four single-character edits
    (Levenshtein) from the input; text without such a word comes back unchanged.
    """
    if not _LONG_WORD.search(text):
        return Perturbation(text, {"typo_edits": []})
    operations = []
    for _ in range(rng.choice((1, 1, 2))):
        words = list(_LONG_WORD.finditer(text))
        if not words:
            break
        word = rng.choice(words)
        text, operation = _edit(rng, text, word.start(), word.end())
        operations.append(operation)
    return Perturbation(text, {"typo_edits": operations})
