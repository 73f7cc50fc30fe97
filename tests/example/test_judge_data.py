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
    """Calibration answers are mostly right, as a router's are; in training a bare team
    is right about half the time, so a judge cannot score it without the reference."""
    rng = random.Random(0)
    bare = Counter()
    for label in example_judge.LABELS * 200:
        answer = example_judge.answer_for(label, rng, example_judge.TRAINING_MIX)
        if answer in example_judge.LABELS:
            bare[answer == label] += 1
    assert 0.42 < bare[True] / bare.total() < 0.52


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
        verdict = parse_verdict(item.answer, schema.verdict_schema)  # strict, as at gate time
        # reason first, restating the reference's team: the score compares two words
        assert item.answer.startswith('{"reason": "The reference is ')
        expected = user.content.split("<<<REFERENCE ANSWER ", 1)[1].split(">>>\n", 1)[1]
        assert verdict["reason"].startswith(f"The reference is {expected.split()[0]}")
        quoted_input = user.content.split(">>>\n", 1)[1].split("\n<<<END INPUT", 1)[0]
        assert quoted_input in train_texts and quoted_input not in held_out


@pytest.mark.parametrize(("output", "reason", "score"), [
    ("billing", "The reference is billing and the answer is billing.", 5),
    ("Route it to billing.", "The reference is billing and the answer says billing in a "
     "sentence.", 4),
    ("returns", "The reference is billing and the answer is returns.", 2),
    ("It depends.", "The reference is billing and the answer names no team.", 1),
    ("billing or shipping", "The reference is billing and the answer names billing and "
     "shipping.", 1),
])
def test_a_verdict_restates_both_teams_before_the_score(output, reason, score):
    assert json.loads(example_judge.verdict_text(output, "billing")) == {
        "reason": reason, "score": score}


def test_a_pairwise_verdict_restates_the_reference_and_both_answers():
    verdict = json.loads(example_judge.pairwise_verdict_text("returns", "billing", "billing"))
    assert verdict == {"reason": "The reference is billing, answer A is returns and answer B "
                                 "is billing.", "winner": "B"}
    tie = json.loads(example_judge.pairwise_verdict_text("billing", "billing", "billing"))
    assert tie["winner"] == "tie"


def test_the_shipped_calibration_set_is_the_rule_on_eval_tickets():
    rows = example_judge.calibration_rows(build_datasets(0)["eval"], 120)
    shipped = (ROOT / "evals" / "judge_calibration.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in shipped] == rows
    items = load_calibration(ROOT / "evals" / "judge_calibration.jsonl")
    assert {i.human_score for i in items} == {1, 2, 4, 5}
    assert all(i.meta["labelled_by"] == example_judge.LABELLED_BY for i in items)


def test_the_example_serves_its_judge_the_prompt_length_it_was_trained_on():
    """The shipped config serves the example judge and cuts its prompts as training
    did: the last PROMPT_TOKENS tokens, inside the base's 256-token context."""
    from tunegate.config import load_config

    judge = load_config(ROOT / "pyproject.toml").judge
    assert (judge.adapter, judge.max_prompt_tokens) == ("example", example_judge.PROMPT_TOKENS)
    assert example_judge.TRAINING.max_seq_length > example_judge.PROMPT_TOKENS
