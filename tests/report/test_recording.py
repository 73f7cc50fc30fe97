"""The plugin's run record and history, from real pytest runs (pytester), with and
without pytest-xdist."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tunegate.report.history import History
from tunegate.report.record import config_hash, read_run_record, suite_files, suite_hash

pytest_plugins = ["pytester"]

CONFIG = """\
base = "example"
candidate = "good"
report_dir = "reports"
[task]
labels = ["a", "b"]
[data]
eval = "eval.jsonl"
"""

GATES = """
import os

import pytest

from tunegate.gates import GateResult


@pytest.mark.parametrize("n", range(6))
def test_gate(tg_gate, n):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    tg_gate(GateResult(f"gate_{n}", True, {"value": n / 10}, {"value": 0.0},
                       directions={"value": ">="}, reason=worker))


def test_failing(tg_gate):
    tg_gate(GateResult("strict", False, {"value": 0.1}, {"value": 0.9},
                       directions={"value": ">="}))


def test_skipped():
    pytest.skip("not today")


@pytest.fixture
def broken():
    raise RuntimeError("fixture broke")


def test_error(broken):
    pass
"""

OUTCOMES = {
    **{f"suite/test_gates.py::test_gate[{n}]": "passed" for n in range(6)},
    "suite/test_gates.py::test_failing": "failed",
    "suite/test_gates.py::test_skipped": "skipped",
    "suite/test_gates.py::test_error": "error",
    "suite/test_more.py::test_plain": "passed",
}


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A model-free project: a config, and a suite whose gates are literal results."""
    (pytester.path / "tunegate.toml").write_text(CONFIG)
    suite = pytester.mkdir("suite")
    (suite / "test_gates.py").write_text(GATES)
    (suite / "test_more.py").write_text("def test_plain():\n    assert True\n")
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n")
    return pytester


def records(folder: Path) -> list[Path]:
    return sorted((folder / "runs").glob("*.json"))


def comparable(data: dict[str, Any]) -> dict[str, Any]:
    """What a serial and an xdist run of the same suite must agree on."""
    return {
        "gates": sorted((g["test"], g["name"], g["passed"], json.dumps(g["values"]))
                        for g in data["gates"]),
        "tests": sorted((t["nodeid"], t["outcome"], t["message"]) for t in data["tests"]),
        "examples": sorted(json.dumps(e, sort_keys=True) for e in data["examples"]),
        "references": sorted(json.dumps(r, sort_keys=True) for r in data["references"]),
        "suite": data["suite"], "exit_status": data["exit_status"], "passed": data["passed"],
    }


def test_run_record_holds_tests_suite_seeds_and_goes_to_history(project, monkeypatch):
    monkeypatch.setenv("PYTHONHASHSEED", "123")
    result = project.runpytest_subprocess("suite")
    result.assert_outcomes(passed=7, failed=1, skipped=1, errors=1)
    [path] = records(project.path / "reports")
    result.stdout.fnmatch_lines([f"run record: {path}"])
    record = read_run_record(path)
    assert (record.schema_version, record.exit_status, record.passed) == (3, 1, False)
    assert record.seeds == {"gate": 0, "PYTHONHASHSEED": 123}
    assert record.config_hash == config_hash(record.config)
    assert [t.nodeid for t in record.tests] == list(OUTCOMES)  # in collection order
    assert {t.nodeid: t.outcome for t in record.tests} == OUTCOMES
    messages = {t.nodeid.split("::")[1]: t.message for t in record.tests}
    assert messages["test_skipped"] == "not today"
    assert messages["test_error"] == "RuntimeError: fixture broke"
    assert "strict: FAILED" in messages["test_failing"]
    assert messages["test_plain"] == ""
    assert record.duration_s is not None and record.duration_s > 0
    assert all(t.duration_s >= 0 for t in record.tests)
    assert [g.name for g in record.gates] == [*(f"gate_{n}" for n in range(6)), "strict"]
    assert record.gates[-1].directions == {"value": ">="}
    assert record.suite is not None
    assert (record.suite.directory, record.suite.complete) == ("suite", True)
    assert record.suite.hash == suite_hash(suite_files(project.path / "suite"))
    history = History(project.path / "reports" / "history.sqlite")
    assert history.get(record.run_id) == record
    assert [p.value for p in history.metric_series("strict", "value")] == [0.1]


