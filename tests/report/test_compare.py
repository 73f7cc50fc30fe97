"""``tunegate compare``: metric deltas, paired accuracy intervals, example flips."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tunegate.cli import main
from tunegate.metrics import paired_bootstrap
from tunegate.report.compare import compare_runs, comparison_table


def _load_samples() -> ModuleType:
    """tests/report/sample_runs.py, loaded by path: the tests are not a package."""
    name = "tunegate_tests_sample_runs"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).with_name("sample_runs.py"))
        assert spec is not None and spec.loader is not None
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


samples = _load_samples()


@pytest.fixture
def good_and_degraded():
    return samples.night(0), samples.night(1, degraded=True)


def test_metric_deltas_with_direction(good_and_degraded):
    good, degraded = good_and_degraded
    comparison = compare_runs(good, degraded)
    deltas = {(d.gate, d.metric): d for d in comparison.metrics}
    f1 = deltas[("macro_f1", "macro_f1")]
    assert (f1.a, f1.b, f1.threshold, f1.direction) == (0.8, 0.62, 0.78, ">=")
    assert f1.delta == pytest.approx(-0.18) and f1.better is False
    regression = deltas[("golden_regression", "regression_rate")]
    assert regression.delta == pytest.approx(0.2) and regression.better is False
    assert deltas[("golden_regression", "p_value_worse")].better is None  # no threshold
    assert deltas[("chat_format[train]", "invalid_examples")].better is None  # no change
    assert ("macro_f1", "PASSED", "FAILED") in comparison.verdict_changes
    assert comparison.only_in_a == comparison.only_in_b == []


def test_flips_by_role_split_and_id(good_and_degraded):
    comparison = compare_runs(*good_and_degraded)
    regressed = {(f.role, f.split, f.id) for f in comparison.flips_of("regressed")}
    assert {("candidate", "golden", i) for i in samples.GOLDEN_FLIPS} <= regressed
    # the 5 eval billing tickets the good candidate got right are now answered "returns"
    billing = [f for f in comparison.flips_of("regressed")
               if f.split == "eval" and f.gold == "billing"]
    assert [f.id for f in billing] == [f"eval-{i:03d}" for i in (4, 12, 20, 28, 36)]
    assert all(f.answer_a == "billing" and f.answer_b == "returns" for f in billing)
    assert not any(f.role == "production" for f in comparison.flips)  # production unchanged


def test_accuracy_difference_has_a_paired_bootstrap_interval(good_and_degraded):
    good, degraded = good_and_degraded
    comparison = compare_runs(good, degraded, resamples=1000, seed=5)
    rows = {(d.role, d.split): d for d in comparison.accuracy}
    golden = rows[("candidate", "golden")]
    assert (golden.examples, golden.regressed, golden.improved) == (10, 2, 0)
    assert golden.difference == pytest.approx(-0.2)
    expected = paired_bootstrap([1.0] * 10, [0.0 if i in (3, 7) else 1.0 for i in range(10)],
                                resamples=1000, seed=5)
    assert (golden.ci_low, golden.ci_high) == (expected.low, expected.high)
    assert golden.ci_low <= golden.difference < golden.ci_high == 0.0  # 2 of 10: may be 0
    unchanged = rows[("production", "eval")]
    assert (unchanged.difference, unchanged.ci_low, unchanged.ci_high) == (0.0, 0.0, 0.0)
    assert unchanged.p_value == 1.0


def test_gates_in_one_run_only(good_and_degraded):
    good, degraded = good_and_degraded
    trimmed = good.model_copy(update={"gates": good.gates[:-1]})
    comparison = compare_runs(trimmed, degraded)
    assert comparison.only_in_b == ["capability[arc_easy]"]
    assert "gates only in B: capability[arc_easy]" in comparison_table(comparison)


def test_cli_table_and_json_from_history(tmp_path, capsys):
    records = samples.nights(3)
    db = samples.history(tmp_path / "h.sqlite", records)
    a, b = records[1].run_id, records[2].run_id
    assert main(["compare", a, b, "--history", str(db), "--max-flips", "3"]) == 0
    table = capsys.readouterr().out
    assert f"A {a} (passed)  ->  B {b} (failed)" in table
    assert "macro_f1" in table and "PASSED -> FAILED" in table
    assert "examples right in A, wrong in B, first 3 shown" in table
    assert "paired (95% bootstrap CI, 2000 resamples; McNemar p)" in table
    assert main(["compare", a, b, "--history", str(db), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["run_a"], data["run_b"], data["passed_a"], data["passed_b"]) == (
        a, b, True, False)
    flipped = {(f["split"], f["id"]) for f in data["flips"] if f["change"] == "regressed"}
    assert {("golden", i) for i in samples.GOLDEN_FLIPS} <= flipped
    assert {"gate": "macro_f1", "a": "PASSED", "b": "FAILED"} in data["verdict_changes"]


def test_cli_accepts_run_record_files(tmp_path, capsys):
    runs = samples.runs_folder(tmp_path, samples.nights(2))
    files = sorted(str(p) for p in runs.glob("*.json"))
    assert main(["compare", *files, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["run_b"] == samples.nights(2)[1].run_id
    # ids resolve against the runs folder too
    assert main(["compare", samples.nights(2)[0].run_id, files[1], "--runs", str(runs),
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["run_a"] == samples.nights(2)[0].run_id


def test_unknown_runs_are_named(tmp_path, capsys):
    db = samples.history(tmp_path / "h.sqlite", samples.nights(2))
    known = samples.nights(2)[0].run_id
    assert main(["compare", known, "nope-1", "--history", str(db)]) == 2
    assert capsys.readouterr().err == f"tunegate: unknown run in {db}: nope-1\n"
    assert main(["compare", "nope-1", "nope-2", "--history", str(db)]) == 2
    assert "unknown runs in" in (err := capsys.readouterr().err) and "nope-1, nope-2" in err
    assert main(["compare", known, known, "--history", str(db), "--runs", str(tmp_path)]) == 2
    assert "give --history or --runs, not both" in capsys.readouterr().err
