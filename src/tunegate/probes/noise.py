"""Whitespace and punctuation noise: doubled spaces, tabs and newlines, punctuation
stripped or added."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Final

from tunegate.probes._base import Perturbation, ProbeContext

__all__ = ["NOISE_OPERATIONS", "noise"]

_PUNCTUATION: Final = re.compile(r"[.,!?;:]")
_SPACE: Final = re.compile(r" ")


def _at_some_space(rng: random.Random, text: str, replacement: str) -> str:
    spaces = [m.start() for m in _SPACE.finditer(text)]
    if not spaces:
        return text
    i = rng.choice(spaces)
    return text[:i] + replacement + text[i + 1 :]


def _double_spaces(rng: random.Random, text: str) -> str:
    """Some single spaces become two or three."""
    return _SPACE.sub(lambda m: m.group() * rng.choice((1, 1, 2, 3)), text)


def _tab(rng: random.Random, text: str) -> str:
    return _at_some_space(rng, text, "\t")


def _newline(rng: random.Random, text: str) -> str:
    return _at_some_space(rng, text, rng.choice(("\n", "\n\n", " \n")))


def _strip_punctuation(rng: random.Random, text: str) -> str:
    return _PUNCTUATION.sub("", text)


def _add_punctuation(rng: random.Random, text: str) -> str:
    """Shouted or trailing punctuation, or a stray comma after a word."""
    stripped = text.rstrip()
    if rng.random() < 0.5 or " " not in stripped:
        return stripped + rng.choice(("!!!", "??", "...", " !", ".."))
    return _at_some_space(rng, stripped, rng.choice((", ", " , ", "; ")))


def _pad(rng: random.Random, text: str) -> str:
    """Leading or trailing whitespace, as pasted text has."""
    return rng.choice(("  ", "\n", "\t")) + text + rng.choice(("  ", "\n", " \n "))


NOISE_OPERATIONS: Final[dict[str, Callable[[random.Random, str], str]]] = {
    "double_spaces": _double_spaces,
    "tab": _tab,
    "newline": _newline,
    "strip_punctuation": _strip_punctuation,
    "add_punctuation": _add_punctuation,
    "pad": _pad,
}


def noise(text: str, rng: random.Random, context: ProbeContext) -> Perturbation:
    """One to three noise operations; padding with whitespace when none changed anything.

    Only whitespace and punctuation change: the words and their order stay as written.
    """
    names = rng.sample(sorted(NOISE_OPERATIONS), rng.choice((1, 2, 3)))
    applied = []
    for name in names:
        changed = NOISE_OPERATIONS[name](rng, text)
        if changed != text:
            text = changed
            applied.append(name)
    if not applied:
        text = _pad(rng, text)
        applied.append("pad")
    return Perturbation(text, {"noise_operations": applied})
