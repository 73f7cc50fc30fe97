"""Promotion: an adapter reaches production only on its gate's word, or by a recorded override.

The word of the gate is the latest run record whose candidate was exactly this
adapter content: it must have passed, run the whole suite, and the suite must not
have changed since.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tunegate.registry._errors import PromotionRefused, RegistryError
from tunegate.registry._registry import RegisteredAdapter, Registry, Stage, StageEvent
from tunegate.registry._runs import runs_dir, runs_of_adapter
from tunegate.report.record import RunRecord, suite_files, suite_hash


@dataclass(frozen=True)
class PromotionCheck:
    """The gate's verdict on one adapter content going to production."""

    adapter: str
    sha256: str
    run_id: str | None  # the run that decides: the latest of this content
    blockers: list[str]  # why not; empty when cleared
    warnings: list[str]  # unreadable records that plainly concern other adapters

    @property
    def cleared(self) -> bool:
        return not self.blockers


@dataclass(frozen=True)
class Promotion:
    """What a promotion did: the events written (none when already there) and why."""

    adapter: str
    to: Stage
    events: list[StageEvent]
    check: PromotionCheck | None  # None for shadow: no gate verdict is asked for

    @property
    def forced(self) -> bool:
        return any(event.forced for event in self.events)


def current_suite_hash(suites_dir: Path) -> str:
    """The hash of the suite as it is now (what a run record's ``suite.hash`` holds)."""
    if not suites_dir.is_dir():
        raise RegistryError(f"{suites_dir}: suite folder not found (pass --suites DIR)")
    files = suite_files(suites_dir)
    if not files:
        raise RegistryError(f"{suites_dir}: no test files (*.py) in the suite folder")
    return suite_hash(files)


def check_promotion(adapter: RegisteredAdapter, report_dir: Path, suite: str) -> PromotionCheck:
    """Whether the latest run of ``adapter``'s content clears it, on the suite hash ``suite``."""
    found = runs_of_adapter(report_dir, adapter.sha256)
    blockers = [f"{problem} (it may be a run of this adapter)"
                for problem in found.problems if problem.may_concern]
    warnings = [str(problem) for problem in found.problems if not problem.may_concern]
    latest = found.latest
    if latest is None:
        blockers.append(f"no run of this adapter content (sha256 {adapter.sha256}) in "
                        f"{runs_dir(report_dir)}")
    else:
        blockers.extend(run_blockers(latest, suite))
    return PromotionCheck(adapter.name, adapter.sha256, latest.run_id if latest else None,
                          blockers, warnings)


def run_blockers(run: RunRecord, suite: str) -> list[str]:
    """Why ``run`` does not clear its candidate on the current suite ``suite``."""
    blockers = []
    failed = list(dict.fromkeys(gate.name for gate in run.gates if not gate.passed))
    if failed:
        blockers.append(f"latest run {run.run_id} failed: gates failed: {', '.join(failed)}")
    elif not run.passed:
        blockers.append(f"latest run {run.run_id} failed (pytest exit status "
                        f"{run.exit_status}; no gate failed: a test failed or errored "
                        "outside the gates)")
    if run.suite is None:
        blockers.append(f"latest run {run.run_id} recorded no suite hash: it cannot be "
                        "matched with the current suite")
        return blockers
    if not run.suite.complete:
        blockers.append(f"latest run {run.run_id} was an incomplete run (tests deselected "
                        "or only part of the suite run)")
    if run.suite.hash != suite:
        blockers.append(f"suite changed since run {run.run_id} (suite hash "
                        f"{run.suite.hash[:12]} then, {suite[:12]} now)")
    return blockers


def promote(
    registry: Registry, name: str, to: Stage, *, report_dir: Path, suites_dir: Path,
    force: bool = False, reason: str = "", actor: str | None = None,
) -> Promotion:
    """Promote ``name`` to ``to``; production asks the gate (``check_promotion``) first.

    Refused with :class:`PromotionRefused` unless cleared; ``force`` with a ``reason``
    promotes anyway and records the event as forced, with what it overrode.
    """
    if force and not reason.strip():
        raise RegistryError("a forced promotion needs a reason (--force --reason TEXT): "
                            "say why the gate is overridden")
    adapter = registry.get(name)
    if adapter.stage == to:
        return Promotion(name, to, [], None)
    check = None
    if to == "production":
        check = check_promotion(adapter, report_dir, current_suite_hash(suites_dir))
        if not check.cleared and not force:
            raise PromotionRefused(name, to, check.blockers)
    overridden = check is not None and not check.cleared
    events = registry.transition(
        name, to, run_id=check.run_id if check else None, forced=overridden,
        reason=reason.strip(), detail="overrode: " + "; ".join(check.blockers)
        if check is not None and overridden else "", actor=actor,
    )
    return Promotion(name, to, events, check)
