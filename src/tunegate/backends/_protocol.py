"""The backend seam: what goes in, what comes out.

A backend turns requests against a :class:`ModelRef` into log-likelihoods and
generations. It has exactly two request methods; everything else (classification,
golden regression, probes) is built on top of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from tunegate.data import Message

if TYPE_CHECKING:
    from tunegate.prompting import PromptStrategy


@dataclass(frozen=True)
class ModelRef:
    """What is evaluated: a base model plus an optional adapter.

    ``name`` is the role (``base``, ``production``, ``candidate``) or any label the
    suite chooses; it is not part of the identity: two refs with the same base and
    adapter content share every cached response. ``prompting`` makes it a prompted
    baseline: the tasks ask it with that strategy (the backend never sees it).
    """

    name: str
    base: str
    adapter: Path | None = None
    prompting: PromptStrategy | None = None

    def describe(self) -> str:
        asked = f", {self.prompting.describe()}" if self.prompting is not None else ""
        if self.adapter is not None:
            return f"{self.name} ({self.adapter}{asked})"
        return f"{self.name} (base {self.base}{asked})"


@dataclass(frozen=True)
class ScoreRequest:
    """Log-likelihood of each choice as a continuation of the input.

    The input is chat ``messages`` (rendered with the model's chat template and a
    generation prompt) or a plain ``prompt``. For chat, each choice is an assistant
    answer, placed where the template puts it; after a plain prompt it is appended
    verbatim (include the separating space in the choice).
    """

    choices: tuple[str, ...]
    messages: tuple[Message, ...] | None = None
    prompt: str | None = None

    def key(self) -> dict[str, Any]:
        return {
            "messages": [m.model_dump() for m in self.messages] if self.messages else None,
            "prompt": self.prompt,
            "choices": list(self.choices),
        }


@dataclass(frozen=True)
class ChoiceScores:
    """Summed log-probability and token count of each choice, in request order.

    ``prompt_tokens``, ``latency_ms`` and ``busy_ms`` are the request's usage (see
    :class:`Generation`); None where the backend could not tell. Usage is measured,
    not answered: it takes no part in equality.
    """

    logprobs: tuple[float, ...]
    token_counts: tuple[int, ...]
    prompt_tokens: int | None = field(default=None, compare=False)
    latency_ms: float | None = field(default=None, compare=False)
    busy_ms: float | None = field(default=None, compare=False)


@dataclass(frozen=True)
class GenerateRequest:
    """A completion of the input, greedy unless ``temperature`` > 0."""

    messages: tuple[Message, ...] | None = None
    prompt: str | None = None
    max_new_tokens: int = 64
    stop: tuple[str, ...] = ()
    temperature: float = 0.0
    seed: int = 0

    def key(self) -> dict[str, Any]:
        return {
            "messages": [m.model_dump() for m in self.messages] if self.messages else None,
            "prompt": self.prompt,
            "max_new_tokens": self.max_new_tokens,
            "stop": list(self.stop),
            "temperature": self.temperature,
            "seed": self.seed,
        }


@dataclass(frozen=True)
class Generation:
    """Generated text (stop string excluded) and the number of generated tokens.

    Usage, None where the backend could not tell: ``prompt_tokens`` is the input's
    length in tokens (chat template applied); ``latency_ms`` what the request waited
    for its answer from the moment it was sent (a backend's own queue excluded: a
    batch's requests each wait for the batch); ``busy_ms`` the request's share of the
    backend's busy time (a call's wall time over the requests in it), from which
    throughput and cost per request follow. The response cache keeps all three, so a
    rerun reports what was measured when the answer was computed.
    """

    text: str
    token_count: int
    finish_reason: str = field(default="stop")
    prompt_tokens: int | None = field(default=None, compare=False)
    latency_ms: float | None = field(default=None, compare=False)
    busy_ms: float | None = field(default=None, compare=False)


@runtime_checkable
class Backend(Protocol):
    """How text goes in and scores or generations come out."""

    def fingerprint(self, ref: ModelRef) -> str:
        """A content hash of the reference: the same weights give the same string."""
        ...

    def score(self, ref: ModelRef, requests: Sequence[ScoreRequest]) -> list[ChoiceScores]:
        """Log-likelihood of every choice of every request, in request order."""
        ...

    def generate(self, ref: ModelRef, requests: Sequence[GenerateRequest]) -> list[Generation]:
        """One completion per request, in request order."""
        ...
