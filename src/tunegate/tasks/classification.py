"""Classification by log-likelihood: each label is scored as the model's answer.

This is where examples become backend requests and scores become predictions; the
gates only ever see the predictions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from tunegate.backends._protocol import Backend, ChoiceScores, ModelRef, ScoreRequest
from tunegate.config import TaskConfig
from tunegate.data import Example
from tunegate.metrics.usage import RequestUsage
from tunegate.prompting import PromptStrategy


@dataclass(frozen=True)
class Prediction:
    """One example's predicted label, the label probabilities and the gold log-prob."""

    id: str
    label: str
    probabilities: tuple[float, ...]
    gold: str | None
    usage: RequestUsage | None = field(default=None, compare=False)

    @property
    def correct(self) -> bool:
        return self.gold is not None and self.label == self.gold


@dataclass(frozen=True)
class Predictions:
    """A reference's predictions over a dataset, in dataset order."""

    ref: str
    labels: tuple[str, ...]
    items: tuple[Prediction, ...]

    @property
    def predicted(self) -> list[str]:
        return [p.label for p in self.items]

    @property
    def gold(self) -> list[str]:
        return [p.gold or "" for p in self.items]

    def by_id(self) -> dict[str, Prediction]:
        return {p.id: p for p in self.items}

    @property
    def usage(self) -> list[RequestUsage]:
        """What each prediction cost (unmeasured fields None)."""
        empty = RequestUsage(None, None, None, None)
        return [p.usage or empty for p in self.items]


class ClassificationTask:
    """Builds score requests from examples, and predictions from the scores."""

    kind = "classification"

    def __init__(self, config: TaskConfig):
        self.config = config
        self.labels = config.labels

    def prompt_of(self, example: Example) -> str | None:
        """The plain prompt formatted with the template; None for chat examples."""
        if example.prompt is None:
            return None
        return self.config.prompt_template.format(text=example.prompt)

    def answer_prefix(self, example: Example) -> str:
        """What precedes a label after a plain prompt ('' for chat: the template decides)."""
        if example.messages is not None:
            return ""
        return " " if self.config.choice_prefix is None else self.config.choice_prefix

    def requests(
        self, examples: Sequence[Example], prompting: PromptStrategy | None = None
    ) -> list[ScoreRequest]:
        """One request per example, asked the way ``prompting`` says (default: as is)."""
        requests = []
        for example in examples:
            prefix = self.answer_prefix(example)
            messages, prompt = example.messages, self.prompt_of(example)
            if prompting is not None:
                messages = prompting.messages(messages) if messages is not None else None
                prompt = prompting.prompt(prompt) if prompt is not None else None
            requests.append(ScoreRequest(
                choices=tuple(prefix + label for label in self.labels),
                messages=messages, prompt=prompt,
            ))
        return requests

    def training_answer(self, example: Example) -> str:
        """The answer text a fine-tuning run teaches for this example."""
        label = example.label if example.label is not None else example.reference
        if label is None:
            raise ValueError(f"example {example.id!r} has no label to train on")
        return self.answer_prefix(example) + label

    def predictions(
        self, ref: str, examples: Sequence[Example], scores: Sequence[ChoiceScores]
    ) -> Predictions:
        items = []
        for example, score in zip(examples, scores, strict=True):
            probabilities = _softmax(score.logprobs)
            best = max(range(len(self.labels)), key=lambda i: score.logprobs[i])
            usage = RequestUsage(score.prompt_tokens, score.token_counts[best],
                                 score.latency_ms, score.busy_ms)
            items.append(Prediction(example.id, self.labels[best], probabilities, example.label,
                                    usage))
        return Predictions(ref, self.labels, tuple(items))

    def classify(
        self, backend: Backend, ref: ModelRef, examples: Sequence[Example]
    ) -> Predictions:
        """Predict a label for every example with ``ref``."""
        unknown = sorted({e.label for e in examples if e.label and e.label not in self.labels})
        if unknown:
            raise ValueError(f"examples carry labels outside the task's labels: {unknown}")
        scores = backend.score(ref, self.requests(examples, ref.prompting))
        return self.predictions(ref.name, examples, scores)


def _softmax(logprobs: Sequence[float]) -> tuple[float, ...]:
    top = max(logprobs)
    if not math.isfinite(top):
        return tuple(float("nan") for _ in logprobs)
    weights = [math.exp(v - top) for v in logprobs]
    total = sum(weights)
    return tuple(w / total for w in weights)
