"""The short table of gate results printed at the end of a pytest run."""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from tunegate.gates import GateResult
    from tunegate.report.record import GateRecord

_STYLE = {"PASSED": "green", "FAILED": "bold red", "NOT EVALUATED": "bold yellow"}


def headline(result: GateResult | GateRecord) -> tuple[str, str, str]:
    """The checked value closest to (or furthest past) its threshold: what decided."""
    worst: tuple[float, str] | None = None
    for key, threshold in result.thresholds.items():
        if threshold is None:  # a record's non-finite threshold
            continue
        value = result.values.get(key)
        if value is None or not math.isfinite(value):
            return key, "-", f"{result.directions.get(key, '')} {threshold:g}".strip()
        margin = threshold - value if result.directions.get(key) == "<=" else value - threshold
        if worst is None or margin < worst[0]:
            worst = (margin, key)
    if worst is None:
        return "", "", ""
    key = worst[1]
    checks = f" (worst of {len(result.thresholds)})" if len(result.thresholds) > 1 else ""
    limit = f"{result.directions.get(key, '')} {result.thresholds[key]:g}".strip()
    return key + checks, f"{result.values[key]:.4f}", limit


def gate_table(results: Iterable[tuple[str, GateResult | GateRecord]],
               record_path: Path | None = None, markup: bool = False) -> str:
    """A rich table (gate, test, value, threshold, verdict) rendered to text.

    ``results`` are (test node id, gate) pairs: a session's results, or the gates of a
    run record (an xdist controller holds only the workers' records).
    """
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(show_edge=False, pad_edge=False)
    for column in ("gate", "test", "metric", "value", "threshold", "verdict"):
        table.add_column(column)
    for where, result in results:
        metric, value, threshold = headline(result)
        status = result.status
        table.add_row(
            escape(result.name), escape(where.split("::")[-1]), escape(metric), value,
            escape(threshold), f"[{_STYLE[status]}]{status}[/]",
        )
    buffer = io.StringIO()
    console = Console(file=buffer, width=140, force_terminal=markup, no_color=not markup,
                      highlight=False)
    console.print(table)
    if record_path is not None:
        console.print(f"run record: {escape(str(record_path))}", soft_wrap=True)
    return buffer.getvalue()
