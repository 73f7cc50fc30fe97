"""A report's content: the newest run explained, its trends, and an optional comparison.

:func:`build_report` reads runs through a :class:`~tunegate.report.sources.RunSource`
only and returns a :class:`RunReport`, which the HTML and Markdown renderers turn into
text. A trend is drawn for every gate of the newest run that holds a metric to a
threshold, over the last N runs (or the last run of each of the last N nights).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

import tunegate
from tunegate.report.compare import Comparison, compare_runs
from tunegate.report.record import GateRecord, RunRecord, TestRecord
from tunegate.report.sources import ReportError, RunSource
from tunegate.report.views import (
    ClassF1,
    GateView,
    GoldenView,
    ProbeRow,
    class_f1_tables,
    gate_view,
    golden_views,
    probe_rows,
    unexplained_failures,
)

__all__ = ["ReportOptions", "RunReport", "Trend", "TrendMetric", "build_report"]

PREVIOUS = "previous"
"""``--compare previous``: the run before the newest one that passes the filters."""


@dataclass(frozen=True)
class ReportOptions:
    """Which runs a report covers; the CLI options of ``tunegate report``."""

    since: datetime | None = None
    candidate: str | None = None
    compare: str | None = None  # a run id, or PREVIOUS
    last: int = 10
    nights: bool = False  # one point a night (the night's last run) instead of every run


@dataclass(frozen=True)
class TrendMetric:
    """One thresholded metric over the trend's runs (None where a run lacks it)."""

    metric: str
    direction: str
    values: list[float | None]
    thresholds: list[float | None]
    ci_low: list[float | None] | None = None  # from '<metric>_ci_low' values, when recorded
    ci_high: list[float | None] | None = None


@dataclass(frozen=True)
class Trend:
    """A gate's thresholded metrics over runs, oldest first; the newest run is last."""

    gate: str
    run_ids: list[str]
    finished: list[str]
    metrics: list[TrendMetric]
    passed: bool  # the gate's verdict in the newest run

    @property
    def current(self) -> int:
        return len(self.run_ids) - 1

    @property
    def steady(self) -> bool:
        """Passed now, and every value and threshold the same in every run (2 or more):
        nothing to draw, a table row says it."""
        return self.passed and len(self.run_ids) > 1 and all(
            None not in metric.values and len(set(metric.values)) == 1
            and len(set(metric.thresholds)) == 1 for metric in self.metrics)


@dataclass
class RunReport:
    """Everything a rendered report shows, computed once."""

    record: RunRecord
    source: str
    options: ReportOptions
    gates: list[GateView]
    class_f1: list[ClassF1]
    golden: list[GoldenView]
    probes: list[ProbeRow]
    trends: list[Trend]
    comparison: Comparison | None = None
    generated: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                   time.gmtime()))
    version: str = tunegate.__version__

    @property
    def failed(self) -> list[GateView]:
        return [view for view in self.gates if not view.gate.passed]

    @property
    def failed_tests(self) -> list[TestRecord]:
        return unexplained_failures(self.record)

    def named(self, *prefixes: str, containing: str = "") -> list[GateView]:
        """Gate views whose name starts with one of ``prefixes`` (or contains ``containing``)."""
        return [view for view in self.gates if view.gate.name.startswith(prefixes)
                or (containing and containing in view.gate.name)]

    def trend_of(self, gate: str) -> Trend | None:
        return next((trend for trend in self.trends if trend.gate == gate), None)


def build_report(source: RunSource, options: ReportOptions) -> RunReport:
    """The report of the newest run that passes the filters; ReportError when none does."""
    if options.last < 1:
        raise ReportError(f"--last must be at least 1, got {options.last}")
    runs = source.run_ids(options.since, options.candidate)
    if not runs:
        raise ReportError(f"{source.location}: no runs{_filters_said(options)}")
    record = source.record(runs[0][0])
    comparison = None
    if options.compare is not None:
        comparison = compare_runs(_compared_record(source, runs, options.compare), record)
    trend_ids = _trend_runs(runs, options.last, options.nights)
    return RunReport(
        record=record, source=source.location, options=options,
        gates=[gate_view(gate) for gate in record.gates], class_f1=class_f1_tables(record),
        golden=golden_views(record), probes=probe_rows(record),
        trends=sorted((_trend(source, gate, trend_ids) for gate in _thresholded(record.gates)),
                      key=lambda trend: trend.passed),  # failed gates first, else as run
        comparison=comparison,
    )


def _filters_said(options: ReportOptions) -> str:
    said = []
    if options.since is not None:
        said.append(f"finished since {options.since.isoformat()}")
    if options.candidate is not None:
        said.append(f"of candidate {options.candidate!r}")
    return (" " + " and ".join(said)) if said else ""


def _compared_record(source: RunSource, runs: list[tuple[str, str]], run_id: str) -> RunRecord:
    if run_id == PREVIOUS:
        if len(runs) < 2:
            raise ReportError("--compare previous: there is no run before the newest one")
        run_id = runs[1][0]
    if not source.has(run_id):
        raise ReportError(f"--compare: {source.location} holds no run {run_id!r}")
    return source.record(run_id)


def _trend_runs(runs: list[tuple[str, str]], last: int, nights: bool) -> list[tuple[str, str]]:
    """The trend's runs, oldest first: the newest ``last``, or the last run of each night."""
    if nights:
        seen: set[str] = set()
        nightly = []
        for run_id, finished in runs:  # newest first: the first run seen of a day is its last
            if finished[:10] not in seen:
                seen.add(finished[:10])
                nightly.append((run_id, finished))
        runs = nightly
    return list(reversed(runs[:last]))


def _thresholded(gates: list[GateRecord]) -> list[GateRecord]:
    """Gates holding at least one metric to a threshold, each name once (first kept)."""
    chosen: dict[str, GateRecord] = {}
    for gate in gates:
        if any(t is not None for t in gate.thresholds.values()):
            chosen.setdefault(gate.name, gate)
    return list(chosen.values())


def _trend(source: RunSource, gate: GateRecord, runs: list[tuple[str, str]]) -> Trend:
    ids = [run_id for run_id, _ in runs]

    def series(metric: str) -> tuple[list[float | None], list[float | None]]:
        points = source.metric_points(gate.name, metric, ids)
        return ([points[i].value if i in points else None for i in ids],
                [points[i].threshold if i in points else None for i in ids])

    metrics = []
    for metric, threshold in gate.thresholds.items():
        if threshold is None:
            continue
        values, thresholds = series(metric)
        low = high = None
        if f"{metric}_ci_low" in gate.values and f"{metric}_ci_high" in gate.values:
            low, high = series(f"{metric}_ci_low")[0], series(f"{metric}_ci_high")[0]
        metrics.append(TrendMetric(metric, gate.directions.get(metric, ""), values, thresholds,
                                   low, high))
    return Trend(gate.name, ids, [finished for _, finished in runs], metrics, gate.passed)
