"""The pytest plugin, driven through pytester with a tiny model and real adapters."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tunegate.data import write_examples

pytest_plugins = ["pytester"]
pytest.importorskip("peft")

SUITES = Path(__file__).resolve().parents[1] / "suites"
LABELS = '["billing", "shipping", "technical", "account", "returns", "other"]'


@pytest.fixture
def gate_project(pytester: pytest.Pytester, tiny_base, tiny_adapters, tiny_examples):
    """A user project: tunegate.toml, tiny data, and the example's suite files."""
    root = pytester.path
    write_examples(root / "eval.jsonl", tiny_examples[:24])
    write_examples(root / "golden.jsonl", tiny_examples[24:40])

    def configure(macro_f1: float = 0.0, floor: float = 0.0, regression: float = 1.0,
                  extra: str = "") -> Path:
        (root / "tunegate.toml").write_text(
            f'base = "{tiny_base}"\n'
            f'production = "{tiny_adapters[1]}"\n'
            f'candidate = "{tiny_adapters[0]}"\n'
            'cache_dir = "cache"\nreport_dir = "reports"\n'
            f"{extra}"
            f"[task]\nlabels = {LABELS}\n"
            '[data]\neval = "eval.jsonl"\ngolden = "golden.jsonl"\n'
            f"[thresholds]\nmacro_f1 = {macro_f1}\nclass_f1_floor = {floor}\n"
            f"golden_max_regression = {regression}\n"
        )
        return root / "tunegate.toml"

    for name in ("conftest.py", "test_task_quality.py", "test_golden_regression.py"):
        shutil.copy(SUITES / name, root / name)
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n")
    return configure


def test_options_are_prefixed_and_grouped(pytester: pytest.Pytester):
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*tunegate release gate*", "*--tg-candidate=TG_CANDIDATE*"])
    options = [line.split()[0] for line in result.stdout.lines if line.strip().startswith("--tg")]
    assert {"--tg-candidate", "--tg-production", "--tg-base", "--tg-config",
            "--tg-report-dir", "--tg-no-cache", "--tg-seed"} <= {o.split("=")[0] for o in options}


