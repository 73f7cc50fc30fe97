"""Two runs side by side: gate metric deltas, paired accuracy intervals, example flips.

``tunegate compare A B`` and the ``--compare`` section of a report both come from
:func:`compare_runs`. Gate metrics are compared wherever both runs recorded them.
Where both runs hold per-example outcomes for the same examples (same task, role,
split and id), the accuracy difference gets a paired bootstrap interval and an exact
McNemar p-value, and every example that changed from right to wrong or back is listed.
"""

from __future__ import annotations

import io
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from tunegate.report.record import ExampleRecord, GateRecord, RunRecord

__all__ = ["AccuracyDelta", "Comparison", "ExampleFlip", "MetricDelta", "compare_runs",
           "comparison_table"]

Change = Literal["regressed", "improved"]
GroupKey = tuple[str, str, str]  # (task, role, split)


@dataclass(frozen=True)
class MetricDelta:
    """One gate metric in both runs; ``better`` is None where no direction is known."""

    gate: str
    metric: str
    a: float
    b: float
    delta: float
    direction: str | None  # '>=' or '<=' of the metric's threshold in run B (or A)
    threshold: float | None
    better: bool | None


@dataclass(frozen=True)
class AccuracyDelta:
    """Accuracy of one (task, role, split) on the examples both runs answered."""

    task: str
    role: str
    split: str
    examples: int
    accuracy_a: float
    accuracy_b: float
    difference: float  # b - a
    ci_low: float
    ci_high: float
    confidence: float
    p_value: float  # exact McNemar, two-sided
    regressed: int  # right in A, wrong in B
    improved: int


@dataclass(frozen=True)
class ExampleFlip:
    """An example right in one run and wrong in the other."""

    task: str
    role: str
    split: str
    id: str
    gold: str | None
    answer_a: str
    answer_b: str
    change: Change