@pytest.mark.parametrize("args", [
    ("suite/test_gates.py",),       # one file of the suite
    ("suite", "-k", "not plain"),   # a deselection
    ("suite", "-x"),                # stopped at the first failure
])
def test_partial_runs_are_recorded_as_incomplete(project, args):
    project.runpytest_subprocess(*args)
    [path] = records(project.path / "reports")
    record = read_run_record(path)
    assert record.suite is not None and record.suite.directory == "suite"
    assert record.suite.complete is False
    [summary] = History(project.path / "reports" / "history.sqlite").runs()
    assert summary.complete is False


def test_failed_history_write_warns_and_keeps_the_exit_status(project):
    (project.path / "reports").mkdir()
    (project.path / "reports" / "history.sqlite").mkdir()  # not a database: cannot open
    failing = project.runpytest_subprocess("suite")
    assert failing.ret == pytest.ExitCode.TESTS_FAILED
    passing = project.runpytest_subprocess("suite/test_gates.py::test_gate")
    assert passing.ret == pytest.ExitCode.OK
    for result in (failing, passing):
        result.stdout.fnmatch_lines(["tunegate: warning: run * not added to the history *"])
    assert len(records(project.path / "reports")) == 2


def test_history_option_chooses_the_file_or_none(project):
    project.runpytest_subprocess("suite", "--tg-history", "elsewhere.sqlite")
    assert len(History(project.path / "elsewhere.sqlite").runs()) == 1
    project.runpytest_subprocess("suite", "--tg-history", "none")
    assert len(records(project.path / "reports")) == 2
    assert not (project.path / "reports" / "history.sqlite").exists()


def test_xdist_controller_writes_one_merged_record(project):
    parallel = project.runpytest_subprocess("-n", "2", "suite", "--tg-report-dir", "parallel")
    parallel.assert_outcomes(passed=7, failed=1, skipped=1, errors=1)
    [path] = records(project.path / "parallel")  # one record: workers write none
    merged = json.loads(path.read_text())
    assert {g["reason"] for g in merged["gates"] if g["reason"]} == {"gw0", "gw1"}
    # the controller prints the workers' gates in one table, as a serial run does
    table = parallel.stdout.str().split("tunegate gate results", 1)[1]
    assert all(f"{g['name']} " in table for g in merged["gates"])
    assert str(path) in table.replace("\n", "")
    project.runpytest_subprocess("suite", "--tg-report-dir", "serial")
    [serial] = records(project.path / "serial")
    assert comparable(merged) == comparable(json.loads(serial.read_text()))
    assert merged["suite"]["complete"] is True
    assert len(History(project.path / "parallel" / "history.sqlite").runs()) == 1


# -- per-example outcomes, from real predictions of a tiny model ----------------------

LABELS = '["billing", "shipping", "technical", "account", "returns", "other"]'

PREDICTING = """
import os

import pytest

from tunegate.gates import metric_floor


@pytest.mark.parametrize("n", range(4))
def test_candidate(tg_session, tg_candidate, tg_gate, n):
    predictions = tg_session.predictions(tg_candidate, "eval")  # on every worker
    accuracy = sum(p.correct for p in predictions.items) / len(predictions.items)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    tg_gate(metric_floor("accuracy", accuracy, 0.0, evidence={"worker": worker}))


def test_production(tg_session, tg_production):
    tg_session.predictions(tg_production, "golden")


def test_extraction(tg_session):
    extraction = tg_session.for_task("extraction")
    extraction.extractions(extraction.candidate, "eval")
"""


