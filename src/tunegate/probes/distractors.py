"""An irrelevant sentence before or after the ticket."""

from __future__ import annotations

import random
from typing import Final

from tunegate.probes._base import Perturbation, ProbeContext

__all__ = ["DISTRACTORS", "distractor"]

DISTRACTORS: Final = (
    "By the way, the weather has been lovely here this week.",
    "My cat just walked across the keyboard, sorry about that.",
    "I'm writing this from a train, so the signal comes and goes.",
    "Unrelated, but your logo looks great in the new colours.",
    "We are repainting the kitchen this weekend.",
    "My neighbour's dog has been barking all morning.",
    "I had pancakes for breakfast, which was a nice start to the day.",
    "It's my daughter's birthday tomorrow, so things are hectic.",
    "The football match last night went to penalties.",
    "I've just come back from a hiking trip in the mountains.",
    "Our office moved to the third floor last month.",
    "I'm typing with one hand because I'm holding a coffee.",
    "The trees outside my window are finally turning orange.",
    "I started learning the piano a few weeks ago.",
    "My sister recommended you to me years ago.",
    "It has been raining non-stop since Tuesday.",
    "I'm listening to a great podcast about volcanoes right now.",
    "We adopted a kitten called Pickles on Sunday.",
    "The bakery on my street makes excellent croissants.",
    "I'm on my lunch break, so I'll keep this short-ish.",
)
"""Sentences with nothing to do with any support team."""


def distractor(text: str, rng: random.Random, context: ProbeContext) -> Perturbation:
    """The text with one distractor sentence added before or after it."""
    sentence = rng.choice(DISTRACTORS)
    position = rng.choice(("before", "after"))
    body = text.strip()
    if not body:
        changed = sentence
    elif position == "before":
        changed = f"{sentence} {text}"
    else:
        changed = f"{text} {sentence}"
    return Perturbation(changed, {"distractor": sentence, "distractor_position": position})
