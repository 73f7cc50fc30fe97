"""The HTML report from a real history (SQLite) and a real runs folder, through the CLI."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tunegate.cli import main
from tunegate.data import write_text_atomic
from tunegate.report.html import render_html
from tunegate.report.sources import HistorySource
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


@pytest.fixture
def nightly(tmp_path: Path) -> Path:
    """A history of six nights; the last candidate is degraded."""
    return samples.history(tmp_path / "history.sqlite", samples.nights(6))


def report_html(db: Path, out: Path, *extra: str) -> str:
    assert main(["report", "--history", str(db), "--out", str(out), *extra]) == 0
    return (out / "report.html").read_text(encoding="utf-8")


def plot_of(html: str, gate: str) -> str:
    """The trend plot element of a gate (its ``<div class="plot" id="trend-...">``)."""
    start = html.index(f'id="trend-{gate}"')
    return html[start: html.index("</svg>", start)]


def test_verdict_failed_gates_and_reasons(nightly, tmp_path, capsys):
    html = report_html(nightly, tmp_path / "out")
    assert "html\t" in capsys.readouterr().out
    newest = samples.nights(6)[-1]
    assert f"<title>tunegate report · {newest.run_id} · FAILED</title>" in html
    failed = html[html.index('id="failed"'):html.index('id="classes"')]
    for name in ("golden_regression", "macro_f1"):
        assert f'id="gate-{name}"' in failed
    assert "macro-F1 0.6200 against minimum 0.7800" in failed
    assert re.search(r"<td>macro_f1</td><td class=\"n\">0\.6200</td><td class=\"n\">&gt;= "
                     r"0\.78</td><td>violated</td>", failed)
    # the erroring test without a gate result is named with its message
    assert "suites/test_extraction.py::test_schema" in failed
    assert "FileNotFoundError: schema.json" in failed
    # references with their content hashes
    assert "/adapters/degraded" in html and "d" * 12 in html and "p" * 12 in html


def test_golden_flips_classes_probes_ood_judge_capability(nightly, tmp_path):
    html = report_html(nightly, tmp_path / "out")
    golden = html[html.index('id="golden"'):html.index('id="probes"')]
    for flipped in samples.GOLDEN_FLIPS:
        assert f'<td class="mono">{flipped}</td>' in golden
    assert "I was charged twice | ticket golden-003" in golden
    # per-class F1 from the eval outcomes: degraded billing F1 is 0 (all sent to returns)
    classes = html[html.index('id="classes"'):html.index('id="golden"')]
    assert re.search(r"<td>billing</td><td class=\"n\">10</td><td class=\"n\">0\.0000</td>"
                     r"<td class=\"n\">0\.8889</td><td class=\"n\">-0\.8889</td>", classes)
    probes = html[html.index('id="probes"'):html.index('id="ood"')]
    assert "<td>casing</td>" in probes and "40.0%" in probes and "<svg" in probes
    assert "abstain_rate_by_group" in html[html.index('id="ood"'):]
    judged = html[html.index('id="judge"'):html.index('id="trends"')]
    assert 'id="gate-judge_scores"' in judged and 'id="gate-capability[arc_easy]"' in judged
    assert "accuracy_drop" in judged and "per_criterion" in judged


def test_trend_plot_per_key_metric_with_threshold(nightly, tmp_path):
    html = report_html(nightly, tmp_path / "out", "--last", "5")
    assert "Trends over the last 5 runs" in html
    moving = ["golden_regression", "robustness[typos]", "robustness[casing]",
              "ood_abstention", "macro_f1", "judge_scores"]
    for gate in moving:
        assert "<svg" in plot_of(html, gate), gate
    # one-metric plots name their threshold; the newest (failing) point is drawn in red
    assert "threshold ≥ 0.78" in plot_of(html, "macro_f1")
    assert "threshold ≤ 0.05" in plot_of(html, "golden_regression")
    assert "#c62828" in plot_of(html, "macro_f1")
    assert "95% CI" in plot_of(html, "golden_regression")  # the recorded interval, shaded
    # a gate whose values never moved is listed, not drawn
    assert 'id="trend-chat_format[train]"' not in html
    assert "Unchanged in all 5 runs" in html
    # failed gates come first among the plots
    assert html.index('id="trend-golden_regression"') < html.index('id="trend-robustness[typos]"')


def test_page_is_self_contained_and_plot_ids_do_not_collide(nightly, tmp_path):
    html = report_html(nightly, tmp_path / "out")
    assert "<script" not in html and "<link" not in html and " src=" not in html
    assert "url(http" not in html
    clip_ids = re.findall(r'<clipPath id="([^"]+)"', html)
    assert clip_ids and len(clip_ids) == len(set(clip_ids))
    again = report_html(nightly, tmp_path / "again")
    strip = re.compile(r"Generated \S+")  # the generation time is the only difference
    assert strip.sub("", again) == strip.sub("", html)


def test_compare_previous_shows_deltas_and_flips(nightly, tmp_path):
    html = report_html(nightly, tmp_path / "out", "--compare", "previous")
    previous = samples.nights(6)[-2].run_id
    section = html[html.index('id="compare"'):html.index('id="trends"')]
    assert f"Compared with run {previous}" in section
    assert "<b>macro_f1</b> PASSED → FAILED" in section
    assert "golden-003" in section and "golden-007" in section  # right then, wrong now
    assert "paired bootstrap" in section


def test_candidate_and_since_filters(nightly, tmp_path):
    html = report_html(nightly, tmp_path / "good", "--candidate", "good")
    assert f"{samples.nights(6)[-2].run_id} · PASSED</title>" in html
    html = report_html(nightly, tmp_path / "since", "--since", "2026-11-05")
    assert "Trends over the last 2 runs" in html


def test_nights_keep_the_last_run_of_each_day(tmp_path):
    records = [samples.night(0), samples.night(1, day=1, hour=5), samples.night(2, day=2)]
    db = samples.history(tmp_path / "h.sqlite", records)
    report = build_report(HistorySource(db), ReportOptions(nights=True))
    assert report.trends[0].run_ids == [records[1].run_id, records[2].run_id]


def test_runs_folder_and_default_output_folder(tmp_path):
    runs = samples.runs_folder(tmp_path / "reports", samples.nights(3))
    assert main(["report", "--runs", str(runs)]) == 0
    html = (tmp_path / "reports" / "report" / "report.html").read_text(encoding="utf-8")
    assert "FAILED</title>" in html and "Trends over the last 3 runs" in html
    assert (tmp_path / "reports" / "report" / "summary.md").is_file()


def test_no_runs_is_an_error_and_writes_nothing(tmp_path, capsys):
    db = samples.history(tmp_path / "empty.sqlite", [])
    out = tmp_path / "out"
    assert main(["report", "--history", str(db), "--out", str(out)]) == 2
    assert f"{db}: no runs" in capsys.readouterr().err
    assert main(["report", "--history", str(tmp_path / "missing.sqlite")]) == 2
    assert "no such history file" in capsys.readouterr().err
    samples.history(db, samples.nights(2))
    assert main(["report", "--history", str(db), "--since", "2027-01-01", "--out",
                 str(out)]) == 2
    assert "no runs finished since 2027-01-01" in capsys.readouterr().err
    assert main(["report", "--history", str(db), "--since", "yesterday"]) == 2
    assert "not an ISO date" in capsys.readouterr().err
    assert not out.exists()


def test_failed_report_leaves_the_previous_one_intact(nightly, tmp_path, capsys):
    out = tmp_path / "out"
    before = report_html(nightly, out)
    assert main(["report", "--history", str(nightly), "--out", str(out),
                 "--compare", "20990101T000000-ffffff"]) == 2
    assert "no run '20990101T000000-ffffff'" in capsys.readouterr().err
    assert (out / "report.html").read_text(encoding="utf-8") == before
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "summary.md"]


def test_report_files_are_written_atomically(tmp_path):
    target = tmp_path / "report.html"
    write_text_atomic(target, "first")
    blocker = tmp_path / "blocked"
    (blocker / "inside").mkdir(parents=True)  # os.replace cannot put a file over a folder
    with pytest.raises(OSError):
        write_text_atomic(blocker, "second")
    assert target.read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocked", "report.html"]


def test_render_without_plots_still_lists_trend_values(nightly):
    report = build_report(HistorySource(nightly), ReportOptions(last=3))
    html = render_html(report, plots=False)
    assert "<svg" not in html
    assert "macro_f1: macro_f1 0.8120 → 0.8160 → 0.6200" in html


def test_importing_the_report_modules_loads_no_plotting_or_templates():
    code = ("import tunegate.cli, tunegate.report.html, tunegate.report.markdown, "
            "tunegate.report.compare, tunegate.report.plots, tunegate.report.summary, sys\n"
            "print(' '.join(sorted(sys.modules)))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.split()
    assert not {m for m in loaded if m.split(".")[0] in ("matplotlib", "jinja2", "sklearn")}


def test_each_part_of_a_base_plus_adapter_fingerprint_is_shown(nightly, tmp_path):
    html = report_html(nightly, tmp_path / "out")
    references = html[html.index('id="references"'):html.index('id="failed"')]
    assert "b" * 12 + "+" + "c" * 12 in references  # base and candidate adapter, both
    markdown = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    assert "b" * 12 + "+" + "c" * 12 in markdown
