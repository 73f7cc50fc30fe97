"""Judge calibration: the labelled set, κ and accuracy, and a judge graded against it."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from tunegate.backends import CachedBackend, ModelRef
from tunegate.backends.openai_http import OpenAIHTTPBackend
from tunegate.config import JudgeConfig, OpenAIConfig
from tunegate.data import DataError
from tunegate.judge import Judge, agreement, calibrate, load_calibration, load_rubric
from tunegate.metrics import wilson_interval

ROOT = Path(__file__).resolve().parents[2]


def test_kappa_and_accuracy_of_a_small_labelled_set():
    # p_o = 3/4; p_e = 1/2 * 1/4 + 1/2 * 3/4 = 1/2; κ = (3/4 - 1/2) / (1 - 1/2) = 1/2
    found = agreement(["pass", "pass", "fail", "fail"], ["pass", "fail", "fail", "fail"])
    assert found.kappa == pytest.approx(0.5)
    assert found.accuracy == pytest.approx(0.75)
    assert (found.accuracy_low, found.accuracy_high) == pytest.approx(wilson_interval(3, 4))
    assert found.labels == ("fail", "pass")
    assert found.confusion == ((2, 0), (1, 1))  # rows: human, columns: judge


def test_scores_sort_numerically_and_kappa_can_be_weighted():
    human, judged = ["1", "2", "10", "10"], ["1", "2", "10", "2"]
    assert agreement(human, judged).labels == ("1", "2", "10")
    plain = agreement(human, judged).kappa
    assert agreement(human, judged, weights="quadratic").kappa != pytest.approx(plain)


def test_kappa_of_a_single_label_is_undefined_not_perfect():
    assert math.isnan(agreement(["5", "5"], ["5", "5"]).kappa)
    with pytest.raises(ValueError, match="as many judge labels"):
        agreement(["5"], [])


def test_the_shipped_calibration_set_loads():
    items = load_calibration(ROOT / "evals" / "judge_calibration.jsonl")
    assert len(items) >= 20
    assert {i.human_score for i in items} <= {1, 2, 3, 4, 5}
    assert len({i.id for i in items}) == len(items)


@pytest.mark.parametrize(("lines", "where"), [
    (['{"id": "a", "input": "x", "output": "y"}'], ":1: human_score: Field required"),
    (['{"id": "a", "input": "x", "output": "y", "human_score": 3}', "{oops"], ":2: not JSON"),
    (['{"id": "a", "input": "x", "output": "y", "human_score": 3}'] * 2, ":2: id: duplicate"),
    ([""], "no labelled items"),
])
def test_a_bad_calibration_file_names_the_line(tmp_path, lines, where):
    path = tmp_path / "cal.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=where):
        load_calibration(path)


def scripted_judge(server: Any, replies: Any, scores: dict[str, int]) -> Judge:
    """A judge server that gives each output the score in ``scores``."""
    def respond(request: Any) -> Any:
        user = request.body["messages"][-1]["content"]
        output = user.split("ANSWER TO GRADE", 1)[1].split("\n")[1]
        return replies.chat_reply(json.dumps({"score": scores[output], "reason": "r"}))

    server.on("/v1/chat/completions", respond)
    backend = OpenAIHTTPBackend(OpenAIConfig(base_url=server.url, max_retries=0))
    return Judge(CachedBackend(backend, None), ModelRef("judge", "tiny-base"), JudgeConfig(),
                 rubric=load_rubric(ROOT / "evals" / "rubrics" / "ticket_routing.toml"))


def write_items(tmp_path: Path, rows: list[tuple[str, int]]) -> Path:
    path = tmp_path / "cal.jsonl"
    path.write_text("".join(
        json.dumps({"id": f"c{i}", "input": "ticket", "output": out, "human_score": score}) + "\n"
        for i, (out, score) in enumerate(rows)))
    return path


def test_calibrate_grades_the_labelled_outputs_and_measures_agreement(
    openai_server, replies, tmp_path
):
    rows = [("billing", 5), ("shipping", 1), ("returns", 2), ("account", 4), ("other", 1)]
    judge = scripted_judge(openai_server, replies, {"billing": 5, "shipping": 1, "returns": 1,
                                                     "account": 5, "other": 1})
    report = calibrate(judge, load_calibration(write_items(tmp_path, rows)))
    assert report.agreement is not None and report.errors == ()
    assert report.judged == ("5", "1", "1", "5", "1")
    assert report.agreement.accuracy == pytest.approx(0.6)
    assert [d["id"] for d in report.disagreements()] == ["c2", "c3"]
    binary = calibrate(judge, load_calibration(write_items(tmp_path, rows)), pass_score=4)
    assert binary.agreement is not None
    assert (binary.agreement.accuracy, binary.agreement.kappa) == (1.0, 1.0)
    assert binary.human == ("pass", "fail", "fail", "pass", "fail")


def test_calibration_with_an_unreadable_verdict_has_no_agreement(
    openai_server, replies, tmp_path
):
    openai_server.on("/v1/chat/completions", lambda request: replies.chat_reply("five"))
    backend = OpenAIHTTPBackend(OpenAIConfig(base_url=openai_server.url, max_retries=0))
    judge = Judge(CachedBackend(backend, None), ModelRef("judge", "tiny-base"),
                  JudgeConfig(retries=1),
                  rubric=load_rubric(ROOT / "evals" / "rubrics" / "ticket_routing.toml"))
    report = calibrate(judge, load_calibration(write_items(tmp_path, [("billing", 5)])))
    assert report.agreement is None
    assert report.errors[0][0] == "c0"
    assert report.errors[0][1].startswith("malformed verdict after 2 attempt(s)")
