"""Rubrics: what the judge is told, and the JSON Schema its verdict must match.

A rubric is a TOML file (evals/rubrics/NAME.toml) with ``name``, ``kind``
(``pointwise``: a score and a reason; ``pairwise``: a winner and a reason),
``instructions`` and ``verdict_schema`` (JSON Schema as JSON text, so it is copied
verbatim from or to any other tool). One parser, checked when loaded, before any
judge is called.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

RubricKind = Literal["pointwise", "pairwise"]
VERDICT_KEY: dict[str, str] = {"pointwise": "score", "pairwise": "winner"}
PAIRWISE_WINNERS = ("A", "B", "tie")


class RubricError(ValueError):
    """A rubric file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class Rubric:
    """A judge's instructions and the schema of its verdict."""

    name: str
    kind: RubricKind
    instructions: str
    verdict_schema: dict[str, Any]

    @property
    def verdict_key(self) -> str:
        """``score`` for pointwise rubrics, ``winner`` for pairwise ones."""
        return VERDICT_KEY[self.kind]


def load_rubric(path: str | Path) -> Rubric:
    """Read and check a rubric file; raise :class:`RubricError` naming what is wrong."""
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RubricError(f"{path}: cannot read the rubric ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise RubricError(f"{path}: {exc}") from None
    return rubric_from_dict(document, where=str(path))


def rubric_from_dict(document: dict[str, Any], where: str = "<rubric>") -> Rubric:
    """A rubric from its parsed fields (a TOML document, or a dict in a test)."""
    unknown = sorted(set(document) - {"name", "kind", "instructions", "verdict_schema"})
    if unknown:
        raise RubricError(f"{where}: unknown field(s) {', '.join(unknown)}")
    for field in ("name", "kind", "instructions", "verdict_schema"):
        if not isinstance(document.get(field), str) or not document[field].strip():
            raise RubricError(f"{where}: {field}: required, a non-empty string")
    kind = document["kind"]
    if kind not in VERDICT_KEY:
        raise RubricError(f"{where}: kind: must be 'pointwise' or 'pairwise', got {kind!r}")
    try:
        schema = json.loads(document["verdict_schema"])
    except json.JSONDecodeError as exc:
        raise RubricError(f"{where}: verdict_schema: not JSON ({exc})") from None
    _check_schema(schema, kind, where)
    return Rubric(document["name"], kind, document["instructions"].strip(), schema)


def _check_schema(schema: Any, kind: str, where: str) -> None:
    """A valid JSON Schema of an object that requires the verdict key and a reason."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise RubricError(f"{where}: verdict_schema: not a valid JSON Schema "
                          f"({exc.message})") from None
    required = set(schema.get("required", ())) if isinstance(schema, dict) else set()
    key = VERDICT_KEY[kind]
    if schema.get("type") != "object" or not {key, "reason"} <= required:
        raise RubricError(f"{where}: verdict_schema: a {kind} verdict must be an object "
                          f"that requires '{key}' and 'reason'")
    prop = schema.get("properties", {}).get(key, {})
    if kind == "pointwise" and prop.get("type") != "integer":
        raise RubricError(f"{where}: verdict_schema: 'score' must be of type integer")
    if kind == "pairwise" and not set(prop.get("enum", ())) <= set(PAIRWISE_WINNERS):
        raise RubricError(f"{where}: verdict_schema: 'winner' must be an enum of "
                          f"{', '.join(PAIRWISE_WINNERS)}")
    if kind == "pairwise" and not prop.get("enum"):
        raise RubricError(f"{where}: verdict_schema: 'winner' needs an enum of A, B, tie")
