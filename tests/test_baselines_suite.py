"""suites/test_baselines.py on a tiny project: prompted baselines, the usage ceilings,
the decision table in the run record and the reports."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tunegate.data import write_examples

pytest_plugins = ["pytester"]
pytest.importorskip("peft")

SUITES = Path(__file__).resolve().parents[1] / "suites"
LABELS = '["billing", "shipping", "technical", "account", "returns", "other"]'


@pytest.fixture
def project(pytester: pytest.Pytester, tiny_base, tiny_adapters, billing_adapter, tiny_examples):
    """The candidate answers 'billing' to everything and the eval tickets are all billing
    tickets: it is right every time, which the tiny base asked any way is not."""
    from tunegate.example.tickets import build_datasets

    root = pytester.path
    write_examples(root / "train.jsonl", tiny_examples[:40])
    evaluation = build_datasets(0)["eval"]

    def configure(thresholds: str = "", baselines: bool = True, label: str = "billing") -> None:
        write_examples(root / "eval.jsonl", [e for e in evaluation if e.label == label][:24])
        extra = ('[baselines.zero-shot]\nsystem = "Name the team."\n'
                 "[baselines.2-shot]\nshots = 2\n") if baselines else ""
        (root / "tunegate.toml").write_text(
            f'base = "{tiny_base}"\nproduction = "{tiny_adapters[1]}"\n'
            f'candidate = "{billing_adapter}"\ncache_dir = "cache"\nreport_dir = "reports"\n'
            f"[task]\nlabels = {LABELS}\n"
            '[data]\ntrain = "train.jsonl"\neval = "eval.jsonl"\n'
            f'[thresholds]\nbaseline_metric = "accuracy"\n{thresholds}\n{extra}'
            "[cost]\ninput_per_million = 0.2\noutput_per_million = 0.6\n"
        )

    for name in ("conftest.py", "test_baselines.py"):
        shutil.copy(SUITES / name, root / name)
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n")
    return configure


def record_of(root: Path) -> dict:
    [path] = (root / "reports" / "runs").glob("*.json")
    return json.loads(path.read_text())


def test_baselines_and_ceilings_pass_and_the_record_holds_the_decision_table(pytester, project):
    project("min_delta_over_baseline = -1.0\nmax_p95_latency_ms = 600000\n"
            "max_tokens_per_request = 1000\nmax_cost_per_1000 = 1.0\n")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*beats_2-shot*PASSED*", "*beats_zero-shot*PASSED*",
                                 "*usage*PASSED*"])
    record = record_of(pytester.path)
    rows = {row["reference"]: row for row in record["decision"]}
    assert set(rows) == {"zero-shot", "2-shot", "candidate"}
    assert rows["2-shot"]["kind"] == "base, prompted 2-shot"
    assert rows["zero-shot"]["kind"] == "base, prompted zero-shot + system prompt"
    assert rows["candidate"]["kind"] == "adapter"
    for row in rows.values():
        assert row["n"] == 24 and row["ci_low"] <= row["value"] <= row["ci_high"]
        assert row["latency_p50_ms"] > 0 and row["tokens_per_request"] > 10
        assert row["cost_per_1000"] > 0 and row["currency"] == "USD"
    # two demonstrations make the prompt longer than the example's own
    assert rows["2-shot"]["tokens_per_request"] > rows["candidate"]["tokens_per_request"] + 20
    baselines = {r["role"]: r for r in record["references"] if r.get("prompting")}
    assert set(baselines) == {"zero-shot", "2-shot"}
    assert baselines["2-shot"]["prompting"].startswith("2-shot (")


def test_a_candidate_no_better_than_prompting_and_too_long_prompts_fail(pytester, project):
    # shipping tickets: the billing-only candidate is always wrong
    project("min_delta_over_baseline = 0.0\nmax_tokens_per_request = 5\n", label="shipping")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=3)
    out = result.stdout.str()
    assert "beats_2-shot: FAILED" in out and "accuracy[candidate]  0.0000" in out
    assert "usage: FAILED" in out and "tokens_per_request" in out
    assert record_of(pytester.path)["passed"] is False


def test_without_baselines_or_ceilings_the_tests_skip_and_say_why(pytester, project):
    project(baselines=False)
    result = pytester.runpytest_subprocess("-rs")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["*no prompted baselines configured*",
                                 "*no latency, token or cost ceiling configured*"])


def test_shots_beyond_the_training_split_are_a_config_error(pytester, project):
    project()
    toml = pytester.path / "tunegate.toml"
    toml.write_text(toml.read_text().replace("shots = 2", "shots = 60"))
    result = pytester.runpytest_subprocess()
    result.stdout.fnmatch_lines(["*baselines.2-shot.shots*60 demonstrations asked*"])
    assert result.ret != 0
