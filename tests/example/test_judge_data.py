"""The example judge's graded answers: the rubric's rule, the real prompts, no leakage."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from tunegate.example import judge as example_judge
from tunegate.example.tickets import build_datasets
from tunegate.judge import load_calibration, load_rubric, parse_verdict

ROOT = Path(__file__).resolve().parents[2]
RUBRICS = ROOT / "evals" / "rubrics"


@pytest.mark.parametrize(("output", "reference", "score"), [
    ("billing", "billing", 5),
    ("This ticket should go to account.", "account", 4),
    ("The returns team should handle this.", "returns", 4),
    ("returns, I think.", "returns", 4),  # a comma is not part of the team
    ("returns", "billing", 2),
    ("other", "account", 2),
    ("technical", "billing", 1),
    ("billing or shipping", "billing", 1),  # several teams
    ("Route it to returns.", "billing", 1),  # a close team, but not a bare answer
    ("I cannot help with that.", "shipping", 1),
    ("", "shipping", 1),
])
def test_rule_score(output, reference, score):
    assert example_judge.rule_score(output, reference) == score


def test_answers_cover_every_score():
    rng = random.Random(0)
    scores = Counter(example_judge.rule_score(example_judge.answer_for(label, rng), label)
                     for label in example_judge.LABELS * 200)
    assert set(scores) == {1, 2, 4, 5}
    assert 0.3 < scores[5] / scores.total() < 0.4


def test_the_judge_trains_on_answers_where_one_word_is_not_a_verdict():
    """Calibration answers are mostly right, as a router's are; the training answers
    are not, so a judge cannot score a bare team 5 without reading the reference."""
    rng = random.Random(0)
    bare = Counter()
    for label in example_judge.LABELS * 200:
        answer = example_judge.answer_for(label, rng, example_judge.TRAINING_MIX)
        if answer in example_judge.LABELS:
            bare[answer == label] += 1
    assert 0.28 < bare[True] / bare.total() < 0.38  # a third (calibration: a half)


def test_training_items_are_the_gate_time_prompts_with_valid_verdicts():
    data = build_datasets(0)
    rubric = load_rubric(RUBRICS / "ticket_routing.toml")
    pairwise = load_rubric(RUBRICS / "ticket_routing_pairwise.toml")
    items = example_judge.training_items(data["train"], rubric, pairwise, pointwise_n=60,
                                         pairwise_n=20)
    assert len(items) == 80
    held_out = {e.text for split in ("eval", "golden", "ood") for e in data[split]}
    train_texts = {e.text for e in data["train"]}
    for item in items:
        assert item.messages is not None
        system, user = item.messages
        schema = rubric if "ANSWER TO GRADE" in user.content else pairwise
        assert system.content.startswith(schema.instructions.strip()[:40])
        parse_verdict(item.answer, schema.verdict_schema)  # strict, as at gate time
        quoted_input = user.content.split(">>>\n", 1)[1].split("\n<<<END INPUT", 1)[0]
        assert quoted_input in train_texts and quoted_input not in held_out


def test_the_shipped_calibration_set_is_the_rule_on_eval_tickets():
    rows = example_judge.calibration_rows(build_datasets(0)["eval"], 120)
    shipped = (ROOT / "evals" / "judge_calibration.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in shipped] == rows
    items = load_calibration(ROOT / "evals" / "judge_calibration.jsonl")
    assert {i.human_score for i in items} == {1, 2, 4, 5}
    assert all(i.meta["labelled_by"] == example_judge.LABELLED_BY for i in items)
