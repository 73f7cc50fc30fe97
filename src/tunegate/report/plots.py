"""The report's plots, as inline SVG text: trends, per-class F1, probe flip rates.

matplotlib is imported inside each function (importing tunegate stays cheap), and
figures are plain ``matplotlib.figure.Figure`` objects drawn by the SVG backend: no
pyplot, so no global figure registry to close and no GUI backend to select. Text stays
text (``svg.fonttype = none``) and ids are salted per plot, so several plots can live in
one HTML page and the same input gives the same SVG.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from tunegate.report.summary import Trend, TrendMetric
    from tunegate.report.views import ClassF1, ProbeRow

__all__ = ["class_f1_svg", "flip_rate_svg", "trend_svg"]

CANDIDATE = "#1f5fae"
REFERENCE = "#9aa5b1"
PASSED = "#2e7d32"
FAILED = "#c62828"
BOUND = "#444444"
PALETTE = ("#1f5fae", "#e07b00", "#2e8b57", "#8e44ad", "#c0392b", "#16a0a0", "#7f6000",
           "#d35fa0", "#5d6d7e", "#1abc9c")
MAX_TICKS = 8


def _svg(figure: Figure, salt: str) -> str:
    """The figure as an ``<svg>`` element (no XML prolog), deterministic for ``salt``."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _figure(width: float, height: float, fixed: bool = False) -> tuple[Figure, Axes]:
    """A figure with one axes; ``fixed`` margins skip the (slow) constrained layout."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout=None if fixed else "constrained")
    if fixed:
        figure.subplots_adjust(left=0.14, right=0.98, top=0.89, bottom=0.19)
    axes = figure.add_subplot()
    axes.tick_params(labelsize=7)
    axes.grid(True, axis="y", color="#e5e5e5", linewidth=0.6)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return figure, axes


def _nan(values: Sequence[float | None]) -> list[float]:
    return [math.nan if v is None else v for v in values]


def _constant(values: Sequence[float | None]) -> float | None:
    """The one value of a series (ignoring gaps), or None when it varies or is empty."""
    found = {v for v in values if v is not None}
    return found.pop() if len(found) == 1 else None


def trend_svg(trend: Trend) -> str:
    """A gate's thresholded metrics over runs: threshold dashed, newest run highlighted."""
    figure, axes = _figure(4.4, 2.5, fixed=True)
    x = list(range(len(trend.run_ids)))
    many = len(trend.metrics) > 1
    shared = _constant([m.thresholds[-1] for m in trend.metrics]) if many else None
    for index, metric in enumerate(trend.metrics):
        color = PALETTE[index % len(PALETTE)] if many else CANDIDATE
        _plot_metric(axes, x, metric, color, label=metric.metric if many else None)
        if not many or shared is None:
            _plot_bound(axes, x, metric.thresholds, color if many else BOUND,
                        label=None if many else _bound_label(metric))
    if many and shared is not None:
        _plot_bound(axes, x, trend.metrics[0].thresholds, BOUND, label="threshold")
    if not many and trend.metrics:
        _shade_failing(axes, trend.metrics[0])
    _highlight_current(axes, trend, x)
    _run_ticks(axes, trend.finished)
    axes.set_xlim(-0.5, len(x) - 0.5)
    title = trend.gate if many or not trend.metrics else f"{trend.gate}: {trend.metrics[0].metric}"
    axes.set_title(title, fontsize=8.5, loc="left")
    axes.legend(fontsize=6, loc="best", ncols=2 if many else 1, frameon=False)
    return _svg(figure, f"trend-{trend.gate}")


def _bound_label(metric: TrendMetric) -> str:
    """'threshold ≥ 0.78' (or just 'threshold' when it changed between runs)."""
    constant = _constant(metric.thresholds)
    sign = {">=": "≥", "<=": "≤"}.get(metric.direction, "")
    return "threshold" if constant is None else f"threshold {sign} {constant:g}".replace("  ", " ")


def _plot_metric(axes: Axes, x: list[int], metric: TrendMetric, color: str,
                 label: str | None) -> None:
    axes.plot(x, _nan(metric.values), color=color, marker="o", markersize=3, linewidth=1.3,
              label=label)
    if metric.ci_low is not None and metric.ci_high is not None:
        axes.fill_between(x, _nan(metric.ci_low), _nan(metric.ci_high), color=color,
                          alpha=0.15, linewidth=0, label=None if label else "95% CI")


def _plot_bound(axes: Axes, x: list[int], thresholds: list[float | None], color: str,
                label: str | None) -> None:
    """The threshold: a horizontal line, or steps where it changed between runs."""
    constant = _constant(thresholds)
    if constant is not None:
        axes.axhline(constant, color=color, linestyle="--", linewidth=1, label=label)
    else:
        axes.step(x, _nan(thresholds), where="mid", color=color, linestyle="--", linewidth=1,
                  label=label)


