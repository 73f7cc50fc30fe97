"""The short table of gate results printed at the end of a pytest run."""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tunegate.session import GateSession

_STYLE = {"PASSED": "green", "FAILED": "bold red", "NOT EVALUATED": "bold yellow"}


def gate_table(session: GateSession) -> str:
    """A rich table (gate, test, value, threshold, verdict) rendered to text."""
    from rich.console import Console
    from rich.table import Table

    table = Table(show_edge=False, pad_edge=False)
    for column in ("gate", "test", "value", "threshold", "verdict"):
        table.add_column(column)
    for where, result in session.results:
        values, thresholds = [], []
        for key, threshold in result.thresholds.items():
            value = result.values.get(key)
            values.append(f"{key}={value:.4f}" if isinstance(value, float) else f"{key}=-")
            thresholds.append(f"{result.directions.get(key, '')} {threshold:g}".strip())
        test = where.split("::")[-1]
        status = result.status
        table.add_row(
            result.name, test, "\n".join(values), "\n".join(thresholds),
            f"[{_STYLE[status]}]{status}[/]",
        )
    buffer = io.StringIO()
    color = os.environ.get("NO_COLOR") is None and not os.environ.get("CI")
    console = Console(file=buffer, width=120, force_terminal=color, no_color=not color)
    console.print(table)
    if session.record_path is not None:
        console.print(f"run record: {session.record_path}")
    return buffer.getvalue()
