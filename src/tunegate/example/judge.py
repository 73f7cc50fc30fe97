"""The example's judge: an adapter of the tiny base that grades routing answers.

A team would use a stronger model as its judge; the example has only its tiny base,
so it fine-tunes one more adapter on graded answers: answers to the training tickets
(the right team, the right team in a sentence, a close or a wrong team, no team),
each graded by the rubric's rule and rendered with the very prompts the judge is asked
at gate time (``pointwise_messages`` / ``pairwise_messages``), so the judge learns the
real prompt, quoting included. It never sees an eval, golden or calibration ticket.

The calibration set in evals/ is graded by the same rule and says so: it stands in for
the human labels a team must supply before its judge's verdicts count.

What makes a judge of the tiny base work (measured on the 120 calibration answers,
greedy; each training took 2-8 minutes on one core):

- The reason comes first and restates both teams ("The reference is billing and the
  answer is returns."), so the score compares two words a few tokens back. With a
  fixed reason after the score, no recipe got past κ 0.42: the judge learned the
  verdict's format and a prior per answer shape, never the comparison.
- The judge reads what its base was pre-trained on: 256-token blocks. Its prompts are
  cut to their last tokens in training (``TRAINING.max_seq_length``) and when served
  (``judge.max_prompt_tokens``, vLLM's truncate_prompt_tokens): the rubric's start
  goes, the quotes stay. The same adapter reads the whole ~600-token prompt at κ 0.25
  and its last 200-240 tokens at κ 0.95: past its pre-training context its
  comparisons break down.
- Enough epochs: after three or four the teams are restated right but a bare team
  gets the score its shape usually has; by six to ten the judge compares them.
- Pairwise verdicts are the hard part: the reason restates the reference and both
  answers right, but the winner mostly comes out "tie". More compared answers (600)
  or a reason that scores each answer first cost the pointwise verdicts their κ
  (0.52, 0.56) without better winners, so the recipe keeps 300.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunegate.data import Example
from tunegate.judge import Rubric, pairwise_messages, pointwise_messages
from tunegate.training import TrainingConfig, TrainingItem

if TYPE_CHECKING:
    from tunegate.session import GateSession

LABELS = ("billing", "shipping", "technical", "account", "returns", "other")
CLOSE = (frozenset({"billing", "returns"}), frozenset({"account", "other"}))
"""Wrong teams close to the right one (score 2): refunds are billed; accounts and
the rest are where misrouted general questions end up."""

PHRASED = ("This ticket should go to {}.", "{} team", "Route it to {}.", "{}, I think.",
           "The {} team should handle this.")
NO_TEAM = ("I cannot help with that.", "Please contact support.", "unknown", "{} or {}",
           "It depends.")
LABELLED_BY = "rubric rule (placeholder until people label it)"

TRAINING = TrainingConfig(r=16, alpha=32, epochs=6, batch_size=8, learning_rate=3e-3,
                          max_seq_length=256)
"""The judge's recipe. Six epochs: after three or four the judge restates the teams
right but scores a bare team by its prior; comparing two teams takes longer to learn.
256 tokens, as the base was pre-trained: a prompt is cut from the left (the rubric's
start goes, the quotes stay), and the judge is served the same way (PROMPT_TOKENS)."""

PROMPT_TOKENS = 224
"""The prompt tokens the example judge reads (``judge.max_prompt_tokens``): the end of
the prompt, as in training, since the base never saw a longer context."""


def named_teams(output: str) -> list[str]:
    """The teams an answer names, as whole words, in LABELS order."""
    words = re.findall(r"[a-z]+", output.lower())
    return [label for label in LABELS if label in words]


def rule_score(output: str, reference: str) -> int:
    """The ticket_routing rubric as a rule: 5, 4, 2 or 1 (3 is for ambiguous tickets,
    which a rule cannot recognise)."""
    named = named_teams(output)
    if output.strip() == reference:
        return 5
    if named == [reference]:
        return 4
    if output.strip() in LABELS and frozenset({output.strip(), reference}) in CLOSE:
        return 2
    return 1


ANSWER_MIX = (("right", 0.35), ("phrased", 0.20), ("close", 0.15), ("wrong", 0.20),
              ("no team", 0.10))
"""The answers to grade in the calibration set: mostly right, as a router's are."""
TRAINING_MIX = (("right", 0.40), ("phrased", 0.10), ("close", 0.10), ("wrong", 0.35),
                ("no team", 0.05))
"""The judge's training answers: a bare team is right about half the time, so that
"one word, score 5" (or 1) is not a good guess and the judge must compare with the
reference."""

SAME_ANSWER = 0.3
"""The share of the judge's training pairs whose two answers are the same."""


