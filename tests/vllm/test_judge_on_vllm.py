"""suites/test_judge.py with a judge served by a real vLLM server: the untrained base.

A base model that was never taught the rubric is the deliberately bad judge: it does
not answer with a verdict, so it cannot be calibrated, and no judge gate may pass on
its word. Everything on the way is real: vLLM's OpenAI server, the HTTP backend, the
response cache (a rerun asks the server nothing), the suite's gates and the record.
"""

from __future__ import annotations

import sqlite3
import subprocess
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


def _untrained_adapter(base: Path, folder: Path) -> Path:
    """A LoRA adapter of ``base`` as peft initialises it (B = 0): the base itself."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    lora = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"],
                      task_type="CAUSAL_LM")
    get_peft_model(model, lora).save_pretrained(folder)
    return folder


def _vllm_processes_naming(marker: str) -> list[str]:
    ps = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True, check=True)
    return [line for line in ps.stdout.splitlines()
            if "vllm.entrypoints" in line and marker in line]


def test_a_judge_adapter_is_served_for_the_run_and_stopped_after_it(
    pytester: pytest.Pytester, judge_project, tmp_path_factory: pytest.TempPathFactory,
    tiny_base_factory, gate_records
) -> None:
    """judge.adapter: the run serves the base and the adapter with vLLM on 127.0.0.1,
    judges through it, and stops it. An adapter never taught the rubric (the untrained
    base) fails calibration, and every judge gate fails with it."""
    from tunegate.judge import load_calibration

    base = tiny_base_factory(tmp_path_factory.mktemp("served-judge-base"), seed=4,
                             max_positions=4096)
    adapter = _untrained_adapter(base, tmp_path_factory.mktemp("untrained-judge"))
    shipped = load_calibration(ROOT / "evals" / "judge_calibration.jsonl")[:16]
    rows = [{"id": i.id, "input": i.input, "output": i.output, "reference": i.reference,
             "human_score": i.human_score} for i in shipped]
    root = judge_project(rows, f'max_new_tokens = 48\nretries = 1\nsample = 4\n'
                               f'adapter = "{adapter}"\n')
    config = (root / "tunegate.toml").read_text().splitlines()
    config = [f'base = "{base}"' if line.startswith("base =") else
              'production = "base"' if line.startswith("production =") else
              'candidate = "base"' if line.startswith("candidate =") else line
              for line in config]
    (root / "tunegate.toml").write_text("\n".join(config) + "\n")

    result = pytester.runpytest_subprocess("test_judge.py")
    result.assert_outcomes(failed=3)
    gates = gate_records(root)
    assert gates["judge_calibrated"]["passed"] is False
    assert "malformed verdict after 2 attempt(s)" in str(gates["judge_calibrated"]["evidence"])
    for name in ("judge_scores", "judge_win_rate"):
        assert "judge not calibrated" in gates[name]["reason"]
    log = (root / "cache" / "judge-server" / "vllm-server.log").read_text()
    assert "--host 127.0.0.1" in log and f"judge={adapter}" in log
    assert _vllm_processes_naming(str(adapter)) == []  # stopped with the run
