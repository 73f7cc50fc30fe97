"""Several processes at once: registrations and promotions leave one consistent state."""

from __future__ import annotations

import subprocess
import sys
import time

from tunegate.registry import StageEvent

# Each process waits for a common start time, then runs its tunegate commands in a loop.
CHILD = """
import sys, time
from tunegate.cli import main
start, rounds, args = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
while time.time() < start:
    time.sleep(0.001)
codes = [main(args) for _ in range(rounds)]
sys.exit(max(codes))
"""


def run_at_once(commands: list[list[str]], rounds: int) -> list[subprocess.CompletedProcess[str]]:
    start = time.time() + 3.0  # time for every interpreter to start and import tunegate
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, str(start), str(rounds), *command],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for command in commands]
    results = []
    for proc, command in zip(procs, commands, strict=True):
        out, err = proc.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(command, proc.returncode, out, err))
    return results


def assert_consistent(events: list[StageEvent]) -> None:
    """Every event starts where the adapter's previous event ended; seq has no gaps."""
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    stage: dict[str, str | None] = {}
    for event in events:
        assert event.from_stage == stage.get(event.adapter), event
        stage[event.adapter] = event.to_stage
    assert list(stage.values()).count("production") <= 1


def test_concurrent_registrations_into_a_new_registry(project) -> None:
    config = str(project.config_path)
    sources = [project.adapter(f"a{i}", f"weights-{i}".encode()) for i in range(4)]
    commands = [["registry", "register", str(s), "--name", f"a{i}", "--config", config]
                for i, s in enumerate(sources)]
    commands.append(commands[0])  # the same registration twice: one of them is a no-op
    for result in run_at_once(commands, rounds=2):
        assert result.returncode == 0, result.stderr
    assert sorted(a.name for a in project.registry.adapters()) == ["a0", "a1", "a2", "a3"]
    events = project.registry.events()
    assert_consistent(events)
    assert len(events) == 4 and {e.to_stage for e in events} == {"candidate"}


def test_concurrent_promotions_leave_exactly_one_in_production(project) -> None:
    config = str(project.config_path)
    names = [f"adapter-{i}" for i in range(4)]
    for name in names:
        source = project.adapter(name, name.encode())
        project.registry.register(source, name)
        project.run(source, f"run-{name}")
    commands = [["promote", name, "--to", "production", "--config", config] for name in names]
    results = run_at_once(commands, rounds=5)
    for result in results:
        assert result.returncode == 0, result.stderr
    # What the processes say they did is exactly what the log holds: nothing lost.
    printed = [line.split("\t")[:2] for r in results for line in r.stdout.splitlines()
               if "->" in line]
    events = project.registry.events()
    moves = [[e.adapter, f"{e.from_stage} -> {e.to_stage}"] for e in events if e.from_stage]
    assert sorted(printed) == sorted(moves)
    assert_consistent(events)
    promotions = [e for e in events if e.to_stage == "production"]
    assert {e.adapter for e in promotions} == set(names)  # every process got through once
    assert all(e.run_id == f"run-{e.adapter}" for e in promotions)
    retirements = [e for e in events if e.to_stage == "retired"]
    assert len(retirements) == len(promotions) - 1
    in_production = [a.name for a in project.registry.adapters() if a.stage == "production"]
    assert in_production == [promotions[-1].adapter]
    assert project.registry.production().name == promotions[-1].adapter  # type: ignore[union-attr]
