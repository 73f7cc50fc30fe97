"""Splitting an echoed prompt's log-probabilities into context and continuation.

Scoring over HTTP asks the completions endpoint to echo the prompt (context + choice)
with the log-probability of every prompt token (``echo=true, logprobs=1,
max_tokens=0``). The server tokenizes, the client does not, so the split is made on
text: a token belongs to the continuation when it starts at or after the end of the
context. Token positions are measured from the end of the echoed text, because a
server may render a leading special token (``<s>``) that the prompt text lacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PROMPT_LOGPROBS_HINT = (
    "scoring needs a server that returns prompt log-probabilities: the completions "
    "endpoint with echo=true, logprobs=1, max_tokens=0 (vLLM's OpenAI server does)"
)


class PromptLogprobsUnsupported(RuntimeError):
    """The server does not return the log-probabilities of prompt tokens."""


class ChoiceMergesWithContext(ValueError):
    """A token spans the end of the context and the start of the choice."""


@dataclass(frozen=True)
class EchoedScore:
    """Summed log-probability of the continuation's tokens, and how many there are."""

    logprob: float
    token_count: int


def continuation_score(choice: dict[str, Any], prompt: str, boundary: int) -> EchoedScore:
    """The continuation ``prompt[boundary:]``'s score from one echoed completion choice.

    Raises :class:`PromptLogprobsUnsupported` when the choice has no prompt
    log-probabilities, and :class:`ChoiceMergesWithContext` when a token straddles the
    boundary (the choice cannot be scored apart from its context) or the continuation's
    tokens do not spell exactly the continuation text.
    """
    tokens, values = _token_logprobs(choice)
    echoed = choice.get("text")
    if not isinstance(echoed, str) or not echoed.startswith(prompt):
        raise PromptLogprobsUnsupported(f"{PROMPT_LOGPROBS_HINT}; the answer did not echo "
                                        "the prompt")
    starts = _starts_from_end(tokens, len(echoed))
    total, picked = 0.0, []
    for token, value, start in zip(tokens, values, starts, strict=True):
        end = start + len(token)
        if start < boundary < end:
            raise ChoiceMergesWithContext(
                f"token {token!r} spans the end of the prompt and the start of the choice "
                f"{prompt[boundary:]!r}; end the prompt (or the choice prefix) with a separator"
            )
        if boundary <= start < len(prompt):
            if value is None:
                raise PromptLogprobsUnsupported(f"{PROMPT_LOGPROBS_HINT}; token {token!r} of "
                                                "the choice has no log-probability")
            total += float(value)
            picked.append(token)
    if "".join(picked) != prompt[boundary:] or not picked:
        raise ChoiceMergesWithContext(
            f"the server's tokens of the choice {prompt[boundary:]!r} spell "
            f"{''.join(picked)!r}; cannot split the prompt from the choice"
        )
    return EchoedScore(total, len(picked))


def _token_logprobs(choice: dict[str, Any]) -> tuple[list[str], list[float | None]]:
    logprobs = choice.get("logprobs")
    tokens = logprobs.get("tokens") if isinstance(logprobs, dict) else None
    values = logprobs.get("token_logprobs") if isinstance(logprobs, dict) else None
    if not isinstance(tokens, list) or not isinstance(values, list) or not tokens:
        raise PromptLogprobsUnsupported(f"{PROMPT_LOGPROBS_HINT}; the answer has no logprobs")
    if len(tokens) != len(values) or not all(isinstance(t, str) for t in tokens):
        raise PromptLogprobsUnsupported(f"{PROMPT_LOGPROBS_HINT}; tokens and token_logprobs "
                                        "do not line up")
    return tokens, values


def _starts_from_end(tokens: list[str], length: int) -> list[int]:
    """Start offset of every token, counted back from the end of the echoed text."""
    starts = [0] * len(tokens)
    position = length
    for i in range(len(tokens) - 1, -1, -1):
        position -= len(tokens[i])
        starts[i] = position
    return starts
