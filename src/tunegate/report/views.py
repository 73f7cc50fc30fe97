"""What one run record shows in a report: checks, evidence, per-class F1, flips, probes.

Pure functions over a :class:`~tunegate.report.record.RunRecord`, shared by the HTML
and the Markdown report so that both say the same thing. Sections are found by gate
name (``golden_regression``, ``robustness[<family>]``, ``ood``, ``judge*``,
``capability*``) and everything else a gate recorded is shown generically, so a gate
this module does not know still explains itself.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from tunegate.report.record import ExampleRecord, GateRecord, RunRecord, TestRecord

__all__ = [
    "Check",
    "ClassF1",
    "ClassRow",
    "EvidenceBlock",
    "GateView",
    "GoldenView",
    "ProbeRow",
    "class_f1_tables",
    "evidence_blocks",
    "gate_view",
    "golden_views",
    "probe_rows",
    "unexplained_failures",
]

MAX_ROWS = 20
MAX_CELL = 160
_FLIP_COLUMNS = ("id", "expected", "reference", "candidate")  # then the rest, input last
_FAMILY = re.compile(r"^robustness\[(.+)\]$")


@dataclass(frozen=True)
class Check:
    """One thresholded metric of a gate: its value, the bound, and whether it held."""

    metric: str
    value: float | None
    threshold: float
    direction: str  # '>=', '<=' or '' when the gate did not record one
    ok: bool
    margin: float  # how far inside the bound (negative: past it); -inf without a value

    @property
    def bound(self) -> str:
        return f"{self.direction} {self.threshold:g}".strip()

    @property
    def shown(self) -> str:
        return "-" if self.value is None else f"{self.value:.4f}"


@dataclass(frozen=True)
class EvidenceBlock:
    """One evidence entry as a table (``columns``/``rows``) or as one line of ``text``."""

    title: str
    text: str = ""
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    more: int = 0  # rows left out


@dataclass(frozen=True)
class GateView:
    gate: GateRecord
    checks: list[Check]
    evidence: list[EvidenceBlock]

    @property
    def headline(self) -> Check | None:
        """The check closest to (or furthest past) its bound: what decided."""
        return min(self.checks, key=lambda c: c.margin, default=None)

    @property
    def failed_checks(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]


@dataclass(frozen=True)
class ClassRow:
    label: str
    support: int | None
    candidate: float
    reference: float | None

    @property
    def delta(self) -> float | None:
        return None if self.reference is None else self.candidate - self.reference


@dataclass(frozen=True)
class ClassF1:
    """Per-class F1 of the candidate beside its reference, for one task."""

    task: str
    reference_role: str
    rows: list[ClassRow]
    floor: float | None
    max_drop: float | None
    source: str  # where the numbers come from, said in the report


@dataclass(frozen=True)
class GoldenView:
    view: GateView
    columns: list[str]
    flips: list[list[str]]
    improved: list[str]


@dataclass(frozen=True)
class ProbeRow:
    family: str
    gate: GateRecord
    candidate: float | None
    reference: float | None
    increase: float | None
    threshold: float | None
    probes: int | None


def _checks(gate: GateRecord) -> list[Check]:
    checks = []
    for metric, threshold in gate.thresholds.items():
        if threshold is None:
            continue
        value = gate.values.get(metric)
        direction = gate.directions.get(metric, "")
        if value is None or not math.isfinite(value):
            checks.append(Check(metric, None, threshold, direction, False, -math.inf))
            continue
        margin = {"<=": threshold - value, ">=": value - threshold}.get(direction)
        if margin is None:  # no direction recorded: the gate's verdict is all we know
            margin = 0.0
        checks.append(Check(metric, value, threshold, direction,
                            margin >= 0 if direction else gate.passed, margin))
    return checks


def gate_view(gate: GateRecord) -> GateView:
    return GateView(gate, _checks(gate), evidence_blocks(gate.evidence))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def evidence_blocks(evidence: dict[str, Any]) -> list[EvidenceBlock]:
    """Every evidence entry by its shape: confusion matrix, table of rows, list, scalar."""
    blocks = []
    for key, item in evidence.items():
        if isinstance(item, dict) and {"labels", "matrix"} <= item.keys():
            labels = [_cell(label) for label in item["labels"]]
            rows = [[label, *(_cell(n) for n in row)]
                    for label, row in zip(labels, item["matrix"], strict=False)]
            blocks.append(EvidenceBlock(f"{key} (rows: true, columns: predicted)",
                                        columns=["", *labels], rows=rows))
        elif isinstance(item, list) and item and all(isinstance(r, dict) for r in item):
            columns: list[str] = []
            for row in item[:MAX_ROWS]:
                columns += [k for k in row if k not in columns]
            blocks.append(EvidenceBlock(
                f"{key} ({len(item)})", columns=columns,
                rows=[[_cell(row.get(c, "")) for c in columns] for row in item[:MAX_ROWS]],
                more=max(0, len(item) - MAX_ROWS)))
        elif isinstance(item, dict) and item and all(
                not isinstance(v, dict | list) for v in item.values()):
            blocks.append(EvidenceBlock(key, columns=["", "value"],
                                        rows=[[_cell(k), _cell(v)] for k, v in item.items()]))
        elif isinstance(item, list):
            shown = ", ".join(_cell(x) for x in item[:MAX_ROWS]) or "none"
            more = max(0, len(item) - MAX_ROWS)
            blocks.append(EvidenceBlock(f"{key} ({len(item)})", text=shown, more=more))
        else:
            blocks.append(EvidenceBlock(key, text=_cell(item)))
    return blocks


def unexplained_failures(record: RunRecord) -> list[TestRecord]:
    """Failed or erroring tests that recorded no failed gate: their message is the why."""
    explained = {gate.test for gate in record.gates if not gate.passed}
    return [test for test in record.tests
            if test.outcome in ("failed", "error") and test.nodeid not in explained]


def golden_views(record: RunRecord) -> list[GoldenView]:
    """Golden-regression gates with the examples the candidate broke and fixed."""
    views = []
    for gate in record.gates:
        if "golden_regression" not in gate.name:
            continue
        flips = [f for f in gate.evidence.get("flips", []) if isinstance(f, dict)]
        columns = [k for k in _FLIP_COLUMNS if any(k in flip for flip in flips)]
        for flip in flips:
            columns += [k for k in flip if k not in columns]
        rows = [[_cell(flip.get(c, "")) for c in columns] for flip in flips]
        improved = [str(i) for i in gate.evidence.get("improved", [])]
        views.append(GoldenView(gate_view(gate), columns, rows, improved))
    return views


def probe_rows(record: RunRecord) -> list[ProbeRow]:
    """One row per ``robustness[<family>]`` gate: candidate vs reference flip rate."""
    rows = []
    for gate in record.gates:
        match = _FAMILY.match(gate.name)
        if match is None:
            continue
        probes = gate.values.get("probes")
        threshold = gate.thresholds.get("flip_rate_increase")
        rows.append(ProbeRow(match.group(1), gate, gate.values.get("candidate_flip_rate"),
                             gate.values.get("reference_flip_rate"),
                             gate.values.get("flip_rate_increase"), threshold,
                             None if probes is None else int(probes)))
    return rows


def _task_labels(config: dict[str, Any], task: str) -> list[str] | None:
    """The classification labels configured for ``task``; None for other kinds."""
    section = config.get("task") if task == config.get("name", "main") else \
        (config.get("tasks") or {}).get(task, {}).get("task")
    if not isinstance(section, dict) or section.get("kind", "classification") != \
            "classification":
        return None
    labels = section.get("labels")
    return [str(label) for label in labels] if isinstance(labels, list) and labels else None


def class_f1_tables(record: RunRecord, split: str = "eval") -> list[ClassF1]:
    """Per-class F1, candidate vs production (else base), per classification task.

    Computed from the per-example outcomes of ``split`` on the examples both answered,
    so it does not depend on which class gates the suite runs; a record without
    outcomes falls back to the values of the ``class_f1_floor`` and
    ``class_no_regression`` gates.
    """
    floor, max_drop = _class_bounds(record)
    tables = []
    for task in dict.fromkeys(e.task for e in record.examples):
        labels = _task_labels(record.config, task)
        if labels is None:
            continue
        answered = {role: {e.id: e for e in record.examples if e.task == task
                           and e.role == role and e.split == split and e.gold is not None}
                    for role in ("candidate", "production", "base")}
        reference_role = "production" if answered["production"] else "base"
        table = _class_table(answered["candidate"], answered[reference_role], labels)
        if table:
            tables.append(ClassF1(task, reference_role, table, floor, max_drop,
                                  f"per-example outcomes of the {split} split"))
    if not tables:
        tables += _class_table_from_gates(record, floor, max_drop)
    return tables


def _class_table(candidate: dict[str, ExampleRecord], reference: dict[str, ExampleRecord],
                 labels: list[str]) -> list[ClassRow]:
    from tunegate.metrics import classification_metrics

    ids = [i for i in candidate if not reference or i in reference]
    if not ids or not {candidate[i].gold for i in ids} <= set(labels):
        return []
    truth = [str(candidate[i].gold) for i in ids]
    ours = classification_metrics(truth, [candidate[i].answer for i in ids], labels)
    theirs = (classification_metrics(truth, [reference[i].answer for i in ids], labels)
              if reference else None)
    return [ClassRow(label, ours.per_class[label].support, ours.per_class[label].f1,
                     None if theirs is None else theirs.per_class[label].f1)
            for label in labels]


def _class_bounds(record: RunRecord) -> tuple[float | None, float | None]:
    """The F1 floor and the allowed drop the gates held, else the configured ones."""
    configured = record.config.get("thresholds") or {}
    bounds: list[float | None] = [configured.get("class_f1_floor"),
                                  configured.get("class_max_drop")]
    for gate in record.gates:
        for position, name in enumerate(("class_f1_floor", "class_no_regression")):
            found = [t for t in gate.thresholds.values() if t is not None]
            if gate.name == name and found:
                bounds[position] = found[0]
    return bounds[0], bounds[1]


def _class_table_from_gates(record: RunRecord, floor: float | None,
                            max_drop: float | None) -> list[ClassF1]:
    """Candidate F1 from ``f1[<class>]``, production's from ``f1_drop[<class>]`` added."""
    gates = {gate.name: gate for gate in record.gates}
    if "class_f1_floor" not in gates:
        return []
    drops = gates["class_no_regression"].values if "class_no_regression" in gates else {}
    rows = []
    for key, value in gates["class_f1_floor"].values.items():
        match = re.fullmatch(r"f1\[(.+)\]", key)
        if match is None or value is None:
            continue
        drop = drops.get(f"f1_drop[{match.group(1)}]")
        rows.append(ClassRow(match.group(1), None, value,
                             None if drop is None else value + drop))
    return [ClassF1(str(record.config.get("name", "main")), "production", rows, floor,
                    max_drop, "the class_f1_floor and class_no_regression gates")] if rows else []