def test_plugin_is_inert_without_tunegate_fixtures(pytester: pytest.Pytester):
    pytester.makepyfile("def test_plain():\n    assert True\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "tunegate gate results" not in result.stdout.str()


def test_passing_gate_prints_the_summary_and_writes_a_record(pytester, gate_project):
    gate_project()
    result = pytester.runpytest()
    result.assert_outcomes(passed=4, skipped=1)
    result.stdout.fnmatch_lines(["*tunegate gate results*", "*golden_regression*PASSED*",
                                 "*macro_f1*PASSED*",
                                 "*class_f1_floor*f1[[]*] (worst of 6)*PASSED*",
                                 "run record: *.json"])
    [record] = (pytester.path / "reports" / "runs").glob("*.json")
    data = json.loads(record.read_text())
    assert data["schema_version"] == 3
    assert data["passed"] is True
    assert {g["name"] for g in data["gates"]} == {"macro_f1", "class_f1_floor",
                                                  "class_no_regression", "golden_regression"}
    assert {r["role"] for r in data["references"]} >= {"production", "candidate"}


def test_failing_gate_names_value_threshold_examples_and_command(pytester, gate_project):
    gate_project(macro_f1=0.99, floor=0.99, regression=0.0)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    out = result.stdout.str()
    assert "macro_f1: FAILED" in out
    assert ">= 0.99" in out
    assert "class_f1_floor: FAILED" in out
    assert "reproduce: pytest test_task_quality.py::test_macro_f1 --tg-candidate" in out
    assert "FAILED" in out and "tunegate gate results" in out
    record = json.loads(next((pytester.path / "reports" / "runs").glob("*.json")).read_text())
    assert record["passed"] is False
    verdicts = {g["name"]: g["passed"] for g in record["gates"]}
    assert verdicts["macro_f1"] is False and verdicts["class_f1_floor"] is False
    assert verdicts["class_no_regression"] is True  # recorded although it passed


def test_golden_failure_lists_flipped_examples(
    pytester, gate_project, tiny_examples, billing_adapter
):
    # Production answers 'billing' to everything and the golden set says 'billing':
    # production is right on all of it, and every answer of the base model that is
    # not 'billing' is a regression.
    config = gate_project(regression=0.0)
    config.write_text(config.read_text().replace(
        next(line for line in config.read_text().splitlines() if line.startswith("production")),
        f'production = "{billing_adapter}"',
    ))
    golden = [e.model_copy(update={"label": "billing", "reference": "billing"})
              for e in tiny_examples[24:40]]
    write_examples(pytester.path / "golden.jsonl", golden)
    result = pytester.runpytest("test_golden_regression.py", "--tg-candidate", "base")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    out = result.stdout.str()
    assert "golden_regression: FAILED" in out
    assert re.search(r"reference_correct +16\b", out)
    assert re.search(r"regressed +16\b", out)
    assert "flips (16):" in out
    assert all(e.id in out for e in golden)
    assert "reproduce: pytest test_golden_regression.py::test_golden_regression" in out
    assert "--tg-candidate base" in out


def test_finetune_fixture_trains_once_and_skips_qlora_without_cuda(pytester, gate_project):
    gate_project()
    pytester.makepyfile(test_finetune="""
        def test_lora(tg_finetune, tg_datasets, tg_session):
            first = tg_finetune("mine", tg_datasets.eval[:8], training={"max_steps": 2})
            again = tg_finetune("mine", tg_datasets.eval[:8], training={"max_steps": 2})
            assert first.adapter == again.adapter and (first.adapter / "lineage.json").is_file()
            assert tg_session.adapters.trained == 1

        def test_qlora(tg_finetune, tg_datasets):
            tg_finetune("q", tg_datasets.eval[:8], training={"load_in_4bit": True})
    """)
    result = pytester.runpytest("test_finetune.py", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*QLoRA unavailable: load_in_4bit (QLoRA) needs CUDA*"])


def test_config_error_names_file_line_and_field(pytester, gate_project):
    config = gate_project()
    config.write_text(config.read_text().replace("macro_f1 = 0.0", "macro_f1 = 3"))
    result = pytester.runpytest("test_task_quality.py")
    assert result.ret != 0
    lines = config.read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.startswith("macro_f1"))
    result.stdout.fnmatch_lines(
        [f"*tunegate.toml:{line}: thresholds.macro_f1: *less than or equal*"]
    )


def test_unknown_candidate_lists_the_variants(pytester, gate_project):
    gate_project()
    result = pytester.runpytest("test_task_quality.py", "--tg-candidate", "nonsense")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*'nonsense' is neither an adapter folder nor an example "
                                 "variant (good, production*"])


def test_no_cache_option_recomputes(pytester, gate_project):
    gate_project()
    pytester.runpytest().assert_outcomes(passed=4, skipped=1)
    cache = pytester.path / "cache" / "responses.sqlite"
    assert cache.is_file()
    stamp = cache.stat().st_mtime_ns
    pytester.runpytest("--tg-no-cache").assert_outcomes(passed=4, skipped=1)
    assert cache.stat().st_mtime_ns == stamp


# --tg-candidate / --tg-production: repeatable, TASK=SPEC for a further task

TWO_TASKS = """\
base = "example"
candidate = "good"
production = "production"
report_dir = "reports"

[task]
kind = "classification"
labels = ["billing", "other"]

[data]
eval = "eval.jsonl"

[tasks.extraction]
candidate = "extract-good"
production = "extract-production"

[tasks.extraction.task]
kind = "extraction"
json_schema = "schema.json"
exact_fields = ["category"]

[tasks.extraction.data]
eval = "x_eval.jsonl"
"""

SHOW_REFERENCES = """
from tunegate.gates import metric_floor


def test_references(tg_session):
    extraction = tg_session.for_task("extraction").config
    print(f"MAIN candidate={tg_session.config.candidate} "
          f"production={tg_session.config.production}")
    print(f"EXTRACTION candidate={extraction.candidate} production={extraction.production}")


def test_gate(tg_gate):
    tg_gate(metric_floor("accuracy", 0.1, 0.9))
"""


