"""Turning an input (chat messages or a plain prompt) into model text.

Scoring, generation and training must render inputs identically, or a fine-tuned
adapter is evaluated on a format it never saw; this module is the one place that does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tunegate.data import Message

_SENTINEL = "\u2063ANSWER\u2063"


def render_prompt(
    tokenizer: Any, messages: Sequence[Message] | None, prompt: str | None
) -> str:
    """The text the model continues: chat template with a generation prompt, or the prompt."""
    if messages is None:
        if prompt is None:
            raise ValueError("a request needs messages or a prompt")
        return prompt
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError(
            "the tokenizer has no chat template: give the examples a plain 'prompt', "
            "or use a base model whose tokenizer defines one"
        )
    turns = [m.model_dump() for m in messages]
    text: str = tokenizer.apply_chat_template(turns, add_generation_prompt=True, tokenize=False)
    return text


def render_answer(tokenizer: Any, messages: Sequence[Message] | None, answer: str) -> str:
    """The text that follows the rendered prompt when the model gives ``answer``.

    For chat it includes the template's end of turn (so training teaches the model to
    stop); for plain prompts it is the answer, verbatim, and the end-of-sequence token.
    """
    if messages is None:
        return f"{answer}{tokenizer.eos_token or ''}"
    turns = [m.model_dump() for m in messages]
    prompt = render_prompt(tokenizer, messages, None)
    full: str = tokenizer.apply_chat_template(
        [*turns, {"role": "assistant", "content": answer}], tokenize=False
    )
    if not full.startswith(prompt):
        raise ValueError(
            "the chat template renders the conversation differently from its generation "
            "prompt; tunegate cannot align answers with prompts for this template"
        )
    return full[len(prompt):]


def choice_prefix(tokenizer: Any, messages: Sequence[Message] | None) -> str:
    """What the chat template puts between the prompt and the answer ('' for prompts).

    Read off the template by rendering a sentinel answer, so a scored choice is exactly
    what the template would produce in training.
    """
    if messages is None:
        return ""
    answer = render_answer(tokenizer, messages, _SENTINEL)
    return answer[: answer.index(_SENTINEL)]


def needs_special_tokens(tokenizer: Any, text: str) -> bool:
    """False when the text already starts with BOS (a template that writes it itself)."""
    bos = getattr(tokenizer, "bos_token", None)
    return not (bos and text.startswith(bos))


def encode_prompts(tokenizer: Any, prompts: Sequence[str]) -> list[list[int]]:
    """Token ids of rendered prompts, BOS added unless the text starts with it; one
    tokenizer call per kind."""
    flags = [needs_special_tokens(tokenizer, p) for p in prompts]
    encoded: dict[int, list[int]] = {}
    for flag in set(flags):
        chosen = [i for i, f in enumerate(flags) if f == flag]
        rows = tokenizer([prompts[i] for i in chosen], add_special_tokens=flag)
        encoded.update(zip(chosen, rows["input_ids"], strict=True))
    return [encoded[i] for i in range(len(prompts))]


def encode_choices(tokenizer: Any, messages: Sequence[Message] | None, prompt: str | None,
                   choices: Sequence[str]) -> tuple[list[int], list[list[int]]]:
    """Context ids and each choice's continuation ids: context+choice encoded whole and
    cut at the context (as lm-eval does), so a choice is scored as the model reads it."""
    context = render_prompt(tokenizer, messages, prompt)
    context += choice_prefix(tokenizer, messages)
    stripped = context.rstrip()
    moved = context[len(stripped):]
    special = needs_special_tokens(tokenizer, stripped)
    texts = [stripped] + [stripped + moved + choice for choice in choices]
    context_ids, *wholes = tokenizer(texts, add_special_tokens=special)["input_ids"]
    continuations = []
    for choice, whole in zip(choices, wholes, strict=True):
        if whole[: len(context_ids)] != context_ids or len(whole) == len(context_ids):
            raise ValueError(
                f"choice {choice!r} merges with the end of the prompt when tokenized; "
                "end the prompt (or the choice prefix) with a separator"
            )
        continuations.append(whole[len(context_ids):])
    return context_ids, continuations


def until_eos(tokens: list[int], eos: int | None, pad: int | None) -> list[int]:
    """Generated ids up to (not including) the end-of-sequence or padding token."""
    for i, token in enumerate(tokens):
        if token == eos or (pad is not None and token == pad and pad != eos):
            return tokens[:i]
    return tokens


def cut_at_stop(text: str, stops: Sequence[str], finish: str) -> tuple[str, str]:
    """The text up to the first stop string of ``stops`` found, and the finish reason
    (``stop`` when a stop string cut it)."""
    for stop in stops:
        if stop in text:
            text, finish = text[: text.index(stop)], "stop"
    return text, finish
