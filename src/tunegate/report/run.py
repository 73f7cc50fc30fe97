"""Building a run record from what a pytest run saw, in one process or in many.

Every process that runs tests (the only one, or each pytest-xdist worker) condenses
its gate session into a :class:`RunPart`; a :class:`RunTracker` in the process that
writes the record (the only one, or the xdist controller) gathers the parts and the
test reports, merges them without loss or duplication, and builds the
:class:`~tunegate.report.record.RunRecord`.
"""

from __future__ import annotations

import json
import math
import os
import platform
import secrets
import time
from collections.abc import Iterable, Sequence
from fnmatch import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

import tunegate
from tunegate.report.decision import DecisionRow, decision_rows
from tunegate.report.record import (
    ExampleRecord,
    GateRecord,
    ReferenceRecord,
    RunRecord,
    SuiteRecord,
    TestRecord,
    config_hash,
    suite_files,
    suite_hash,
)

if TYPE_CHECKING:
    import pytest

    from tunegate.session import GateSession

__all__ = ["RunPart", "RunTracker", "merge_parts", "session_part", "suite_record"]

_STAMP = "%Y-%m-%dT%H:%M:%SZ"
_MESSAGE_CHARS = 300
# Exit statuses after which not every test ran: interrupted, internal error, usage error.
_CUT_SHORT = frozenset({2, 3, 4})
_GATE_KEYS = ("name", "passed", "status", "values", "thresholds", "reason", "error",
              "evidence", "directions")


class RunPart(BaseModel):
    """What one pytest process saw of a run; JSON, so an xdist worker can send it."""

    config: dict[str, Any] | None = None  # None: the process never opened a gate session
    report_dir: str | None = None
    references: list[ReferenceRecord] = Field(default_factory=list)
    gates: list[GateRecord] = Field(default_factory=list)
    examples: list[ExampleRecord] = Field(default_factory=list)
    decision: list[DecisionRow] = Field(default_factory=list)
    collected: list[str] = Field(default_factory=list)  # node ids, in collection order
    deselected: int = 0


def session_part(
    session: GateSession | None, collected: Sequence[str] = (), deselected: int = 0
) -> RunPart:
    """Condense a gate session (and the process's collection) into a :class:`RunPart`."""
    part = RunPart(collected=list(collected), deselected=deselected)
    if session is None:
        return part
    sessions = [session, *session._tasks.values()]
    part.config = session.config.model_dump(mode="json")
    part.report_dir = str(session.config.resolve(session.config.report_dir))
    part.references = [ref for s in sessions for ref in _references(s)]
    part.gates = [GateRecord(test=where, **{k: result.to_dict()[k] for k in _GATE_KEYS})
                  for where, result in session.results]
    part.examples = [example for s in sessions for example in _examples(s)]
    part.decision = [row for s in sessions for row in decision_rows(s)]
    return part


def _references(session: GateSession) -> list[ReferenceRecord]:
    """The references this session resolved (never resolving one just to record it)."""
    from tunegate.backends._fingerprint import folder_fingerprint

    root = session.parent or session
    records = []
    for role in ("base", "production", "candidate"):
        ref = session.__dict__.get(role)
        if ref is None:
            continue
        fingerprint = root.backend.fingerprint(ref) if "backend" in root.__dict__ else None
        records.append(ReferenceRecord(
            role=role, base=ref.base, adapter=str(ref.adapter) if ref.adapter else None,
            fingerprint=fingerprint, task=session.config.name,
            adapter_sha256=folder_fingerprint(Path(ref.adapter)) if ref.adapter else None,
        ))
    for name, ref in session.__dict__.get("baselines", {}).items():
        fingerprint = root.backend.fingerprint(ref) if "backend" in root.__dict__ else None
        prompting = ref.prompting
        records.append(ReferenceRecord(
            role=name, base=ref.base, adapter=str(ref.adapter) if ref.adapter else None,
            fingerprint=fingerprint, task=session.config.name,
            adapter_sha256=folder_fingerprint(Path(ref.adapter)) if ref.adapter else None,
            prompting=f"{prompting.describe()} ({prompting.key()})" if prompting else None,
        ))
    if session.parent is None and "judge" in session.__dict__:
        records.append(_judge_reference(session))
    return records


