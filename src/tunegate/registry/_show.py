"""The registry as text for the terminal: tab-separated, so it greps and cuts too."""

from __future__ import annotations

import json

from tunegate.registry._lineage import UNKNOWN
from tunegate.registry._registry import RegisteredAdapter, StageEvent
from tunegate.registry._runs import AdapterRuns

EVENT_HEADER = ("seq", "at", "from", "to", "actor", "run", "forced", "reason", "detail")


def adapter_table(adapters: list[RegisteredAdapter]) -> list[str]:
    """One line per adapter: name, stage, content hash (short), when registered."""
    lines = ["name\tstage\tsha256\tregistered"]
    lines += [f"{a.name}\t{a.stage}\t{a.sha256[:12]}\t{a.registered}" for a in adapters]
    return lines


def adapter_details(
    adapter: RegisteredAdapter, events: list[StageEvent], runs: AdapterRuns
) -> list[str]:
    """An adapter's identity, lineage, the runs that judged it, and its stage events."""
    lineage = adapter.lineage

    def known(value: object) -> str:
        if value is None:
            return UNKNOWN
        return json.dumps(value, sort_keys=True) if isinstance(value, dict) else str(value)

    lines = [
        f"name\t{adapter.name}", f"stage\t{adapter.stage}", f"sha256\t{adapter.sha256}",
        f"folder\t{adapter.folder}", f"registered\t{adapter.registered}",
        f"source\t{adapter.source}",
        f"lineage\t{'lineage.json' if lineage.from_lineage_file else 'none recorded'}",
        f"base\t{known(lineage.base)}", f"base_fingerprint\t{known(lineage.base_fingerprint)}",
        f"data_sha256\t{known(lineage.data_sha256)}",
        f"data_source\t{known(lineage.data_source)}", f"examples\t{known(lineage.examples)}",
        f"training\t{known(lineage.training)}",
    ]
    verdicts = [f"{run.run_id} ({'passed' if run.passed else 'failed'})" for run in runs.runs]
    lines.append(f"runs\t{', '.join(verdicts) or 'none'}")
    lines += [f"unreadable run record\t{problem}" for problem in runs.problems
              if problem.may_concern]
    lines.append("events")
    lines.append("\t".join(EVENT_HEADER))
    for e in events:
        lines.append("\t".join((
            str(e.seq), e.at, e.from_stage or "-", e.to_stage, e.actor, e.run_id or "-",
            "yes" if e.forced else "no", e.reason or "-", e.detail or "-",
        )))
    return lines