@dataclass
class Comparison:
    """Run B compared with run A (deltas are B − A)."""

    run_a: str
    run_b: str
    passed_a: bool
    passed_b: bool
    metrics: list[MetricDelta] = field(default_factory=list)
    accuracy: list[AccuracyDelta] = field(default_factory=list)
    flips: list[ExampleFlip] = field(default_factory=list)
    verdict_changes: list[tuple[str, str, str]] = field(default_factory=list)
    only_in_a: list[str] = field(default_factory=list)  # gate names
    only_in_b: list[str] = field(default_factory=list)
    resamples: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (``--json``)."""
        data = asdict(self)
        data["verdict_changes"] = [{"gate": g, "a": a, "b": b}
                                   for g, a, b in self.verdict_changes]
        return data

    def flips_of(self, change: Change) -> list[ExampleFlip]:
        return [flip for flip in self.flips if flip.change == change]


def compare_runs(a: RunRecord, b: RunRecord, *, resamples: int = 2000,
                 confidence: float = 0.95, seed: int = 0) -> Comparison:
    """Compare run ``b`` with run ``a``: every shared gate metric, every shared example."""
    gates_a, gates_b = _gates_by_name(a), _gates_by_name(b)
    comparison = Comparison(
        a.run_id, b.run_id, a.passed, b.passed, resamples=resamples,
        only_in_a=[name for name in gates_a if name not in gates_b],
        only_in_b=[name for name in gates_b if name not in gates_a],
    )
    for name, gate_b in gates_b.items():
        gate_a = gates_a.get(name)
        if gate_a is None:
            continue
        if gate_a.status != gate_b.status:
            comparison.verdict_changes.append((name, gate_a.status, gate_b.status))
        comparison.metrics += _metric_deltas(gate_a, gate_b)
    outcomes_a, outcomes_b = _outcomes(a.examples), _outcomes(b.examples)
    for key in sorted(outcomes_a.keys() & outcomes_b.keys()):
        shared = [i for i in outcomes_b[key] if i in outcomes_a[key]]
        if not shared:
            continue
        pairs = [(outcomes_a[key][i], outcomes_b[key][i]) for i in shared]
        comparison.accuracy.append(_accuracy_delta(key, pairs, resamples, confidence, seed))
        comparison.flips += _flips(key, pairs)
    return comparison


def _gates_by_name(record: RunRecord) -> dict[str, GateRecord]:
    """Gates by name; a name recorded twice keeps its last result."""
    return {gate.name: gate for gate in record.gates}


def _metric_deltas(a: GateRecord, b: GateRecord) -> list[MetricDelta]:
    deltas = []
    for metric, value_b in b.values.items():
        value_a = a.values.get(metric)
        if value_a is None or value_b is None or not (math.isfinite(value_a)
                                                      and math.isfinite(value_b)):
            continue
        direction = b.directions.get(metric) or a.directions.get(metric)
        delta = value_b - value_a
        better = None if direction is None or delta == 0 else (delta > 0) == (direction == ">=")
        deltas.append(MetricDelta(b.name, metric, value_a, value_b, delta, direction,
                                  b.thresholds.get(metric), better))
    return deltas


def _outcomes(examples: list[ExampleRecord]) -> dict[GroupKey, dict[str, ExampleRecord]]:
    """Examples with a gold answer, by (task, role, split) and id."""
    groups: dict[GroupKey, dict[str, ExampleRecord]] = {}
    for example in examples:
        if example.correct is not None:
            groups.setdefault((example.task, example.role, example.split), {})[example.id] = \
                example
    return groups


def _accuracy_delta(key: GroupKey, pairs: list[tuple[ExampleRecord, ExampleRecord]],
                    resamples: int, confidence: float, seed: int) -> AccuracyDelta:
    """Paired bootstrap interval and McNemar p-value of accuracy(B) − accuracy(A)."""
    from tunegate.metrics import mcnemar_exact, paired_bootstrap

    right_a = [bool(x.correct) for x, _ in pairs]
    right_b = [bool(y.correct) for _, y in pairs]
    test = mcnemar_exact(right_a, right_b)
    difference = (sum(right_b) - sum(right_a)) / len(pairs)
    low = high = difference
    if test.regressed + test.improved:  # no discordant pair: the difference is exactly 0
        interval = paired_bootstrap([float(x) for x in right_a], [float(y) for y in right_b],
                                    resamples=resamples, confidence=confidence, seed=seed)
        low, high = interval.low, interval.high
    return AccuracyDelta(*key, examples=len(pairs), accuracy_a=sum(right_a) / len(pairs),
                         accuracy_b=sum(right_b) / len(pairs), difference=difference,
                         ci_low=low, ci_high=high, confidence=confidence,
                         p_value=test.p_value, regressed=test.regressed,
                         improved=test.improved)


def _flips(key: GroupKey, pairs: list[tuple[ExampleRecord, ExampleRecord]]) -> list[ExampleFlip]:
    return [ExampleFlip(*key, id=x.id, gold=y.gold, answer_a=x.answer, answer_b=y.answer,
                        change="regressed" if x.correct else "improved")
            for x, y in pairs if x.correct != y.correct]


def comparison_table(comparison: Comparison, *, max_flips: int = 50,
                     markup: bool = False, width: int = 140) -> str:
    """The comparison as rich tables (metrics, accuracy, flips) rendered to text."""
    from rich.console import Console
    from rich.markup import escape

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=markup, no_color=not markup,
                      highlight=False)
    verdict = {True: "[green]passed[/]", False: "[bold red]failed[/]"}
    console.print(f"A {comparison.run_a} ({verdict[comparison.passed_a]})  ->  "
                  f"B {comparison.run_b} ({verdict[comparison.passed_b]})", soft_wrap=True)
    console.print(_metrics_table(comparison))
    if comparison.accuracy:
        console.print(_accuracy_table(comparison))
    changes: tuple[Change, ...] = ("regressed", "improved")
    for change in changes:
        flips = comparison.flips_of(change)
        if flips:
            console.print(_flips_table(flips, change, max_flips))
    for label, names in (("only in A", comparison.only_in_a), ("only in B", comparison.only_in_b)):
        if names:
            console.print(f"gates {label}: {escape(', '.join(names))}", soft_wrap=True)
    return buffer.getvalue()


def _metrics_table(comparison: Comparison) -> Any:
    from rich.markup import escape
    from rich.table import Table

    changed = {gate: f"{a} -> {b}" for gate, a, b in comparison.verdict_changes}
    table = Table(title="gate metrics (B − A)", show_edge=False, pad_edge=False)
    for column in ("gate", "metric", "A", "B", "delta", "threshold", "verdict"):
        table.add_column(column, justify="right" if column in {"A", "B", "delta"} else "left")
    for d in comparison.metrics:
        style = {True: "green", False: "red", None: ""}[d.better]
        delta = f"[{style}]{d.delta:+.4f}[/]" if style else f"{d.delta:+.4f}"
        threshold = f"{d.direction or ''} {d.threshold:g}".strip() if d.threshold is not None \
            else ""
        table.add_row(escape(d.gate), escape(d.metric), f"{d.a:.4f}", f"{d.b:.4f}", delta,
                      escape(threshold), escape(changed.get(d.gate, "")))
    return table


def _accuracy_table(comparison: Comparison) -> Any:
    from rich.markup import escape
    from rich.table import Table

    level = round(100 * comparison.accuracy[0].confidence)
    table = Table(title=f"per-example accuracy, paired ({level}% bootstrap CI, "
                  f"{comparison.resamples} resamples; McNemar p)", show_edge=False,
                  pad_edge=False)
    for column in ("task", "role", "split", "n", "A", "B", "delta", "CI", "p", "A✓B✗",
                   "A✗B✓"):
        table.add_column(column)
    for d in comparison.accuracy:
        table.add_row(escape(d.task), escape(d.role), escape(d.split), str(d.examples),
                      f"{d.accuracy_a:.4f}", f"{d.accuracy_b:.4f}", f"{d.difference:+.4f}",
                      f"[{d.ci_low:+.4f}, {d.ci_high:+.4f}]", f"{d.p_value:.3g}",
                      str(d.regressed), str(d.improved))
    return table


def _flips_table(flips: list[ExampleFlip], change: str, max_flips: int) -> Any:
    from rich.markup import escape
    from rich.table import Table

    title = ("right in A, wrong in B" if change == "regressed" else "wrong in A, right in B")
    more = f", first {max_flips} shown" if len(flips) > max_flips else ""
    table = Table(title=f"{len(flips)} examples {title}{more}", show_edge=False,
                  pad_edge=False)
    for column in ("task", "role", "split", "id", "gold", "answer A", "answer B"):
        table.add_column(column, overflow="fold", max_width=40)
    for flip in flips[:max_flips]:
        table.add_row(*(escape(str(v)) for v in (flip.task, flip.role, flip.split, flip.id,
                                                  flip.gold or "", flip.answer_a,
                                                  flip.answer_b)))
    return table
