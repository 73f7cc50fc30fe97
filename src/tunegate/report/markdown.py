"""The Markdown summary: the report in a form a CI job summary or a PR comment shows.

GitHub-flavoured Markdown only (tables, no HTML beyond ``<sub>``), short enough for a
comment: the verdict first, then what failed and why, the flipped golden examples,
per-class F1, probe flip rates, other judged gates, and one table row per gate with a
sparkline of its trend.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tunegate.report.compare import Comparison
    from tunegate.report.decision import DecisionRow
    from tunegate.report.summary import RunReport, Trend
    from tunegate.report.views import Check

__all__ = ["decision_quality", "render_markdown", "sparkline"]

MAX_FLIPS = 20
MAX_DELTAS = 15
_BARS = "▁▂▃▄▅▆▇█"


def _cell(value: object, limit: int = 120) -> str:
    """Text safe inside a table cell: one line, pipes escaped, shortened."""
    text = " ".join(str(value).split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def _num(value: float | None, digits: int = 4) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def sparkline(values: Sequence[float | None]) -> str:
    """Unicode bars scaled between the series' minimum and maximum; gaps as a space."""
    present = [v for v in values if v is not None and math.isfinite(v)]
    if not present:
        return ""
    low, high = min(present), max(present)
    span = high - low
    return "".join(" " if v is None or not math.isfinite(v) else
                   _BARS[0 if span == 0 else round((v - low) / span * (len(_BARS) - 1))]
                   for v in values)


def render_markdown(report: RunReport) -> str:
    """The summary as Markdown text."""
    lines = _header(report)
    lines += _failures(report)
    lines += _decision(report)
    lines += _golden(report)
    lines += _classes(report)
    lines += _probes(report)
    others = [*report.named("ood", containing="abstention"), *report.named("judge", "capability")]
    if others:
        lines += ["### Abstention, judge and capability", ""]
        lines += _table(["gate", "verdict", "checks", "reason"],
                        [(v.gate.name, v.gate.status, _checks_said(v.checks), v.gate.reason)
                         for v in others])
    if report.comparison is not None:
        lines += _comparison(report.comparison)
    lines += _gates(report)
    lines.append(f"<sub>tunegate {report.version} · generated {report.generated} · "
                 f"source {_cell(report.source)} · the HTML report has the plots</sub>")
    return "\n".join(lines) + "\n"


def _decision(report: RunReport) -> list[str]:
    """The decision table: every reference's quality, latency, tokens and cost."""
    rows = report.record.decision
    if not rows:
        return []
    lines = ["### Was fine-tuning worth it", ""]
    for task in dict.fromkeys(row.task for row in rows):
        mine = [row for row in rows if row.task == task]
        currency = next((row.currency for row in mine if row.currency), None)
        cost = f"cost / 1,000 ({currency})" if currency else "cost / 1,000"
        lines += _table(
            ["task", "reference", "kind", mine[0].metric + " [95% CI]", "accuracy",
             "P50 ms", "P95 ms", "tokens / request", cost],
            [(row.task, row.reference, row.kind, decision_quality(row), _num(row.accuracy, 3),
              _num(row.latency_p50_ms, 1), _num(row.latency_p95_ms, 1),
              _num(row.tokens_per_request, 1), _num(row.cost_per_1000, 4)) for row in mine])
    return lines


def decision_quality(row: DecisionRow) -> str:
    """``0.812 [0.780, 0.840]``: the row's quality and its bootstrap interval."""
    value = _num(row.value, 3)
    if row.ci_low is None or row.ci_high is None:
        return value
    return f"{value} [{row.ci_low:.3f}, {row.ci_high:.3f}]"


def _header(report: RunReport) -> list[str]:
    record = report.record
    mark = "✅ PASSED" if record.passed else "❌ FAILED"
    config = record.config
    passed = sum(view.gate.passed for view in report.gates)
    lines = [f"## {mark} · tunegate release gate",
             "",
             f"Candidate `{config.get('candidate')}` against production "
             f"`{config.get('production')}` · run `{record.run_id}` · finished "
             f"{record.finished} · {passed} of {len(report.gates)} gates passed · "
             f"pytest exit status {record.exit_status}",
             ""]
    lines += _table(["role", "task", "adapter", "adapter sha256", "fingerprint"],
                    [(f"**{r.role}**", r.task, f"`{r.adapter or '-'}`",
                      f"`{(r.adapter_sha256 or '-')[:12]}`",
                      f"`{_short_fingerprint(r.fingerprint)}`") for r in record.references])
    return lines


def _short_fingerprint(fingerprint: str | None) -> str:
    """12 characters of each part of a base+adapter fingerprint."""
    return "+".join(part[:12] for part in (fingerprint or "-").split("+"))


def _checks_said(checks: Sequence[Check]) -> str:
    return "; ".join(f"{c.metric} {c.shown} {c.bound}{'' if c.ok else ' ✗'}" for c in checks)


