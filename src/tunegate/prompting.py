"""Prompt strategies: a base model asked well, as a reference an adapter must beat.

A prompted baseline is a model (usually the base) plus a :class:`PromptStrategy`: a
system prompt that replaces the examples' own, and k demonstrations drawn from the
training split (seeded, stratified by label, never an example whose text is in the
evaluation or golden sets). The strategy rewrites each request's input; the backend
and the gates see an ordinary reference.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from tunegate.data import Example, Message

__all__ = ["Demonstration", "PromptStrategy", "draw_demonstrations"]


@dataclass(frozen=True)
class Demonstration:
    """One solved example shown before the question: its input turns (chat) or prompt
    (plain), and the answer the model should have given."""

    answer: str
    messages: tuple[Message, ...] | None = None
    prompt: str | None = None


@dataclass(frozen=True)
class PromptStrategy:
    """How a prompted baseline asks: an optional system prompt and k demonstrations.

    Chat inputs become ``system, (user, assistant) × k, the example's own turns``;
    plain prompts become the demonstrations' ``prompt + answer`` blocks, a blank line
    apart, before the example's prompt.
    """

    system: str | None = None
    demonstrations: tuple[Demonstration, ...] = ()

    @property
    def shots(self) -> int:
        return len(self.demonstrations)

    def describe(self) -> str:
        """``zero-shot``, ``4-shot``; ``+ system prompt`` when it brings its own."""
        kind = f"{self.shots}-shot" if self.shots else "zero-shot"
        return kind + (" + system prompt" if self.system is not None else "")

    def key(self) -> str:
        """A short content hash, for caches keyed by what a reference asks."""
        payload = json.dumps(
            {"system": self.system,
             "demonstrations": [[d.answer, d.prompt,
                                 [m.model_dump() for m in d.messages or ()]]
                                for d in self.demonstrations]},
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def messages(self, messages: Sequence[Message]) -> tuple[Message, ...]:
        """The chat input of an example, asked this way."""
        own_system = [m for m in messages if m.role == "system"]
        turns = [m for m in messages if m.role != "system"]
        system = ([Message(role="system", content=self.system)] if self.system is not None
                  else own_system)
        shown: list[Message] = []
        for demo in self.demonstrations:
            if demo.messages is None:
                raise ValueError("a plain-prompt demonstration cannot precede a chat input")
            shown.extend(m for m in demo.messages if m.role != "system")
            shown.append(Message(role="assistant", content=demo.answer))
        return (*system, *shown, *turns)

    def prompt(self, prompt: str) -> str:
        """The plain prompt of an example, asked this way (a system prompt leads)."""
        blocks = [self.system] if self.system is not None else []
        for demo in self.demonstrations:
            if demo.prompt is None:
                raise ValueError("a chat demonstration cannot precede a plain prompt")
            blocks.append(demo.prompt + demo.answer)
        blocks.append(prompt)
        return "\n\n".join(blocks)


def draw_demonstrations(
    pool: Sequence[Example],
    shots: int,
    seed: int,
    *,
    label_of: Callable[[Example], str | None],
    prompt_of: Callable[[Example], str | None],
    answer_of: Callable[[Example], str],
    excluded: Collection[str] = (),
) -> tuple[Demonstration, ...]:
    """``shots`` demonstrations from ``pool``, seeded and stratified by label.

    Labels take turns (in a seeded order), each giving its next example in a seeded
    shuffle, so k-shot shows every label once before any label twice; the drawn
    demonstrations are then shuffled, so no label always comes last. Examples whose id
    is in ``excluded`` (those whose text is in an evaluation or golden set) are never
    drawn. Fewer usable examples than ``shots`` is an error, not a silent smaller k.
    """
    if shots < 0:
        raise ValueError(f"shots must be >= 0, got {shots}")
    skip = set(excluded)
    usable = [e for e in pool if e.id not in skip]
    if len(usable) < shots:
        raise ValueError(f"{shots} demonstrations asked, only {len(usable)} training examples "
                         f"can be shown ({len(pool) - len(usable)} repeat an evaluation text)")
    rng = random.Random(f"demonstrations-{seed}")
    groups: dict[str, list[Example]] = {}
    for example in usable:
        groups.setdefault(label_of(example) or "", []).append(example)
    order = sorted(groups)
    rng.shuffle(order)
    for label in order:
        rng.shuffle(groups[label])
    chosen: list[Example] = []
    while len(chosen) < shots:
        for label in order:
            if groups[label] and len(chosen) < shots:
                chosen.append(groups[label].pop())
    rng.shuffle(chosen)
    return tuple(
        Demonstration(answer_of(e), messages=e.messages, prompt=prompt_of(e)) for e in chosen
    )
