"""The example's judge: an adapter of the tiny base that grades routing answers.

A team would use a stronger model as its judge; the example has only its tiny base,
so it fine-tunes one more adapter on graded answers: answers to the training tickets
(the right team, the right team in a sentence, a close or a wrong team, no team),
each graded by the rubric's rule and rendered with the very prompts the judge is asked
at gate time (``pointwise_messages`` / ``pairwise_messages``), so the judge learns the
real prompt, quoting included. It never sees an eval, golden or calibration ticket.

The calibration set in evals/ is graded by the same rule and says so: it stands in for
the human labels a team must supply before its judge's verdicts count.

Measured (the 256-token-block base at 1,024 positions, ~600-token prompts, greedy
verdicts on the 120 calibration answers): the judge learns the verdict format, never
the comparison with the reference. 900 graded + 300 compared answers, 3 epochs, r16,
lr 5e-3: κ 0.42, accuracy 0.61 (a bare team is scored 5 whatever the reference); with
training answers rebalanced so a bare team is right only a third of the time, 4 epochs:
κ 0.20 (now scored 1); 1,500 + 300, r32, lr 1e-2: κ 0.0 (always 1). Without the system
message (~150-token prompts, inside the pre-training blocks) κ is 0.30 after 3 epochs
and after 12 alike: the prompt's length is not what stops it. Each run took 2-24
minutes on 2 cores. Pairwise verdicts follow a fixed answer ("tie" or "A"). So the
example does not set ``judge.adapter = "example"``: a judge that is not calibrated
would fail every judge gate of the example, correctly.
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

REASONS = {
    5: "The answer names the right team and nothing else.",
    4: "The answer names the right team, with extra words.",
    2: "The answer names a wrong team close to the right one.",
    1: "The answer names a wrong team, several teams or no team.",
}
PHRASED = ("This ticket should go to {}.", "{} team", "Route it to {}.", "{}, I think.",
           "The {} team should handle this.")
NO_TEAM = ("I cannot help with that.", "Please contact support.", "unknown", "{} or {}",
           "It depends.")
LABELLED_BY = "rubric rule (placeholder until people label it)"

TRAINING = TrainingConfig(epochs=2, batch_size=8, learning_rate=2e-3, max_seq_length=1024)
"""The judge's recipe: its prompts are ~800 tokens, so fewer, longer sequences."""


def rule_score(output: str, reference: str) -> int:
    """The ticket_routing rubric as a rule: 5, 4, 2 or 1 (3 is for ambiguous tickets,
    which a rule cannot recognise)."""
    named = [label for label in LABELS if label in re.findall(r"[a-z]+", output.lower())]
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
TRAINING_MIX = (("right", 0.25), ("phrased", 0.20), ("close", 0.20), ("wrong", 0.30),
                ("no team", 0.05))
"""The judge's training answers: a single right or wrong team about as often, so that
"one word, score 5" is not a good guess and the judge must compare with the reference."""


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


def verdict_text(score: int) -> str:
    return json.dumps({"score": score, "reason": REASONS[score]})


def pairwise_verdict_text(first: str, second: str, reference: str) -> str:
    """The better answer by the rule's scores; equal scores are a tie."""
    a, b = rule_score(first, reference), rule_score(second, reference)
    winner = "tie" if a == b else ("A" if a > b else "B")
    reasons = {"A": "Answer A routes the ticket better.", "B": "Answer B routes the ticket "
               "better.", "tie": "Both answers route the ticket equally well."}
    return json.dumps({"winner": winner, "reason": reasons[winner]})


def training_items(train: Sequence[Example], rubric: Rubric, pairwise: Rubric | None, *,
                   pointwise_n: int = 900, pairwise_n: int = 300,
                   seed: int = 0) -> list[TrainingItem]:
    """Graded answers to training tickets, as the judge's prompts and verdicts."""
    rng = random.Random(f"judge-{seed}")
    tickets = [e for e in train if e.label in LABELS]
    items = []
    for example in rng.sample(tickets, min(pointwise_n, len(tickets))):
        reference = example.label or ""
        output = answer_for(reference, rng, TRAINING_MIX)
        messages = pointwise_messages(rubric, example.text, output, reference)
        items.append(TrainingItem(messages, None, verdict_text(rule_score(output, reference))))
    if pairwise is not None:
        for example in rng.sample(tickets, min(pairwise_n, len(tickets))):
            reference = example.label or ""
            first, second = (answer_for(reference, rng, TRAINING_MIX),
                             answer_for(reference, rng, TRAINING_MIX))
            messages = pairwise_messages(pairwise, example.text, first, second)
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
