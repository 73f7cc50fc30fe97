"""A real adapter trained by tunegate: its lineage.json is what the registry records."""

from __future__ import annotations

import json

import pytest

from tunegate.backends._fingerprint import folder_fingerprint
from tunegate.training import AdapterStore, TrainingConfig, TrainingItem

pytest.importorskip("peft")


def test_a_trained_adapter_registers_with_its_lineage(project, tiny_base, tiny_examples) -> None:
    import peft

    items = [TrainingItem(e.messages, None, e.label or "") for e in tiny_examples[:16]]
    config = TrainingConfig(max_steps=2, batch_size=8, r=4, alpha=8)
    trained = AdapterStore(project.root / "store").get_or_train(
        str(tiny_base), "f" * 64, items, config, name="router", data_source="tickets")
    adapter = project.registry.register(trained, "router").adapter
    written = json.loads((trained / "lineage.json").read_text())
    lineage = adapter.lineage
    assert lineage.from_lineage_file and lineage.base == str(tiny_base)
    assert lineage.base_fingerprint == "f" * 64 == written["base_fingerprint"]
    assert lineage.data_sha256 == written["data_sha256"] and lineage.data_source == "tickets"
    assert lineage.training == written["training"] and lineage.training_key == written["key"]
    assert lineage.examples == 16
    assert folder_fingerprint(adapter.folder) == folder_fingerprint(trained) == adapter.sha256
    loaded = peft.PeftConfig.from_pretrained(str(adapter.folder))  # peft reads the copy
    assert loaded.r == 4