@pytest.fixture
def predicting_project(pytester, tiny_base, tiny_adapters, tiny_examples):
    """Classification on the tiny model with real adapters, and a further extraction task."""
    pytest.importorskip("peft")
    from tunegate.data import Example, write_examples

    write_examples(pytester.path / "eval.jsonl", tiny_examples[:24])
    write_examples(pytester.path / "golden.jsonl", tiny_examples[24:40])
    write_examples(pytester.path / "x_eval.jsonl", [
        Example(id=f"x{i}", prompt=e.text, reference=json.dumps({"category": e.label}))
        for i, e in enumerate(tiny_examples[40:46])
    ])
    (pytester.path / "schema.json").write_text('{"type": "object"}')
    candidate, production = tiny_adapters
    (pytester.path / "tunegate.toml").write_text(
        f'base = "{tiny_base}"\ncandidate = "{candidate}"\nproduction = "{production}"\n'
        'cache_dir = "cache"\nreport_dir = "reports"\n'
        f'[task]\nlabels = {LABELS}\n[data]\neval = "eval.jsonl"\ngolden = "golden.jsonl"\n'
        f'[tasks.extraction]\ncandidate = "{candidate}"\n'
        '[tasks.extraction.task]\nkind = "extraction"\njson_schema = "schema.json"\n'
        'exact_fields = ["category"]\nmax_new_tokens = 4\n'
        '[tasks.extraction.data]\neval = "x_eval.jsonl"\n'
    )
    pytester.makepyfile(test_predicting=PREDICTING)
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n")
    return pytester


def test_examples_are_recorded_once_per_reference_split_and_example(
    predicting_project, tiny_examples, tiny_adapters
):
    from tunegate.backends._fingerprint import folder_fingerprint

    serial = predicting_project.runpytest_subprocess("--tg-report-dir", "serial")
    serial.assert_outcomes(passed=6)
    parallel = predicting_project.runpytest_subprocess("-n", "2", "--tg-report-dir", "parallel")
    parallel.assert_outcomes(passed=6)
    [path] = records(predicting_project.path / "parallel")
    [serial_path] = records(predicting_project.path / "serial")
    merged = json.loads(path.read_text())
    assert comparable(merged) == comparable(json.loads(serial_path.read_text()))
    record = read_run_record(path)
    # both workers computed the candidate's predictions: the merge had duplicates to drop
    assert {g.evidence["worker"] for g in record.gates} == {"gw0", "gw1"}
    rows = {(e.task, e.role, e.split): [] for e in record.examples}
    for e in record.examples:
        rows[(e.task, e.role, e.split)].append(e)
    assert {key: len(found) for key, found in rows.items()} == {
        ("main", "candidate", "eval"): 24, ("main", "production", "golden"): 16,
        ("extraction", "candidate", "eval"): 6,
    }
    candidate = rows[("main", "candidate", "eval")]
    assert [e.id for e in candidate] == [e.id for e in tiny_examples[:24]]
    assert [e.gold for e in candidate] == [e.label for e in tiny_examples[:24]]
    assert all(e.correct == (e.answer == e.gold) for e in candidate)
    assert all(e.confidence is not None and 1 / 6 <= e.confidence <= 1 for e in candidate)
    accuracy = sum(bool(e.correct) for e in candidate) / 24
    assert record.gates[0].values["accuracy"] == pytest.approx(accuracy)
    extracted = rows[("extraction", "candidate", "eval")]
    assert extracted[0].gold == json.dumps({"category": tiny_examples[40].label})
    assert all(e.confidence is None and e.correct is not None for e in extracted)
    shas = {(r.task, r.role): r.adapter_sha256 for r in record.references}
    assert shas[("main", "candidate")] == folder_fingerprint(tiny_adapters[0])
    assert shas[("main", "production")] == folder_fingerprint(tiny_adapters[1])
    assert shas[("extraction", "candidate")] == folder_fingerprint(tiny_adapters[0])