def _failures(report: RunReport) -> list[str]:
    if not report.failed and not report.failed_tests:
        return []
    rows = []
    for view in report.failed:
        broken = view.failed_checks or ([view.headline] if view.headline else [])
        reason = view.gate.error or view.gate.reason
        if not broken:
            rows.append((f"**{view.gate.name}**", "", "", "", reason))
        for index, check in enumerate(broken):
            rows.append((f"**{view.gate.name}**" if index == 0 else "", check.metric,
                         check.shown, check.bound, reason if index == 0 else ""))
    lines = ["### Why it failed", ""]
    if rows:
        lines += _table(["gate", "metric", "value", "threshold", "reason"], rows)
    for test in report.failed_tests:
        lines.append(f"- `{_cell(test.nodeid)}` {test.outcome} without a gate result: "
                     f"{_cell(test.message or 'no message', 200)}")
    return lines + ([""] if report.failed_tests else [])


def _golden(report: RunReport) -> list[str]:
    lines = []
    for golden in report.golden:
        gate = golden.view.gate
        lines += [f"### Golden flips · {gate.name} {gate.status}", "", _cell(gate.reason, 300),
                  ""]
        if not golden.flips:
            lines += ["No golden example regressed.", ""]
            continue
        lines += _table(golden.columns, golden.flips[:MAX_FLIPS])
        if len(golden.flips) > MAX_FLIPS:
            lines += [f"… and {len(golden.flips) - MAX_FLIPS} more (see the HTML report)", ""]
    return lines


def _classes(report: RunReport) -> list[str]:
    lines = []
    for table in report.class_f1:
        lines += [f"### Per-class F1 · candidate vs {table.reference_role} ({table.task})", ""]
        lines += _table(["class", "support", "candidate", table.reference_role, "Δ"],
                        [(r.label, "-" if r.support is None else r.support, _num(r.candidate),
                          _num(r.reference), "-" if r.delta is None else f"{r.delta:+.4f}")
                         for r in table.rows])
    return lines


def _probes(report: RunReport) -> list[str]:
    if not report.probes:
        return []
    lines = ["### Probe flip rates", ""]
    lines += _table(["family", "candidate", "reference", "increase", "allowed", "verdict"],
                    [(r.family, _pct(r.candidate), _pct(r.reference),
                      "-" if r.increase is None else f"{r.increase:+.3f}",
                      "-" if r.threshold is None else f"{r.threshold:+.3f}", r.gate.status)
                     for r in report.probes])
    return lines


def _comparison(comparison: Comparison) -> list[str]:
    lines = [f"### Compared with run `{comparison.run_a}`", ""]
    for gate, before, after in comparison.verdict_changes:
        lines.append(f"- **{_cell(gate)}**: {before} → {after}")
    moved = sorted((d for d in comparison.metrics if d.delta != 0),
                   key=lambda d: (d.better is not False, -abs(d.delta)))
    if comparison.verdict_changes:
        lines.append("")
    if moved:
        lines += _table(["gate", "metric", "then", "now", "Δ"],
                        [(d.gate, d.metric, _num(d.a), _num(d.b),
                          f"{d.delta:+.4f}" + {True: " ↑", False: " ↓", None: ""}[d.better])
                         for d in moved[:MAX_DELTAS]])
    if comparison.accuracy:
        lines += _table(["task · role · split", "n", "Δ accuracy", "95% CI", "broke", "fixed"],
                        [(f"{d.task} · {d.role} · {d.split}", d.examples,
                          f"{d.difference:+.4f}", f"[{d.ci_low:+.4f}, {d.ci_high:+.4f}]",
                          d.regressed, d.improved) for d in comparison.accuracy])
    return lines


def _gates(report: RunReport) -> list[str]:
    rows = []
    for view in report.gates:
        head = view.headline
        trend = report.trend_of(view.gate.name)
        rows.append((("✅ " if view.gate.passed else "❌ ") + view.gate.name,
                     head.metric if head else "", head.shown if head else "",
                     head.bound if head else "", _trend_said(trend, head)))
    count = len(report.trends[0].run_ids) if report.trends else 0
    header = ["gate", "metric", "value", "threshold", f"trend (last {count})"]
    return ["### All gates", "", *_table(header, rows)]


def _trend_said(trend: Trend | None, head: Check | None) -> str:
    """The headline metric's sparkline and its change since the previous point."""
    if trend is None or head is None:
        return ""
    series = next((m for m in trend.metrics if m.metric == head.metric), None)
    if series is None:
        return ""
    said = sparkline(series.values)
    earlier = [v for v in series.values[:-1] if v is not None]
    if earlier and series.values[-1] is not None:
        said += f" {series.values[-1] - earlier[-1]:+.4f}"
    return f"`{said}`" if said.strip() else ""
