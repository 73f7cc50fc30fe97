"""Prompt strategies and the drawing of their demonstrations."""

from __future__ import annotations

from collections import Counter

import pytest

from tunegate.data import Example, Message
from tunegate.prompting import Demonstration, PromptStrategy, draw_demonstrations

SYSTEM = Message(role="system", content="Route the ticket.")


def chat(i: int, label: str) -> Example:
    return Example(id=f"t{i}", messages=(SYSTEM, Message(role="user", content=f"ticket {i}")),
                   label=label)


POOL = [chat(i, label) for i, label in enumerate(["billing"] * 10 + ["shipping"] * 5
                                                 + ["other"] * 2)]


def draw(shots: int, seed: int = 0, pool: list[Example] = POOL, **kw) -> tuple[Demonstration, ...]:
    return draw_demonstrations(pool, shots, seed, label_of=lambda e: e.label,
                               prompt_of=lambda e: None, answer_of=lambda e: e.label or "", **kw)


def test_chat_input_gets_the_system_prompt_then_the_demonstrations_then_the_question():
    demos = (Demonstration("billing", messages=(SYSTEM, Message(role="user", content="refund?"))),)
    strategy = PromptStrategy(system="Answer with a team.", demonstrations=demos)
    asked = strategy.messages((SYSTEM, Message(role="user", content="where is my parcel")))
    assert [(m.role, m.content) for m in asked] == [
        ("system", "Answer with a team."), ("user", "refund?"), ("assistant", "billing"),
        ("user", "where is my parcel")]


def test_without_a_system_prompt_the_example_keeps_its_own():
    asked = PromptStrategy().messages((SYSTEM, Message(role="user", content="hi")))
    assert asked == (SYSTEM, Message(role="user", content="hi"))


def test_plain_prompts_are_blocks_a_blank_line_apart():
    demos = (Demonstration(" billing", prompt="Ticket: refund?\nTeam:"),)
    strategy = PromptStrategy(system="Route tickets.", demonstrations=demos)
    assert strategy.prompt("Ticket: parcel late\nTeam:") == (
        "Route tickets.\n\nTicket: refund?\nTeam: billing\n\nTicket: parcel late\nTeam:")


def test_chat_and_plain_demonstrations_do_not_mix():
    with pytest.raises(ValueError, match="plain-prompt demonstration"):
        PromptStrategy(demonstrations=(Demonstration("x", prompt="p"),)).messages((SYSTEM,))
    with pytest.raises(ValueError, match="chat demonstration"):
        PromptStrategy(demonstrations=(Demonstration("x", messages=(SYSTEM,)),)).prompt("p")


def test_demonstrations_are_stratified_every_label_before_any_twice():
    demos = draw(3)
    assert sorted(d.answer for d in demos) == ["billing", "other", "shipping"]
    counts = Counter(d.answer for d in draw(7))
    assert counts["other"] == 2 and counts["shipping"] >= 2 and sum(counts.values()) == 7


def test_a_seed_gives_the_same_demonstrations_and_another_seed_others():
    assert draw(4, seed=3) == draw(4, seed=3)
    assert {draw(4, seed=s) for s in range(6)} != {draw(4, seed=3)}


def test_excluded_examples_are_never_shown():
    excluded = {e.id for e in POOL if e.label == "other"}
    for seed in range(5):
        demos = draw(5, seed, excluded=excluded)
        assert "other" not in {d.answer for d in demos}


def test_more_shots_than_usable_examples_is_an_error_that_says_why():
    with pytest.raises(ValueError, match=r"18 demonstrations asked, only 15 .*\(2 repeat"):
        draw(18, excluded={"t15", "t16"})


def test_key_and_description_follow_the_content():
    zero, four = PromptStrategy(), PromptStrategy(demonstrations=draw(4))
    assert (zero.describe(), four.describe()) == ("zero-shot", "4-shot")
    assert PromptStrategy(system="x").describe() == "zero-shot + system prompt"
    assert zero.key() != four.key() == PromptStrategy(demonstrations=draw(4)).key()
