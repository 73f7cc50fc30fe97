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


def test_the_json_pretraining_texts_are_chat_turns_that_never_quote_a_ticket() -> None:
    """The base practises JSON answers with the extraction's keys on made-up requests;
    a ticket of any split in its pre-training would leak the task into the base."""
    import json

    from tunegate.example import extraction, tickets
    from tunegate.example.base_model import json_chat_corpus, keyed_json_corpus

    keyed = keyed_json_corpus(0)
    assert keyed == keyed_json_corpus(0) and keyed != keyed_json_corpus(1)
    schema_keys = set(extraction.SCHEMA["required"])
    keyed_texts = set(keyed)
    for text in keyed + json_chat_corpus(0):
        system, user, assistant = text.split("\n", 2)
        assert system.startswith("system: ") and user.startswith("user: ")
        assert assistant.startswith("assistant: ") and assistant.endswith("</s>\n")
        record = json.loads(assistant.removeprefix("assistant: ").removesuffix("</s>\n"))
        if text in keyed_texts:
            assert set(record) == schema_keys
            assert record["category"] in tickets.LABELS
    task_texts = {e.text for split in (tickets.build_datasets(0), extraction.build_datasets(0))
                  for examples in split.values() for e in examples}
    pretraining = "\n".join(keyed + json_chat_corpus(0))
    assert not [t for t in task_texts if t in pretraining]
