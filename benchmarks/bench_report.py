"""Report generation time over a 30-run history, against baselines from the same run.

Builds a SQLite history of ``--runs`` nightly runs (default 30) from a real run record
(``--template``; default: the newest full record in ``reports/runs/``): each night gets
its own id and date, gate values moved by a few percent (verdicts recomputed from the
thresholds) and about 3 % of the candidate's per-example outcomes flipped. Then it times

- ``tunegate report --history H --last N --compare previous`` as a subprocess (cold: the
  imports included, as a CI job pays them),
- the same report in-process (warm): build, HTML with plots, Markdown, both written,
- baseline: the same report without plots (build, HTML without SVG, Markdown),
- baseline: loading the N full records from the history (``History.get``),

and prints the medians and the ratios to the baselines. A benchmark, not a test: it
always exits 0.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_report.py [--template RECORD.json]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tunegate.cli import main as tunegate_main
from tunegate.report.history import History
from tunegate.report.html import render_html
from tunegate.report.markdown import render_markdown
from tunegate.report.record import RunRecord
from tunegate.report.sources import HistorySource
from tunegate.report.summary import ReportOptions, build_report

ROOT = Path(__file__).resolve().parents[1]


def newest_full_record(folder: Path) -> Path:
    """The newest record in ``folder`` with gates and per-example outcomes."""
    for path in sorted(folder.glob("*.json"), reverse=True):
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("gates") and data.get("examples"):
            return path
    sys.exit(f"no run record with gates and examples in {folder}: run `pytest suites/` "
             "once, or pass --template")


def holds(value: float, threshold: float, direction: str | None) -> bool:
    return value <= threshold if direction == "<=" else value >= threshold


def vary_gate(gate: dict[str, Any], rng: random.Random) -> None:
    """Move every value a little (proportions stay in [0, 1]); recompute the verdict."""
    for key, value in gate["values"].items():
        if value is None or value == 0:
            continue
        moved = value * (1 + rng.gauss(0, 0.03))
        gate["values"][key] = min(1.0, max(0.0, moved)) if 0 <= value <= 1 else moved
    passed = all(gate["values"].get(k) is not None
                 and holds(gate["values"][k], t, gate["directions"].get(k))
                 for k, t in gate["thresholds"].items() if t is not None)
    if gate.get("error") is None:
        gate["passed"], gate["status"] = passed, "PASSED" if passed else "FAILED"


def vary_examples(examples: list[dict[str, Any]], rng: random.Random, share: float) -> None:
    """Flip about ``share`` of the candidate's judged outcomes (right <-> wrong)."""
    for example in examples:
        if example["role"] != "candidate" or example["correct"] is None:
            continue
        if rng.random() < share:
            example["correct"] = not example["correct"]
            example["answer"] = example["gold"] if example["correct"] else "other"


def nightly_records(template: dict[str, Any], count: int, seed: int) -> list[RunRecord]:
    """``count`` nights derived from ``template``, one day apart, oldest first."""
    rng = random.Random(seed)
    first = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)
    records = []
    for night in range(count):
        data = copy.deepcopy(template)
        when = first + timedelta(days=night)
        stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        data.update(run_id=f"{when:%Y%m%dT%H%M%S}-{night:06x}", started=stamp, finished=stamp)
        for gate in data["gates"]:
            vary_gate(gate, rng)
        vary_examples(data["examples"], rng, share=0.03)
        data["passed"] = data["exit_status"] == 0 and all(g["passed"] for g in data["gates"])
        records.append(RunRecord.model_validate(data))
    return records


def timed(run: Callable[[], object], repeats: int, warm_up: bool = True) -> list[float]:
    if warm_up:
        run()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    return seconds


def quiet(run: Callable[[list[str]], int], argv: list[str]) -> int:
    """Call ``run(argv)`` with its printed paths swallowed."""
    with contextlib.redirect_stdout(io.StringIO()):
        return run(argv)


def line(name: str, seconds: list[float], baseline: list[float] | None = None) -> None:
    median = statistics.median(seconds)
    ratio = f"  {median / statistics.median(baseline):6.1f}x the baseline" if baseline else ""
    print(f"{name:<50} median {median:7.3f} s  best {min(seconds):7.3f} s{ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", type=Path, default=None,
                        help="a full run record (default: newest in reports/runs/)")
    parser.add_argument("--runs", type=int, default=30, help="nights in the history")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each")
    parser.add_argument("--keep", type=Path, default=None,
                        help="keep the history and the report in this folder")
    args = parser.parse_args()
    template_path = args.template or newest_full_record(ROOT / "reports" / "runs")
    template = json.loads(template_path.read_text(encoding="utf-8"))
    print(f"template {template_path}: {len(template['gates'])} gates, "
          f"{len(template['examples'])} example outcomes, "
          f"{template_path.stat().st_size / 1e6:.1f} MB")
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        db, out = folder / "history.sqlite", folder / "report"
        db.unlink(missing_ok=True)
        start = time.perf_counter()
        history = History(db)
        for record in nightly_records(template, args.runs, seed=0):
            history.add(record)
        print(f"history of {args.runs} runs built in {time.perf_counter() - start:.1f} s "
              f"({db.stat().st_size / 1e6:.0f} MB)")
        report_args = ["report", "--history", str(db), "--last", str(args.runs),
                       "--compare", "previous", "--out", str(out)]
        options = ReportOptions(last=args.runs, compare="previous")
        cold = timed(lambda: subprocess.run([sys.executable, "-m", "tunegate.cli",
                                             *report_args], check=True,
                                            stdout=subprocess.DEVNULL), args.repeats,
                     warm_up=False)
        warm = timed(lambda: quiet(tunegate_main, report_args), args.repeats)
        bare = timed(lambda: render_markdown(report := build_report(HistorySource(db),
                                                                    options))
                     + render_html(report, plots=False), args.repeats)
        ids = [run.run_id for run in history.runs(limit=args.runs)]
        loading = timed(lambda: [history.get(run_id) for run_id in ids], args.repeats)
        html = (out / "report.html").read_text(encoding="utf-8")
        print(f"report.html {len(html) / 1e3:.0f} kB with {html.count('<svg')} plots, "
              f"summary.md {(out / 'summary.md').stat().st_size / 1e3:.1f} kB")
    line(f"tunegate report, subprocess (cold), {args.runs} runs", cold, bare)
    line("the same in-process (warm), HTML + Markdown", warm, bare)
    line("baseline: the same report without plots", bare)
    line(f"baseline: loading the {args.runs} records from the history", loading)
    print(f"in-process report / loading the records: "
          f"{statistics.median(warm) / statistics.median(loading):.1f}x")


if __name__ == "__main__":
    main()
