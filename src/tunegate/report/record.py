"""The run record: one versioned JSON document per gate run.

Reports and promotion read run records, never pytest internals.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

import tunegate

if TYPE_CHECKING:
    from tunegate.session import GateSession

SCHEMA_VERSION = 1


class ReferenceRecord(BaseModel):
    role: str
    base: str
    adapter: str | None
    fingerprint: str | None


class GateRecord(BaseModel):
    test: str
    name: str
    passed: bool
    status: str
    values: dict[str, float | None]
    thresholds: dict[str, float | None]
    reason: str = ""
    error: str | None = None
    evidence: dict[str, Any] = Field(default_factory=dict)


class RunRecord(BaseModel):
    """Everything needed to tell later what was gated, how, and with what verdict."""

    schema_version: int = SCHEMA_VERSION
    run_id: str
    started: str
    finished: str
    exit_status: int
    passed: bool
    seed: int
    config: dict[str, Any]
    references: list[ReferenceRecord]
    gates: list[GateRecord]
    environment: dict[str, str]


def build_run_record(session: GateSession, exit_status: int) -> RunRecord:
    refs = []
    for role in ("base", "production", "candidate"):
        ref = session.__dict__.get(role)  # only references the run actually resolved
        if ref is None:
            continue
        fingerprint = session.backend.fingerprint(ref) if "backend" in session.__dict__ else None
        refs.append(ReferenceRecord(
            role=role, base=ref.base, adapter=str(ref.adapter) if ref.adapter else None,
            fingerprint=fingerprint,
        ))
    gates = [GateRecord(test=where, **_gate_fields(r.to_dict())) for where, r in session.results]
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return RunRecord(
        run_id=time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3),
        started=session.started, finished=now, exit_status=exit_status,
        passed=exit_status == 0 and all(g.passed for g in gates), seed=session.config.seed,
        config=session.config.model_dump(mode="json"), references=refs, gates=gates,
        environment={"python": platform.python_version(), "tunegate": tunegate.__version__,
                     "platform": platform.platform()},
    )


def _gate_fields(data: dict[str, Any]) -> dict[str, Any]:
    keep = ("name", "passed", "status", "values", "thresholds", "reason", "error", "evidence")
    return {key: data[key] for key in keep}


def write_run_record(session: GateSession, exit_status: int) -> Path:
    """Write the record atomically into ``<report_dir>/runs/`` and return its path."""
    record = build_run_record(session, exit_status)
    folder = session.config.resolve(session.config.report_dir) / "runs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{record.run_id}.json"
    handle, scratch = tempfile.mkstemp(dir=folder, prefix=".run-", suffix=".json")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(record.model_dump_json(indent=2))
    os.replace(scratch, path)
    session.record_path = path
    return path


def read_run_record(path: Path) -> RunRecord:
    return RunRecord.model_validate(json.loads(path.read_text(encoding="utf-8")))
