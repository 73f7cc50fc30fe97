"""The verdict of one gate, with everything needed to explain and record it.

A :class:`GateResult` carries the measured values, the thresholds they were held to,
the evidence (per-example diffs, confusion matrix, ...) and the verdict. Suites call
:meth:`GateResult.check`; the plugin records :meth:`GateResult.to_dict` whether the
gate passed or not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

Direction = Literal[">=", "<="]
"""How a value must relate to its threshold for the gate to pass."""

MAX_ROWS = 20
"""Evidence rows shown by :meth:`GateResult.explain`; the rest are counted, not shown."""

MAX_CELL = 70
"""Characters shown of one evidence cell (an input, an answer) before truncation."""

_DIRECTIONS: frozenset[str] = frozenset({">=", "<="})


@dataclass
class GateResult:
    """Name, verdict, values vs thresholds, and the evidence behind the verdict.

    ``error`` is set when the gate could not be evaluated (missing data, NaN scores);
    such a gate never passes. ``directions`` says, per threshold, whether the value
    must be ``>=`` or ``<=`` it; it is used to explain, never to decide.
    """

    name: str
    passed: bool
    values: dict[str, float]
    thresholds: dict[str, float]
    evidence: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    error: str | None = None
    directions: dict[str, Direction] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.error is not None and self.passed:
            raise ValueError(f"gate {self.name!r}: a gate with an error cannot pass")
        unknown = sorted(set(self.directions) - set(self.thresholds))
        if unknown:
            raise ValueError(f"gate {self.name!r}: directions for unknown thresholds {unknown}")
        bad = {k: v for k, v in self.directions.items() if v not in _DIRECTIONS}
        if bad:
            raise ValueError(f"gate {self.name!r}: directions must be '>=' or '<=', got {bad}")

    @property
    def status(self) -> str:
        """``PASSED``, ``FAILED`` or ``NOT EVALUATED``."""
        if self.error is not None:
            return "NOT EVALUATED"
        return "PASSED" if self.passed else "FAILED"

    def explain(self) -> str:
        """A compact multi-line explanation: verdict, values vs thresholds, evidence."""
        summary = self.reason or self.error or ""
        if self.error is not None and self.reason and self.error != self.reason:
            summary += f" ({self.error})"
        lines = [f"{self.name}: {self.status}" + (f" — {summary}" if summary else "")]
        lines.extend(self._value_table())
        for key, item in self.evidence.items():
            lines.extend(_render_evidence(key, item))
        return "\n".join(lines)

    def _value_table(self) -> list[str]:
        keys = [*self.values, *(k for k in self.thresholds if k not in self.values)]
        rows = []
        for key in keys:
            value = _cell(self.values[key]) if key in self.values else "-"
            threshold = ""
            if key in self.thresholds:
                direction = self.directions.get(key, "vs")
                threshold = f"{direction} {_cell(self.thresholds[key])}"
            rows.append([key, value, threshold])
        return _table(["metric", "value", "threshold"], rows) if rows else []

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form for run records; non-finite numbers become ``None``."""
        record = {
            "name": self.name,
            "passed": self.passed,
            "status": self.status,
            "values": self.values,
            "thresholds": self.thresholds,
            "directions": self.directions,
            "evidence": self.evidence,
            "reason": self.reason,
            "error": self.error,
        }
        result: dict[str, Any] = _jsonable(record)
        return result

    def check(self, command: str | None = None) -> GateResult:
        """Return self when the gate passed; otherwise raise :class:`GateFailed`.

        ``command``, when given, is the command that reproduces the failure.
        """
        if not self.passed:
            raise GateFailed(self, command=command)
        return self


class GateFailed(AssertionError):
    """A gate did not pass; the message is the gate's explanation.

    ``command`` (how to re-run just this gate) is appended when known, so a failure in
    CI says what to run locally.
    """

    def __init__(self, result: GateResult, *, command: str | None = None):
        self.result = result
        self.command = command
        message = result.explain()
        if command:
            message += f"\nreproduce: {command}"
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_gate_failed, (self.result, self.command))


def _rebuild_gate_failed(result: GateResult, command: str | None) -> GateFailed:
    return GateFailed(result, command=command)


def gate_error(
    name: str,
    reason: str,
    *,
    values: dict[str, float] | None = None,
    thresholds: dict[str, float] | None = None,
    directions: dict[str, Direction] | None = None,
    evidence: dict[str, Any] | None = None,
) -> GateResult:
    """A gate that could not be evaluated: it fails, and says why (fail closed)."""
    return GateResult(
        name=name,
        passed=False,
        values=dict(values or {}),
        thresholds=dict(thresholds or {}),
        evidence=dict(evidence or {}),
        reason=reason,
        error=reason,
        directions=dict(directions or {}),
    )


def _render_evidence(key: str, item: Any) -> list[str]:
    """Render one evidence entry by its shape: matrix, table, id list or scalar."""
    if key == "confusion" and isinstance(item, dict) and {"labels", "matrix"} <= item.keys():
        return _render_confusion(item["labels"], item["matrix"])
    if isinstance(item, list | tuple):
        if not item:
            return [f"{key}: none"]
        if all(isinstance(row, dict) for row in item):
            return [f"{key} ({len(item)}):", *_render_rows(item)]
        shown = ", ".join(_cell(x) for x in item[:MAX_ROWS])
        more = f" ... and {len(item) - MAX_ROWS} more" if len(item) > MAX_ROWS else ""
        return [f"{key} ({len(item)}): {shown}{more}"]
    if isinstance(item, dict):
        return [f"{key}: " + ", ".join(f"{k}={_cell(v)}" for k, v in item.items())]
    return [f"{key}: {_cell(item)}"]


def _render_rows(rows: list[dict[str, Any]] | tuple[dict[str, Any], ...]) -> list[str]:
    """Up to MAX_ROWS dicts as an aligned table, columns in first-seen key order."""
    headers: list[str] = []
    for row in rows[:MAX_ROWS]:
        headers.extend(k for k in row if k not in headers)
    body = [[_cell(row.get(h)) for h in headers] for row in rows[:MAX_ROWS]]
    lines = _table(headers, body)
    if len(rows) > MAX_ROWS:
        lines.append(f"  ... and {len(rows) - MAX_ROWS} more")
    return lines


def _render_confusion(labels: list[str], matrix: list[list[int]]) -> list[str]:
    """The confusion matrix with true labels as rows and predictions as columns."""
    if len(labels) > MAX_ROWS:
        return [f"confusion: {len(labels)}x{len(labels)} matrix (see to_dict())"]
    names = [_cell(label) for label in labels]
    rows = [[name, *(str(n) for n in row)] for name, row in zip(names, matrix, strict=True)]
    return ["confusion (rows = true, columns = predicted):", *_table(["", *names], rows)]


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    """Left-aligned columns separated by two spaces, indented by two."""
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    return [
        "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    ]


def _cell(value: Any) -> str:
    """One value as a short single-line string."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4f}" if math.isfinite(value) else str(value)
    text = str(value).replace("\r", "\\r").replace("\n", "\\n")
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 3] + "..."


def _jsonable(value: Any) -> Any:
    """Deep copy made of JSON types only (tuples become lists, NaN/inf become None)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | int):
        return value
    return str(value)
