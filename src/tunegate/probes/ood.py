"""Out-of-distribution inputs: requests from other domains that the task must not route
to a team; the expected answer is the abstain label."""

from __future__ import annotations

import random
from typing import Final

from tunegate.probes._base import Perturbation, ProbeContext

__all__ = ["OOD_TEXTS", "ood"]

OOD_TEXTS: Final[dict[str, tuple[str, ...]]] = {
    "recipes": (
        "How long should I boil an egg if I want the yolk still runny?",
        "Can I replace butter with olive oil in a banana bread recipe?",
        "What's a good vegetarian filling for lasagne?",
        "My sourdough starter smells like nail polish remover. Is it dead?",
        "Give me a quick weeknight curry that uses chickpeas and spinach.",
    ),
    "weather": (
        "Will it rain in Lisbon this Saturday afternoon?",
        "Why is the sky red at sunset?",
        "What's the difference between a hurricane and a typhoon?",
        "Is it going to be warm enough to swim in the lake next week?",
        "How do meteorologists measure wind chill?",
    ),
    "sports": (
        "Who won the last Champions League final?",
        "How is the offside rule applied when the ball is passed backwards?",
        "What's a good 5k training plan for a complete beginner?",
        "How many players are on a rugby union team?",
        "Explain the tie-break rules in tennis.",
    ),
    "maths": (
        "Solve for x: 3x + 7 = 25.",
        "What is the derivative of x squared times sine of x?",
        "Can you help me with my homework: what is 15% of 240?",
        "Prove that the square root of 2 is irrational.",
        "How do I find the area of a triangle with sides 5, 6 and 7?",
    ),
    "poetry": (
        "Write me a haiku about autumn leaves.",
        "Can you compose a short limerick about a forgetful penguin?",
        "I need a rhyming poem for my grandmother's 90th birthday.",
        "Write a sonnet about the sea at night.",
        "Give me four lines of verse about Monday mornings.",
    ),
    "travel": (
        "What are the must-see sights in Kyoto in three days?",
        "Do I need a visa to visit Canada with a Brazilian passport?",
        "Which is cheaper for getting around Rome, the metro or buses?",
        "Recommend a quiet beach in Greece for a family holiday.",
        "What should I pack for a week of hiking in Scotland in May?",
    ),
    "trivia": (
        "What is the capital of Australia?",
        "Who painted the ceiling of the Sistine Chapel?",
        "How far away is the Moon from the Earth?",
        "When did the Berlin Wall fall?",
        "What is the largest mammal that ever lived?",
    ),
    "health": (
        "How many hours of sleep does a teenager need?",
        "What stretches help with lower back pain after sitting all day?",
        "Is it better to drink water before or after a workout?",
        "What are good sources of iron for vegetarians?",
        "How can I stop my hiccups quickly?",
    ),
    "coding": (
        "How do I reverse a list in Python without using reverse()?",
        "What's the difference between a process and a thread?",
        "Write a SQL query that counts rows per day in a table of events.",
        "Why does my JavaScript for loop print the same number five times?",
        "Explain recursion to a ten-year-old.",
    ),
    "chit_chat": (
        "If you could have any superpower, which one would you pick?",
        "Tell me a joke about elephants.",
        "Do you think dogs or cats make better pets?",
        "I'm bored. Suggest a board game for four people.",
        "What would you do with a million dollars?",
    ),
}
"""Requests from other domains, by domain (50 texts)."""


def ood(text: str, rng: random.Random, context: ProbeContext) -> Perturbation:
    """A request from another domain in place of the text (which is ignored)."""
    domain = rng.choice(sorted(OOD_TEXTS))
    request = rng.choice(OOD_TEXTS[domain])
    return Perturbation(request, {"ood_domain": domain, "abstain_label": context.abstain_label})
