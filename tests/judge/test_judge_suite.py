"""suites/test_judge.py end to end: a tiny model's answers judged over real HTTP.

The judge is the tests' OpenAI-shaped server on 127.0.0.1 answering by a rule (the
right team scores 5, a wrong one 1; the pair naming the right team wins), so the
suite's whole path runs for real: option parsing, the cached HTTP backend, the
quoted prompts, strict verdict parsing, calibration, and the gates' verdicts.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tunegate.backends.vllm_server import vllm_available
from tunegate.data import Example

pytest_plugins = ["pytester"]
pytest.importorskip("peft")

QUOTE = re.compile(r"<<<(?P<name>[A-Z ]+) (?P<b>[0-9a-f]+)>>>\n(?P<text>.*?)\n<<<END (?P=name) "
                   r"(?P=b)>>>", re.S)


def _quotes(body: dict[str, Any]) -> dict[str, str]:
    user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    return {m["name"]: m["text"] for m in QUOTE.finditer(user)}


def rule_judge(gold: dict[str, str], replies: Any, *, constant: int | None = None):
    """A responder grading by the gold team of each ticket (or always ``constant``)."""

    def respond(request: Any) -> Any:
        quotes = _quotes(request.body)
        right = gold[quotes["INPUT"]]
        if "ANSWER TO GRADE" in quotes:
            score = constant or (5 if quotes["ANSWER TO GRADE"] == right else 1)
            verdict: dict[str, Any] = {"score": score, "reason": "by the ticket's team"}
        else:
            a, b = quotes["ANSWER A"] == right, quotes["ANSWER B"] == right
            verdict = {"winner": "tie" if a == b else ("A" if a else "B"), "reason": "team"}
        return replies.chat_reply(json.dumps(verdict))

    return respond


def _calibration(examples: list[Example], wrong: str = "returns") -> list[dict[str, Any]]:
    rows = []
    for i, example in enumerate(examples):
        right = i % 2 == 0 or example.label == wrong
        rows.append({"id": f"cal-{i}", "input": example.text,
                     "output": example.label if right else wrong,
                     "reference": example.label, "human_score": 5 if right else 1})
    return rows


@pytest.fixture
def judge_server(judge_project, tiny_examples, openai_server, replies):
    """The judge project, judged by the tests' server answering by the rule."""
    judge_project(_calibration(tiny_examples[20:36]),
                  "min_kappa = 0.6\nmin_accuracy = 0.8\nmin_mean_score = 1.0\n"
                  "min_win_rate = 0.0\nsample = 12\n")
    openai_server.models.append({"id": "judge", "object": "model", "root": "judge",
                                 "parent": None})
    gold = {e.text: e.label or "" for e in tiny_examples}
    openai_server.on("/v1/chat/completions", rule_judge(gold, replies))
    return openai_server


def test_without_a_judge_the_suite_skips_and_says_why(pytester, judge_server):
    result = pytester.runpytest_subprocess("-rs", "test_judge.py")
    result.assert_outcomes(skipped=3)
    result.stdout.fnmatch_lines(["*no judge configured: pass --tg-judge URL,MODEL*"])


@pytest.mark.skipif(vllm_available() is None, reason="vLLM is installed here: the adapter "
                    "judge is served (tests/vllm)")
def test_a_judge_adapter_without_vllm_skips_and_says_why(pytester, judge_server, tiny_adapters):
    with (pytester.path / "tunegate.toml").open("a") as config:
        config.write(f'adapter = "{tiny_adapters[0]}"\n')
    result = pytester.runpytest_subprocess("-rs", "test_judge.py")
    result.assert_outcomes(skipped=3)
    result.stdout.fnmatch_lines(["*is served by vLLM, which is not available here*",
                                 "*--tg-judge URL,MODEL*"])


def test_a_calibrated_judge_grades_and_compares(pytester, judge_server, gate_records):
    result = pytester.runpytest_subprocess("test_judge.py", "--tg-judge",
                                           f"{judge_server.url},judge")
    result.assert_outcomes(passed=3)
    gates = gate_records(pytester.path)
    assert gates["judge_calibrated"]["values"]["kappa"] == pytest.approx(1.0)
    assert gates["judge_scores"]["values"]["n"] == 12
    assert 0 <= gates["judge_win_rate"]["values"]["position_bias"] <= 0.2
    newest = sorted((pytester.path / "reports" / "runs").glob("*.json"))[-1]
    [judge] = [r for r in json.loads(newest.read_text())["references"] if r["role"] == "judge"]
    assert judge["base"] == "judge" and judge["fingerprint"].startswith("openai:")
    graded = [r for r in judge_server.posts("/v1/chat/completions")
              if "ANSWER TO GRADE" in _quotes(r.body)]
    assert len(graded) == 16 + 12  # calibration items, then the candidate's answers

    # A second run is answered from the response cache: no judge call is repeated.
    before = len(judge_server.posts("/v1/chat/completions"))
    pytester.runpytest_subprocess("test_judge.py", "--tg-judge",
                                  f"{judge_server.url},judge").assert_outcomes(passed=3)
    assert len(judge_server.posts("/v1/chat/completions")) == before


def test_an_uncalibrated_judge_blocks_its_own_verdicts(pytester, judge_server, tiny_examples,
                                                       gate_records,
                                                       replies):
    gold = {e.text: e.label or "" for e in tiny_examples}
    judge_server.on("/v1/chat/completions", rule_judge(gold, replies, constant=5))
    result = pytester.runpytest_subprocess("test_judge.py", "--tg-judge",
                                           f"{judge_server.url},judge")
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(["*judge not calibrated*"])
    gates = gate_records(pytester.path)
    assert gates["judge_calibrated"]["values"]["kappa"] == pytest.approx(0.0)
    assert "judge not calibrated" in gates["judge_scores"]["reason"]


def test_an_unreachable_judge_fails_closed(pytester, judge_server):
    url = judge_server.url
    judge_server.stop()
    result = pytester.runpytest_subprocess("test_judge.py", "--tg-judge", f"{url},judge")
    result.assert_outcomes(failed=3)
    newest = sorted((pytester.path / "reports" / "runs").glob("*.json"))[-1]
    [judge] = [r for r in json.loads(newest.read_text())["references"] if r["role"] == "judge"]
    assert judge["fingerprint"] is None  # recorded, though its server never answered
    assert "could not" in result.stdout.str() or "not evaluated" in result.stdout.str()


def test_a_malformed_judge_option_names_it(pytester, judge_server):
    result = pytester.runpytest_subprocess("test_judge.py", "--tg-judge", "http://x/v1")
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(["*option --tg-judge: expected URL,MODEL*got 'http://x/v1'*"])
