"""An adapter's lineage: what it was trained from, as far as its folder tells.

Adapters trained by tunegate carry a ``lineage.json`` (see
``tunegate.training._store``); adapters from elsewhere may not, and are registered
with their lineage recorded as unknown rather than refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from tunegate.registry._errors import RegistryError

UNKNOWN = "unknown"


class Lineage(BaseModel):
    """The provenance recorded for a registered adapter; None means unknown."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    adapter_sha256: str
    from_lineage_file: bool  # whether the adapter folder carried a lineage.json
    base: str | None = None
    base_fingerprint: str | None = None
    data_sha256: str | None = None
    data_source: str | None = None
    examples: int | None = None
    training: dict[str, Any] | None = None
    training_key: str | None = None
    created: str | None = None


class _LineageFile(BaseModel):
    """The fields of a ``lineage.json`` the registry keeps; others are ignored."""

    model_config = ConfigDict(extra="ignore")

    lineage_version: int | None = None
    key: str | None = None
    base: str | None = None
    base_fingerprint: str | None = None
    data_sha256: str | None = None
    data_source: str | None = None
    examples: int | None = None
    training: dict[str, Any] | None = None
    created: str | None = None


def _json_object(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RegistryError(f"{path}: unreadable: {exc}") from None
    if not isinstance(data, dict):
        raise RegistryError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data


def read_lineage(folder: Path, adapter_sha256: str) -> Lineage:
    """The lineage of the adapter in ``folder``, from its lineage.json when present.

    Without one, the base model is still taken from peft's ``adapter_config.json``
    (``base_model_name_or_path``); everything else is unknown.
    """
    config = _json_object(folder / "adapter_config.json")
    named = config.get("base_model_name_or_path")
    base = named if isinstance(named, str) and named else None
    path = folder / "lineage.json"
    if not path.is_file():
        return Lineage(adapter_sha256=adapter_sha256, from_lineage_file=False, base=base)
    try:
        found = _LineageFile.model_validate(_json_object(path))
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        raise RegistryError(f"{path}: {field}: {error['msg']}") from None
    return Lineage(
        adapter_sha256=adapter_sha256, from_lineage_file=True,
        base=found.base or base, base_fingerprint=found.base_fingerprint,
        data_sha256=found.data_sha256, data_source=found.data_source,
        examples=found.examples, training=found.training, training_key=found.key,
        created=found.created,
    )