def _judge_reference(session: GateSession) -> ReferenceRecord:
    """The judge that graded this run: its served name and, when its server answers,
    the fingerprint of what it serves (an unreachable judge is recorded without one;
    its gates already failed closed and say why)."""
    judge = session.judge
    try:
        fingerprint: str | None = judge.backend.fingerprint(judge.model)
    except Exception:  # the record must be written whatever the judge's server does
        fingerprint = None
    return ReferenceRecord(role="judge", base=judge.model.base, adapter=None,
                           fingerprint=fingerprint, task=session.config.name)


def _examples(session: GateSession) -> list[ExampleRecord]:
    """Per-example outcomes of every prediction and extraction the session computed."""
    task = session.config.name
    records = []
    for (role, _, split), predictions in session._predictions.items():
        for p in predictions.items:
            confidence = p.probabilities[predictions.labels.index(p.label)]
            records.append(ExampleRecord(
                role=role, task=task, split=split, id=p.id, gold=p.gold, answer=p.label,
                correct=None if p.gold is None else p.label == p.gold,
                confidence=confidence if math.isfinite(confidence) else None,
            ))
    fields = getattr(session.config.task, "exact_fields", ())
    for (role, _, split), extractions in session._extractions.items():
        for item in extractions.items:
            records.append(ExampleRecord(
                role=role, task=task, split=split, id=item.id,
                gold=json.dumps(item.reference, sort_keys=True, ensure_ascii=False),
                answer=item.output, correct=item.matches(fields),
            ))
    return records


def suite_record(
    rootdir: Path,
    collected: Sequence[str],
    *,
    ran_all: bool,
    deselected: int = 0,
    python_files: Sequence[str] = ("test_*.py", "*_test.py"),
    norecursedirs: Sequence[str] = (),
) -> SuiteRecord | None:
    """The suite of a run: the common folder of the collected modules, hashed.

    ``complete`` says the whole suite ran: nothing deselected, every test file under
    the folder contributed tests, and every collected test reported (``ran_all``).
    """
    modules = {(rootdir / nodeid.split("::")[0]).resolve() for nodeid in collected}
    if not modules:
        return None
    directory = Path(os.path.commonpath([m.parent for m in modules]))
    files = suite_files(directory)
    test_files = {directory / name for name in files
                  if _is_test_file(name, python_files, norecursedirs)}
    complete = ran_all and deselected == 0 and test_files <= modules
    return SuiteRecord(directory=Path(os.path.relpath(directory, rootdir)).as_posix(),
                       files=files, hash=suite_hash(files), complete=complete)


def _is_test_file(name: str, patterns: Sequence[str], norecursedirs: Sequence[str]) -> bool:
    """Whether pytest would collect the file ``name`` (POSIX, relative to the suite)."""
    *folders, base = name.split("/")
    if any(fnmatch(folder, skip) for folder in folders for skip in norecursedirs):
        return False
    return any(fnmatch(name if "/" in p else base, p) for p in patterns)