def answer_for(reference: str, rng: random.Random,
               mix: Sequence[tuple[str, float]] = ANSWER_MIX) -> str:
    """An answer to grade, of a kind drawn from ``mix``: the right team, the right team
    in a sentence, a close wrong team, another wrong team, or no or several teams."""
    kind = rng.choices([k for k, _ in mix], weights=[w for _, w in mix])[0]
    wrong = [label for label in LABELS if label != reference]
    close = [label for label in wrong if frozenset({label, reference}) in CLOSE]
    if kind == "right":
        return reference
    if kind == "phrased":
        return rng.choice(PHRASED).format(reference)
    if kind == "close" and close:
        return rng.choice(close)
    if kind in ("close", "wrong"):
        return rng.choice(wrong)
    return rng.choice(NO_TEAM).format(*rng.sample(LABELS, 2))


def describe(output: str, who: str = "the answer") -> str:
    """What an answer names, as the judge's reason restates it before it scores."""
    named = named_teams(output)
    if output.strip() in LABELS:
        return f"{who} is {output.strip()}"
    if len(named) == 1:
        return f"{who} says {named[0]} in a sentence"
    if not named:
        return f"{who} names no team"
    return f"{who} names " + " and ".join(named)


def verdict_text(output: str, reference: str) -> str:
    """The rule's verdict, reason first: the reason restates the reference's team and
    the answer's, so the score that follows compares two words a few tokens back (a
    tiny judge does not learn to compare them across the quotes)."""
    reason = f"The reference is {reference} and {describe(output)}."
    return json.dumps({"reason": reason, "score": rule_score(output, reference)})


def pairwise_verdict_text(first: str, second: str, reference: str) -> str:
    """The better answer by the rule's scores (equal scores are a tie), reason first."""
    a, b = rule_score(first, reference), rule_score(second, reference)
    winner = "tie" if a == b else ("A" if a > b else "B")
    reason = (f"The reference is {reference}, {describe(first, 'answer A')} and "
              f"{describe(second, 'answer B')}.")
    return json.dumps({"reason": reason, "winner": winner})


def training_items(train: Sequence[Example], rubric: Rubric, pairwise: Rubric | None, *,
                   pointwise_n: int = 1500, pairwise_n: int = 300,
                   seed: int = 0) -> list[TrainingItem]:
    """Graded answers to training tickets, as the judge's prompts and verdicts."""
    rng = random.Random(f"judge-{seed}")
    tickets = [e for e in train if e.label in LABELS]
    items = []
    for example in rng.sample(tickets, min(pointwise_n, len(tickets))):
        reference = example.label or ""
        output = answer_for(reference, rng, TRAINING_MIX)
        messages = pointwise_messages(rubric, example.text, output, reference)
        items.append(TrainingItem(messages, None, verdict_text(output, reference)))
    if pairwise is not None:
        for example in rng.sample(tickets, min(pairwise_n, len(tickets))):
            reference = example.label or ""
            first = answer_for(reference, rng, TRAINING_MIX)
            # A candidate and its production adapter mostly give the same answer: a tie.
            second = first if rng.random() < SAME_ANSWER else answer_for(reference, rng,
                                                                         TRAINING_MIX)
            messages = pairwise_messages(pairwise, example.text, first, second, reference)
            items.append(TrainingItem(messages, None,
                                      pairwise_verdict_text(first, second, reference)))
    rng.shuffle(items)
    return items


def calibration_rows(examples: Sequence[Example], n: int = 120,
                     seed: int = 0) -> list[dict[str, Any]]:
    """Labelled outputs for evals/judge_calibration.jsonl, graded by the rule."""
    rng = random.Random(f"judge-calibration-{seed}")
    rows = []
    for i, example in enumerate(rng.sample(list(examples), n), start=1):
        reference = example.label or ""
        output = answer_for(reference, rng)
        rows.append({"id": f"cal-{i:03d}", "input": example.text, "output": output,
                     "reference": reference, "human_score": rule_score(output, reference),
                     "meta": {"source": example.id, "labelled_by": LABELLED_BY}})
    return rows


CALIBRATION_FILE = "evals/judge_calibration.jsonl"


def example_judge(session: GateSession) -> Path:
    """The example judge adapter of the session's base, trained on first use: graded
    answers to the train split's tickets, in the prompts of the configured rubrics."""
    from tunegate.judge import configured_rubrics

    rubric, pairwise = configured_rubrics(session.config.judge, session.config.resolve)
    items = training_items(session.dataset("train"), rubric, pairwise, seed=session.config.seed)
    return session.adapters.get_or_train(
        session.base_path, session.backend.fingerprint(session.base), items, TRAINING,
        name="example-judge", data_source="tunegate.example.judge.training_items")


def write_calibration(root: Path, seed: int = 0) -> Path:
    """Write the calibration set (graded answers to eval tickets) under ``root``."""
    from tunegate.example.tickets import build_datasets

    path = Path(root) / CALIBRATION_FILE
    rows = calibration_rows(build_datasets(seed)["eval"], seed=seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path
