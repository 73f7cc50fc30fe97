"""suites/test_judge.py with a judge served by a real vLLM server: the untrained base.

A base model that was never taught the rubric is the deliberately bad judge: it does
not answer with a verdict, so it cannot be calibrated, and no judge gate may pass on
its word. Everything on the way is real: vLLM's OpenAI server, the HTTP backend, the
response cache (a rerun asks the server nothing), the suite's gates and the record.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tunegate.backends.vllm_server import VLLMServer, vllm_available

pytest_plugins = ["pytester"]
MISSING = vllm_available()
pytestmark = [
    pytest.mark.vllm,
    pytest.mark.skipif(MISSING is not None, reason=f"needs vLLM (tox -e vllm): {MISSING}"),
]

ROOT = Path(__file__).resolve().parents[2]
JUDGE = "untrained-judge"


@pytest.fixture(scope="module")
def judge_server(tmp_path_factory: pytest.TempPathFactory,
                 tiny_base_factory) -> Iterator[VLLMServer]:
    """vLLM serving an untrained tiny base that reads judge-length prompts (up to
    ~2,000 tokens with the tiny tokenizer), as ``untrained-judge``."""
    folder = tiny_base_factory(tmp_path_factory.mktemp("judge-base"), seed=3,
                               max_positions=4096)
    with VLLMServer(folder, tmp_path_factory.mktemp("judge-log"), served_name=JUDGE,
                    max_model_len=4096) as server:
        yield server


def _responses(root: Path) -> int:
    with sqlite3.connect(root / "cache" / "responses.sqlite") as db:
        return int(db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])


def test_an_untrained_judge_fails_calibration_and_blocks_every_judge_gate(
    pytester: pytest.Pytester, judge_project, judge_server: VLLMServer, gate_records
) -> None:
    from tunegate.judge import load_calibration

    shipped = load_calibration(ROOT / "evals" / "judge_calibration.jsonl")[:24]
    rows = [{"id": i.id, "input": i.input, "output": i.output, "reference": i.reference,
             "human_score": i.human_score} for i in shipped]
    judge_project(rows, "max_new_tokens = 48\nretries = 1\nsample = 8\n")
    option = f"{judge_server.url},{JUDGE}"

    result = pytester.runpytest_subprocess("test_judge.py", "--tg-judge", option)
    result.assert_outcomes(failed=3)
    gates = gate_records(pytester.path)
    calibration = gates["judge_calibrated"]
    assert calibration["passed"] is False and calibration["error"]
    assert "malformed verdict after 2 attempt(s)" in str(calibration["evidence"])
    for name in ("judge_scores", "judge_win_rate"):
        assert "judge not calibrated" in gates[name]["reason"]

    # Every judge call is in the response cache: a rerun asks the server nothing new.
    asked = _responses(pytester.path)
    assert asked >= 24 * 2
    pytester.runpytest_subprocess("test_judge.py", "--tg-judge", option).assert_outcomes(
        failed=3)
    assert _responses(pytester.path) == asked
