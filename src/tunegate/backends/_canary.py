"""Canaries against silently evaluating the wrong model.

Peer tools have evaluated the bare base model in place of a LoRA without a word.
Before an adapter's numbers count, it must fit the base it is attached to and it
must change what the model computes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class AdapterMismatchError(RuntimeError):
    """The adapter was trained for another base model (name, fingerprint or shapes)."""


class AdapterNoOpError(RuntimeError):
    """The adapter changes nothing: its outputs equal the base model's."""


def read_adapter_config(folder: Path) -> dict[str, Any]:
    path = folder / "adapter_config.json"
    if not path.is_file():
        raise AdapterMismatchError(f"{folder}: no adapter_config.json, not a peft adapter")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def check_adapter_fits(
    folder: Path, base_folder: Path, base_fingerprint: str, model: Any
) -> None:
    """Refuse an adapter whose recorded base differs from the loaded one.

    Evidence, strongest first: the base fingerprint in tunegate's lineage.json; the
    base model name in adapter_config.json. Shapes are checked by peft when loading.
    """
    config = read_adapter_config(folder)
    lineage = folder / "lineage.json"
    if lineage.is_file():
        recorded = json.loads(lineage.read_text()).get("base_fingerprint")
        if recorded and recorded != base_fingerprint:
            raise AdapterMismatchError(
                f"{folder}: trained on base {recorded[:12]}, but the loaded base "
                f"{base_folder} is {base_fingerprint[:12]}"
            )
        return
    trained_on = str(config.get("base_model_name_or_path") or "")
    loaded = {base_folder.name.lower(), str(getattr(model, "name_or_path", "")).lower()}
    loaded |= {Path(name).name for name in loaded}
    if trained_on and Path(trained_on).name.lower() not in loaded:
        raise AdapterMismatchError(
            f"{folder}: adapter_config.json says base_model_name_or_path={trained_on!r}, "
            f"but the loaded base is {base_folder}"
        )


def check_adapter_changes_output(folder: Path, peft_model: Any, probe: Any) -> None:
    """Fail when the active adapter's logits equal the base's on a probe batch."""
    import torch

    with torch.inference_mode():
        adapted = peft_model(**probe).logits
        with peft_model.disable_adapter():
            base = peft_model(**probe).logits
    difference = float((adapted - base).abs().max())
    if difference <= 1e-6:
        raise AdapterNoOpError(
            f"{folder}: the adapter does not change the model's output (max logit "
            f"difference {difference:.1e} on a probe batch); it is untrained, or its "
            "target modules are not in this base model"
        )