class RunTracker:
    """Gathers a run's test reports and parts, and builds its record at the end."""

    def __init__(self) -> None:
        self.started = time.strftime(_STAMP, time.gmtime())
        self._clock = time.monotonic()
        self.collected: list[str] = []
        self.deselected = 0
        self.tests: dict[str, TestRecord] = {}
        self.parts: list[RunPart] = []
        self.lost_workers: list[str] = []
        self.record_path: Path | None = None
        self.record: RunRecord | None = None  # built at the end of the run

    def add_report(self, report: pytest.TestReport) -> None:
        """Fold one phase's report (setup, call, teardown) into the test's outcome."""
        test = self.tests.setdefault(report.nodeid, TestRecord(
            nodeid=report.nodeid, outcome="passed", duration_s=0.0))
        test.duration_s += report.duration
        outcome = _phase_outcome(report)
        if outcome is None or test.outcome in ("failed", "error"):
            return
        if outcome == "passed" and test.outcome == "skipped":
            return
        test.outcome = outcome
        test.message = _message(report)

    def add_part(self, part: RunPart) -> None:
        self.parts.append(part)

    def build(self, exit_status: int, rootdir: Path, **suite_options: Any) -> RunRecord | None:
        """The run's record, or None when no process opened a gate session."""
        part = merge_parts(self.parts)
        if part.config is None:
            return None
        order = {nodeid: i for i, nodeid in enumerate(part.collected)}
        ran_all = (exit_status not in _CUT_SHORT and not self.lost_workers
                   and all(nodeid in self.tests for nodeid in part.collected))
        suite = suite_record(rootdir, part.collected, ran_all=ran_all,
                             deselected=part.deselected, **suite_options)
        tests = sorted(self.tests.values(), key=lambda t: order.get(t.nodeid, len(order)))
        gates = sorted(part.gates, key=lambda g: order.get(g.test, len(order)))
        seed = int(part.config.get("seed", 0))
        return RunRecord(
            run_id=time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3),
            started=self.started, finished=time.strftime(_STAMP, time.gmtime()),
            duration_s=round(time.monotonic() - self._clock, 3), exit_status=exit_status,
            passed=exit_status == 0 and all(g.passed for g in gates), seed=seed,
            seeds=run_seeds(seed), config=part.config, config_hash=config_hash(part.config),
            references=part.references, gates=gates, environment=environment(),
            suite=suite, tests=tests, examples=part.examples, decision=part.decision,
        )


def merge_parts(parts: Iterable[RunPart]) -> RunPart:
    """One part from many: collections united, references and examples deduplicated.

    Every xdist worker collects the whole suite and may compute the same predictions;
    each test (hence each gate result) runs on exactly one worker.
    """
    merged = RunPart()
    seen_refs: set[tuple[str, str]] = set()
    seen_examples: set[tuple[str, str, str, str]] = set()
    seen_nodes: set[str] = set()
    seen_rows: set[tuple[str, str]] = set()
    for part in parts:
        if merged.config is None and part.config is not None:
            merged.config, merged.report_dir = part.config, part.report_dir
        for ref in part.references:
            if (ref.task, ref.role) not in seen_refs:
                seen_refs.add((ref.task, ref.role))
                merged.references.append(ref)
        for example in part.examples:
            key = (example.task, example.role, example.split, example.id)
            if key not in seen_examples:
                seen_examples.add(key)
                merged.examples.append(example)
        for row in part.decision:
            if (row.task, row.reference) not in seen_rows:
                seen_rows.add((row.task, row.reference))
                merged.decision.append(row)
        merged.collected += [n for n in part.collected if n not in seen_nodes]
        seen_nodes.update(part.collected)
        merged.gates += part.gates
        merged.deselected = max(merged.deselected, part.deselected)
    return merged


def _phase_outcome(report: pytest.TestReport) -> str | None:
    """A phase's contribution: setup/teardown failures are errors; passes of them none."""
    if report.failed:
        return "failed" if report.when == "call" else "error"
    if report.skipped:
        return "skipped"
    return "passed" if report.when == "call" else None


def _message(report: pytest.TestReport) -> str:
    """The skip reason or the first line of the failure, shortened."""
    if report.passed:
        return ""
    longrepr = report.longrepr
    wasxfail = getattr(report, "wasxfail", None)
    if report.skipped and wasxfail is not None:
        text = f"xfail: {wasxfail}" if wasxfail else "xfail"
    elif isinstance(longrepr, tuple):
        text = str(longrepr[-1]).removeprefix("Skipped: ")
    else:
        crash = getattr(longrepr, "reprcrash", None)
        text = str(crash.message) if crash is not None else str(longrepr)
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= _MESSAGE_CHARS else first[: _MESSAGE_CHARS - 3] + "..."


def run_seeds(seed: int) -> dict[str, int | str]:
    """The gate seed, and PYTHONHASHSEED when set (an int, or 'random')."""
    seeds: dict[str, int | str] = {"gate": seed}
    hash_seed = os.environ.get("PYTHONHASHSEED")
    if hash_seed:
        seeds["PYTHONHASHSEED"] = int(hash_seed) if hash_seed.isdigit() else hash_seed
    return seeds


def environment() -> dict[str, str]:
    return {"python": platform.python_version(), "tunegate": tunegate.__version__,
            "platform": platform.platform()}