def _shade_failing(axes: Axes, metric: TrendMetric) -> None:
    """Tint the side of a constant threshold where the gate fails."""
    bound = _constant(metric.thresholds)
    if bound is None or metric.direction not in (">=", "<="):
        return
    low, high = axes.get_ylim()
    low, high = min(low, bound), max(high, bound)
    span = (high - low) or 1.0
    low, high = low - 0.05 * span, high + 0.05 * span
    if metric.direction == ">=":
        axes.axhspan(low, bound, color=FAILED, alpha=0.06, linewidth=0)
    else:
        axes.axhspan(bound, high, color=FAILED, alpha=0.06, linewidth=0)
    axes.set_ylim(low, high)


def _highlight_current(axes: Axes, trend: Trend, x: list[int]) -> None:
    """The newest run: a band behind it, its points enlarged in the verdict's colour."""
    current = trend.current
    axes.axvspan(current - 0.3, current + 0.3, color="#ffe9a8", alpha=0.6, linewidth=0,
                 zorder=0)
    color = PASSED if trend.passed else FAILED
    for metric in trend.metrics:
        value = metric.values[current]
        if value is None:
            continue
        axes.scatter([x[current]], [value], s=42, color=color, edgecolors="black",
                     linewidths=0.6, zorder=5)
    if len(trend.metrics) == 1 and trend.metrics[0].values[current] is not None:
        axes.annotate(f"{trend.metrics[0].values[current]:.4g}",
                      (x[current], trend.metrics[0].values[current] or 0.0),
                      textcoords="offset points", xytext=(-6, 7), ha="right", fontsize=7,
                      color=color)


def _run_ticks(axes: Axes, finished: list[str]) -> None:
    """At most MAX_TICKS run labels (month-day, hour:minute), always the newest."""
    count = len(finished)
    step = max(1, math.ceil(count / MAX_TICKS))
    ticks = sorted({*range(count - 1, -1, -step)})
    axes.set_xticks(ticks, [f"{finished[i][5:10]}\n{finished[i][11:16]}" for i in ticks])


def _grouped_bars(axes: Axes, labels: list[str], series: list[tuple[str, list[float | None],
                  str]]) -> None:
    """Horizontal bars, one group per label, one bar per series (top to bottom)."""
    height = 0.8 / len(series)
    for index, (name, values, color) in enumerate(series):
        offsets = [i - 0.4 + height * (index + 0.5) for i in range(len(labels))]
        axes.barh(offsets, _nan(values), height=height * 0.92, color=color, label=name)
    axes.set_yticks(range(len(labels)), labels)
    axes.invert_yaxis()
    axes.grid(True, axis="x", color="#e5e5e5", linewidth=0.6)
    axes.grid(False, axis="y")


def class_f1_svg(table: ClassF1) -> str:
    """Per-class F1 bars, candidate beside its reference, with the F1 floor dashed."""
    labels = [row.label for row in table.rows]
    figure, axes = _figure(5.0, 0.5 + 0.38 * len(labels))
    series: list[tuple[str, list[float | None], str]] = [
        ("candidate", [row.candidate for row in table.rows], CANDIDATE)]
    if any(row.reference is not None for row in table.rows):
        series.append((table.reference_role, [row.reference for row in table.rows], REFERENCE))
    _grouped_bars(axes, labels, series)
    if table.floor is not None:
        axes.axvline(table.floor, color=FAILED, linestyle="--", linewidth=1,
                     label=f"floor {table.floor:g}")
    axes.set_xlim(0, 1)
    axes.set_xlabel("F1", fontsize=7)
    axes.legend(fontsize=6.5, loc="lower right", frameon=True)
    return _svg(figure, f"class-f1-{table.task}")


def flip_rate_svg(rows: Sequence[ProbeRow]) -> str:
    """Flip rate per probe family: candidate beside the reference; failed families red."""
    labels = [row.family for row in rows]
    figure, axes = _figure(5.0, 0.5 + 0.34 * len(labels))
    _grouped_bars(axes, labels, [("candidate", [row.candidate for row in rows], CANDIDATE),
                                 ("reference", [row.reference for row in rows], REFERENCE)])
    for tick, row in zip(axes.get_yticklabels(), rows, strict=True):
        tick.set_color(PASSED if row.gate.passed else FAILED)
    axes.set_xlabel("share of probes whose answer flipped", fontsize=7)
    axes.set_xlim(0, max([1e-9, *(v for r in rows for v in (r.candidate, r.reference)
                                  if v is not None)]) * 1.1)
    axes.legend(fontsize=6.5, loc="lower right")
    return _svg(figure, "flip-rates")