@pytest.fixture
def two_task_project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with a further extraction task; no model is loaded by its tests."""
    (pytester.path / "tunegate.toml").write_text(TWO_TASKS)
    pytester.makepyfile(test_refs=SHOW_REFERENCES)
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n")
    return pytester


def references_printed(result: pytest.RunResult) -> tuple[str, str]:
    """The MAIN and EXTRACTION lines the inner test printed (after pytest's progress)."""
    out = result.stdout.str()
    [main] = re.findall(r"MAIN [^\n]*", out)
    [extraction] = re.findall(r"EXTRACTION [^\n]*", out)
    return main, extraction


def reproduce_lines(result: pytest.RunResult) -> set[str]:
    return set(re.findall(r"reproduce: [^\n]*", result.stdout.str()))


def test_task_value_sets_only_that_tasks_candidate(two_task_project):
    result = two_task_project.runpytest("-s", "--tg-candidate", "extraction=some-folder")
    result.assert_outcomes(passed=1, failed=1)
    assert references_printed(result) == (
        "MAIN candidate=good production=production",
        "EXTRACTION candidate=some-folder production=extract-production",
    )
    assert reproduce_lines(result) == {
        "reproduce: pytest test_refs.py::test_gate --tg-candidate extraction=some-folder"
    }


def test_plain_value_sets_the_main_candidate(two_task_project):
    result = two_task_project.runpytest("-s", "--tg-candidate", "x")
    result.assert_outcomes(passed=1, failed=1)
    assert references_printed(result) == (
        "MAIN candidate=x production=production",
        "EXTRACTION candidate=extract-good production=extract-production",
    )


def test_both_forms_together_and_reproduced(two_task_project):
    result = two_task_project.runpytest(
        "-s", "--tg-candidate", "extraction=some-folder", "--tg-candidate", "x",
        "--tg-production", "extraction=none", "--tg-production", "prod-dir",
    )
    result.assert_outcomes(passed=1, failed=1)
    assert references_printed(result) == (
        "MAIN candidate=x production=prod-dir",
        "EXTRACTION candidate=some-folder production=none",
    )
    assert reproduce_lines(result) == {
        "reproduce: pytest test_refs.py::test_gate --tg-candidate extraction=some-folder "
        "--tg-candidate x --tg-production extraction=none --tg-production prod-dir"
    }


def test_value_for_an_unconfigured_task_is_the_main_one(two_task_project):
    result = two_task_project.runpytest("-s", "--tg-candidate", "summaries=folder")
    result.assert_outcomes(passed=1, failed=1)
    assert references_printed(result)[0] == "MAIN candidate=summaries=folder production=production"
    assert references_printed(result)[1].startswith("EXTRACTION candidate=extract-good ")


def test_backend_option_switches_the_kind_and_goes_into_the_reproduce_command(
    pytester, gate_project
):
    config = gate_project(macro_f1=0.99)
    config.write_text(config.read_text() + '[backend]\nkind = "vllm"\nbatch_size = 7\n'
                      "[backend.vllm]\nmax_loras = 3\n")
    pytester.makepyfile(test_kind="""
        def test_kind(tg_config):
            assert tg_config.backend.kind == "transformers"
            assert tg_config.backend.batch_size == 7  # the rest of the table is kept
            assert tg_config.backend.vllm is None     # configures vLLM only
    """)
    result = pytester.runpytest("--tg-backend", "transformers")
    result.assert_outcomes(passed=4, failed=1, skipped=1)
    assert "reproduce: pytest test_task_quality.py::test_macro_f1" in result.stdout.str()
    assert "--tg-backend transformers" in result.stdout.str()


def test_backend_option_openai_without_a_server_is_a_config_error(pytester, gate_project):
    gate_project()
    result = pytester.runpytest("test_task_quality.py", "--tg-backend", "openai")
    assert result.ret != pytest.ExitCode.OK
    assert "[backend.openai]" in result.stdout.str() + result.stderr.str()
