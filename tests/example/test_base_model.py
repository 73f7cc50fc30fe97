"""The example base's cache identity: the spec and the texts it is pre-trained on."""

from __future__ import annotations

from tunegate.example.base_model import BaseModelSpec


def test_the_key_follows_the_pretraining_texts() -> None:
    spec = BaseModelSpec()
    texts = ["a ticket about a parcel", "the capital of france is paris"]
    assert spec.key(texts) == BaseModelSpec().key(list(texts))
    assert spec.key(texts) != spec.key([*texts, "one more sentence"])
    assert spec.key(texts) != spec.key(texts[::-1])
    assert spec.key(["ab", "c"]) != spec.key(["a", "bc"])  # texts are delimited
    assert spec.key(texts) != BaseModelSpec(steps=501).key(texts)
