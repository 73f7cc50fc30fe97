"""The Markdown summary (CI job summary / PR comment) from a real history."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from tunegate.cli import main
from tunegate.report.markdown import render_markdown, sparkline
from tunegate.report.sources import HistorySource, RunsFolderSource
from tunegate.report.summary import ReportOptions, build_report


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


def summary(tmp_path: Path, records: list, **options: object) -> str:
    db = samples.history(tmp_path / "history.sqlite", records)
    return render_markdown(build_report(HistorySource(db), ReportOptions(**options)))


def table_row(text: str, first_cell: str) -> list[str]:
    """The cells of the table row that starts with ``first_cell``."""
    line = next(line for line in text.splitlines() if line.startswith(f"| {first_cell} |"))
    return [cell.strip() for cell in line.strip("|").split(" | ")]


def test_failed_run_summary(tmp_path):
    text = summary(tmp_path, samples.nights(4))
    newest = samples.nights(4)[-1]
    assert text.startswith("## ❌ FAILED · tunegate release gate\n")
    assert f"run `{newest.run_id}`" in text and "Candidate `degraded`" in text
    assert table_row(text, "**candidate**")[3] == "`" + "d" * 12 + "`"
    why = text[text.index("### Why it failed"):text.index("### Golden flips")]
    assert table_row(why, "**macro_f1**")[1:4] == ["macro_f1", "0.6200", ">= 0.78"]
    assert table_row(why, "**golden_regression**")[1:4] == ["regression_rate", "0.2000",
                                                            "<= 0.05"]
    assert "`suites/test_extraction.py::test_schema` error without a gate result: " \
           "FileNotFoundError: schema.json" in why
    # golden flips with their answers; a pipe inside a cell is escaped
    assert table_row(text, "golden-003")[:4] == ["golden-003", "billing", "billing", "returns"]
    assert "charged twice \\| ticket golden-003" in text
    assert table_row(text, "billing")[1:] == ["10", "0.0000", "0.8889", "-0.8889"]
    assert table_row(text, "casing")[1:3] == ["40.0%", "28.8%"]  # night 3: 0.30 - 0.012
    assert table_row(text, "capability[arc_easy]")[1] == "PASSED"
    assert table_row(text, "judge_scores")[1] == "PASSED"


def test_gate_table_has_trend_sparklines_and_last_change(tmp_path):
    text = summary(tmp_path, samples.nights(4), last=4)
    assert "| gate | metric | value | threshold | trend (last 4) |" in text
    row = table_row(text, "❌ macro_f1")
    assert row[1:4] == ["macro_f1", "0.6200", ">= 0.78"]
    assert row[4] == "`███▁ -0.1880`"  # 0.800, 0.804, 0.808 (all top bars), then 0.620
    assert table_row(text, "✅ chat_format[train]")[4] == "`▁▁▁▁ +0.0000`"


def test_passing_run_summary_and_comparison(tmp_path):
    text = summary(tmp_path, samples.nights(3, degraded_last=False), compare="previous")
    assert text.startswith("## ✅ PASSED")
    assert "### Why it failed" not in text
    assert "No golden example regressed." in text
    assert f"### Compared with run `{samples.nights(3)[-2].run_id}`" in text
    assert table_row(text, "main · candidate · eval")[1] == "40"


def test_summary_from_a_runs_folder_is_written_by_the_cli(tmp_path, capsys):
    runs = samples.runs_folder(tmp_path / "reports", samples.nights(2))
    same = render_markdown(build_report(RunsFolderSource(runs), ReportOptions()))
    assert main(["report", "--runs", str(runs), "--out", str(tmp_path / "out")]) == 0
    written = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    assert f"markdown\t{tmp_path / 'out' / 'summary.md'}" in capsys.readouterr().out
    assert written.split("<sub>")[0] == same.split("<sub>")[0]


def test_sparkline():
    assert sparkline([0.0, 0.5, 1.0, None]) == "▁▅█ "
    assert sparkline([2.0, 2.0]) == "▁▁"
    assert sparkline([None]) == ""


def test_the_decision_table_shows_every_reference_with_its_interval_latency_and_cost(tmp_path):
    from tunegate.report.decision import DecisionRow
    from tunegate.report.html import render_html

    def row(reference: str, role: str, kind: str, value: float, p95: float, tokens: float,
            cost: float) -> DecisionRow:
        return DecisionRow(task="main", reference=reference, kind=kind, role=role, n=420,
                           metric="macro_f1", value=value, ci_low=value - 0.03,
                           ci_high=value + 0.03, accuracy=value, latency_p50_ms=p95 / 2,
                           latency_p95_ms=p95, tokens_per_request=tokens,
                           cost_per_1000=cost, currency="USD")

    record = samples.night(1).model_copy(update={"decision": [
        row("4-shot", "baseline", "base, prompted 4-shot", 0.127, 1076.8, 186.5, 0.0071),
        row("candidate", "candidate", "adapter", 0.831, 110.3, 60.5, 0.0009),
    ]})
    runs = samples.runs_folder(tmp_path, [record])
    report = build_report(RunsFolderSource(runs), ReportOptions())
    text = render_markdown(report)
    table = text[text.index("### Was fine-tuning worth it"):]
    assert table_row(table, "main")[:2] == ["main", "4-shot"]
    assert table_row(table, "main")[3:] == ["0.127 [0.097, 0.157]", "0.127", "538.4", "1076.8",
                                            "186.5", "0.0071"]
    assert "cost / 1,000 (USD)" in table
    html = render_html(report, plots=False)
    assert 'id="decision"' in html and "base, prompted 4-shot" in html
    assert "0.831 [0.801, 0.861]" in html and "0.0009 USD" in html


def test_without_a_decision_table_the_section_is_left_out(tmp_path):
    text = summary(tmp_path, samples.nights(2))
    assert "Was fine-tuning worth it" not in text
