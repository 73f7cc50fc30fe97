"""Judging through the real HTTP backend against a scripted judge server: retries on
malformed replies, failing closed, repeat-n votes, both pairwise orders, the cache."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tunegate.backends import CachedBackend, ModelRef, ResponseCache
from tunegate.backends.openai_http import OpenAIHTTPBackend
from tunegate.config import JudgeConfig, OpenAIConfig
from tunegate.gates import judge_calibrated, judge_scores
from tunegate.judge import (
    CalibrationItem,
    GradeItem,
    Judge,
    PairItem,
    calibrate,
    load_rubric,
    pairwise_summary,
    score_summary,
)

RUBRICS = Path(__file__).resolve().parents[2] / "evals" / "rubrics"
JUDGE = ModelRef("judge", "tiny-base")
ITEM = GradeItem("t1", "I was charged twice", "billing", "billing")


def quoted(request: Any) -> dict[str, str]:
    """The quotes of the judge prompt a request carries, by name."""
    user = next(m["content"] for m in request.body["messages"] if m["role"] == "user")
    pattern = r"<<<(?P<n>[A-Z ]+) (?P<b>[0-9a-f]{16})>>>\n(?P<t>.*?)\n<<<END (?P=n) (?P=b)>>>"
    return {m["n"]: m["t"] for m in re.finditer(pattern, user, re.DOTALL)}


def verdict(**fields: Any) -> str:
    return json.dumps(fields)


def make_judge(server: Any, cache: ResponseCache | None = None, **settings: Any) -> Judge:
    backend = OpenAIHTTPBackend(OpenAIConfig(base_url=server.url, backoff_s=0.0,
                                             max_retries=0))
    return Judge(CachedBackend(backend, cache), JUDGE, JudgeConfig(**settings),
                 rubric=load_rubric(RUBRICS / "ticket_routing.toml"),
                 pairwise_rubric=load_rubric(RUBRICS / "ticket_routing_pairwise.toml"))


def test_pointwise_grading_sends_the_rubric_and_reads_the_verdict(openai_server, replies):
    openai_server.script("/v1/chat/completions",
                         replies.chat_reply(verdict(score=5, reason="right team")))
    [result] = make_judge(openai_server).grade([ITEM])
    assert (result.score, result.reason, result.votes, result.error) == (
        5, "right team", (5,), None)
    [sent] = openai_server.posts("/v1/chat/completions")
    assert [m["role"] for m in sent.body["messages"]] == ["system", "user"]
    assert "support-ticket router" in sent.body["messages"][0]["content"]
    assert quoted(sent) == {"INPUT": ITEM.input, "REFERENCE ANSWER": "billing",
                            "ANSWER TO GRADE": "billing"}
    assert (sent.body["temperature"], sent.body["model"]) == (0.0, "tiny-base")


def test_a_malformed_reply_is_asked_again_with_the_problem(openai_server, replies):
    openai_server.script("/v1/chat/completions",
                         replies.chat_reply("The answer is great, 5/5!"),
                         replies.chat_reply(verdict(score=4, reason="ok")))
    [result] = make_judge(openai_server, retries=2).grade([ITEM])
    assert (result.score, result.calls, result.error) == (4, 2, None)
    retry = openai_server.posts("/v1/chat/completions")[1].body["messages"]
    assert [m["role"] for m in retry] == ["system", "user", "assistant", "user"]
    assert retry[2]["content"] == "The answer is great, 5/5!"
    assert "not a JSON object" in retry[3]["content"]


def test_malformed_every_time_fails_closed(openai_server, replies):
    openai_server.on("/v1/chat/completions",
                     lambda request: replies.chat_reply(verdict(score=9, reason="x")))
    [result] = make_judge(openai_server, retries=2).grade([ITEM])
    assert result.score is None
    assert result.error is not None and result.error.startswith(
        "malformed verdict after 3 attempt(s): does not match the schema at score")
    assert len(openai_server.posts("/v1/chat/completions")) == 3
    summary = score_summary([result])
    assert (summary.n, summary.errors) == (0, (("t1", result.error),))


def test_an_unreachable_judge_fails_closed(openai_server):
    judge = make_judge(openai_server)
    openai_server.stop()
    [result] = judge.grade([ITEM])
    assert result.score is None
    assert result.error is not None
    assert result.error.startswith("judge call failed (BackendHTTPError): GET")
    labelled = [CalibrationItem(id="c1", input="ticket", output="billing", human_score=5)]
    calibration = judge_calibrated(calibrate(judge, labelled), min_kappa=0.6, min_accuracy=0.8)
    gate = judge_scores(score_summary([result]), calibration, min_mean_score=4.0)
    assert (calibration.status, gate.status) == ("NOT EVALUATED", "NOT EVALUATED")
    assert gate.reason.startswith("judge not calibrated: the judge could not grade 1 of 1")


def test_repeat_n_samples_with_distinct_seeds_and_takes_the_majority(openai_server, replies):
    by_seed = {"t1": [4, 2, 4], "t2": [5, 3, 4]}

    def respond(request: Any) -> Any:
        item = "t1" if quoted(request)["ANSWER TO GRADE"] == "billing" else "t2"
        score = by_seed[item][request.body["seed"]]
        return replies.chat_reply(verdict(score=score, reason=f"seed {request.body['seed']}"))

    openai_server.on("/v1/chat/completions", respond)
    items = [ITEM, GradeItem("t2", "where is my parcel", "shipping")]
    first, second = make_judge(openai_server, repeat=3, temperature=0.7).grade(items)
    assert (first.score, first.votes, first.tie) == (4, (4, 2, 4), False)
    assert (second.score, second.votes, second.tie) == (3, (5, 3, 4), True)  # lowest on a tie
    bodies = [r.body for r in openai_server.posts("/v1/chat/completions")]
    assert sorted(b["seed"] for b in bodies) == [0, 0, 1, 1, 2, 2]
    assert {b["temperature"] for b in bodies} == {0.7}
    assert score_summary([first, second]).vote_ties == 1


def pairwise_server(server: Any, replies: Any, decide: dict[str, Any]) -> None:
    """A judge whose choice per item is ``decide[item](answer_a, answer_b)``."""
    def respond(request: Any) -> Any:
        texts = quoted(request)
        choose = decide[texts["INPUT"]]
        return replies.chat_reply(verdict(winner=choose(texts["ANSWER A"], texts["ANSWER B"]),
                                          reason="because"))

    server.on("/v1/chat/completions", respond)


def test_pairwise_judges_both_orders_and_reports_position_bias(openai_server, replies):
    def by_content(a: str, b: str) -> str:
        return "A" if a == "billing" else "B" if b == "billing" else "tie"

    pairwise_server(openai_server, replies, {
        "faithful": by_content,                    # follows the content: candidate wins
        "first wins": lambda a, b: "A",            # follows the position: a tie
        "half": lambda a, b: "tie" if a == "billing" else "A",  # orders disagree: a tie
        "loses": by_content,                       # the reference is right: candidate loses
    })
    items = [PairItem("p1", "faithful", "billing", "returns"),
             PairItem("p2", "first wins", "billing", "returns"),
             PairItem("p3", "half", "billing", "returns"),
             PairItem("p4", "loses", "account", "billing")]
    results = make_judge(openai_server).compare(items)
    assert [r.winner for r in results] == ["candidate", "tie", "tie", "reference"]
    assert [(r.candidate_first, r.candidate_second) for r in results] == [
        ("A", "B"), ("A", "A"), ("tie", "A"), ("B", "A")]
    assert [r.position_bias for r in results] == [False, True, False, False]
    assert [r.consistent for r in results] == [True, False, False, True]
    orders = [(quoted(r)["ANSWER A"], quoted(r)["ANSWER B"])
              for r in openai_server.posts("/v1/chat/completions")
              if quoted(r)["INPUT"] == "faithful"]
    assert sorted(orders) == [("billing", "returns"), ("returns", "billing")]
    summary = pairwise_summary(results)
    assert (summary.wins, summary.ties, summary.losses) == (1, 2, 1)
    assert summary.win_rate == pytest.approx(0.5)
    assert summary.position_bias == pytest.approx(0.25)
    assert summary.inconsistent == pytest.approx(0.5)


def test_reference_guided_pairwise_shows_the_expected_answer_in_both_orders(openai_server,
                                                                           replies):
    def by_reference(request: Any) -> Any:
        texts = quoted(request)
        expected = texts["REFERENCE ANSWER"]
        winner = ("A" if texts["ANSWER A"] == expected else
                  "B" if texts["ANSWER B"] == expected else "tie")
        return replies.chat_reply(verdict(winner=winner, reason="as the reference"))

    openai_server.on("/v1/chat/completions", by_reference)
    results = make_judge(openai_server).compare([
        PairItem("p1", "ticket", "returns", "billing", expected="returns"),
        PairItem("p2", "ticket", "returns", "billing", expected="billing"),
        PairItem("p3", "ticket", "returns", "billing", expected="shipping")])
    assert [r.winner for r in results] == ["candidate", "reference", "tie"]
    assert not any(r.position_bias for r in results)
    assert len(openai_server.posts("/v1/chat/completions")) == 6


def test_max_prompt_tokens_asks_the_server_to_keep_the_end_of_each_prompt(openai_server,
                                                                          replies):
    from tunegate.judge import judge_from_config

    openai_server.on("/v1/chat/completions",
                     lambda request: replies.chat_reply(verdict(reason="right", score=5)))
    config = JudgeConfig(openai=OpenAIConfig(base_url=openai_server.url, backoff_s=0.0,
                                             extra_body={"top_k": 1}),
                         model="tiny-base", max_prompt_tokens=224)
    judge = judge_from_config(config, lambda path: RUBRICS.parents[1] / path, None)
    [result] = judge.grade([ITEM])
    assert result.score == 5
    [sent] = openai_server.posts("/v1/chat/completions")
    assert {k: sent.body[k] for k in ("truncate_prompt_tokens", "truncation_side", "top_k")} \
        == {"truncate_prompt_tokens": 224, "truncation_side": "left", "top_k": 1}


def test_a_tied_pairwise_vote_is_a_tie_not_a_side(openai_server, replies):
    def respond(request: Any) -> Any:
        winner = "A" if request.body["seed"] == 0 else "B"
        return replies.chat_reply(verdict(winner=winner, reason="coin"))

    openai_server.on("/v1/chat/completions", respond)
    [result] = make_judge(openai_server, repeat=2, temperature=1.0).compare(
        [PairItem("p1", "ticket", "billing", "returns")])
    assert (result.winner, result.vote_tie) == ("tie", True)
    assert (result.candidate_first, result.candidate_second) == ("tie", "tie")


def test_judge_calls_are_cached(openai_server, replies, tmp_path):
    openai_server.on("/v1/chat/completions",
                     lambda request: replies.chat_reply(verdict(score=5, reason="fine")))
    cache = ResponseCache(tmp_path / "responses.sqlite")
    items = [ITEM, GradeItem("t2", "where is my parcel", "shipping")]
    first = make_judge(openai_server, cache).grade(items)
    again = make_judge(openai_server, cache).grade(items)
    cache.close()
    assert first == again
    assert len(openai_server.posts("/v1/chat/completions")) == 2
