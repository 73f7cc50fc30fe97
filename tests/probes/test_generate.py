"""generate_probes: ids, labels, meta, determinism, pairing; and the public surface."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest

import tunegate.probes
from tunegate.data import Example
from tunegate.probes import FAMILIES, generate_probes, pair_with_source, probe_id, source_id


def dump(probes: list[Example]) -> str:
    return "\n".join(json.dumps(p.to_record(), ensure_ascii=False) for p in probes)


def test_public_surface() -> None:
    assert tunegate.probes.__all__ == [
        "FAMILIES", "Family", "Perturb", "Perturbation", "ProbeContext", "ProbeSet",
        "ProbeSetError", "build_probe_set", "generate_probes", "pair_with_source",
        "probe_id", "provenance_path", "source_id",
    ]
    assert list(FAMILIES) == [
        "typos", "casing", "noise", "unicode", "paraphrase", "distractor",
        "label_injection", "prompt_injection", "truncation", "overlong", "ood",
    ]


def test_importing_probes_loads_no_backend_and_no_torch() -> None:
    code = "import tunegate.probes, sys; print(' '.join(sorted(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.split()
    heavy = {"torch", "transformers", "peft", "numpy", "sklearn", "scipy"}
    assert not [m for m in loaded if m.split(".")[0] in heavy or m.startswith("tunegate.back")]


def test_one_probe_per_example_and_family(sources: list[Example]) -> None:
    probes = generate_probes(sources, seed=0)
    counts = Counter(p.meta["probe_family"] for p in probes)
    assert set(counts) == set(FAMILIES)
    assert all(counts[name] == len(sources) for name in FAMILIES if name != "paraphrase")
    assert 1 <= counts["paraphrase"] <= len(sources)
    assert len({p.id for p in probes}) == len(probes)


def test_ids_and_meta(sources: list[Example]) -> None:
    by_id = {s.id: s for s in sources}
    for probe in generate_probes(sources, seed=7):
        family = probe.meta["probe_family"]
        origin = probe.meta["probe_source_id"]
        assert probe.id == probe_id(origin, family, 1) == f"{origin}::{family}::1"
        assert probe.meta["probe_seed"] == 7
        assert source_id(probe) == origin
        assert probe.meta.get("source_meta", {}) == by_id[origin].meta
        assert probe.text != by_id[origin].text


def test_only_the_user_turn_changes(sources: list[Example]) -> None:
    by_id = {s.id: s for s in sources}
    for probe in generate_probes(sources, seed=0):
        source = by_id[source_id(probe)]
        if source.messages is None:
            assert probe.messages is None
            assert probe.prompt == probe.text
        else:
            assert probe.messages is not None
            assert probe.messages[:-1] == source.messages[:-1]
            assert probe.messages[-1].role == "user"


def test_labels_kept_except_ood(sources: list[Example]) -> None:
    by_id = {s.id: s for s in sources}
    for probe in generate_probes(sources, seed=0, abstain_label="none_of_these"):
        source = by_id[source_id(probe)]
        if probe.meta["probe_family"] == "ood":
            assert (probe.label, probe.reference) == ("none_of_these", "none_of_these")
        else:
            assert (probe.label, probe.reference) == (source.label, source.reference)
        truncated = probe.meta["probe_family"] == "truncation"
        assert probe.meta.get("label_may_be_lost", False) is truncated


def test_label_injection_uses_the_given_labels(sources: list[Example]) -> None:
    labels = ("billing", "shipping", "spam")
    probes = generate_probes(sources, ["label_injection"], labels=labels, per_example=3)
    for probe in probes:
        assert probe.meta["injected_label"] in labels
        assert probe.meta["injected_label"] != probe.label
        assert probe.meta["injected_label"] in probe.text


def test_same_seed_same_bytes_other_seed_other_probes(sources: list[Example]) -> None:
    assert dump(generate_probes(sources, seed=3)) == dump(generate_probes(sources, seed=3))
    for name in FAMILIES:
        first = [p.text for p in generate_probes(sources, [name], seed=3)]
        other = [p.text for p in generate_probes(sources, [name], seed=4)]
        assert first != other, name


def test_a_probe_does_not_depend_on_the_other_examples_or_families(
    sources: list[Example],
) -> None:
    everything = {p.id: p for p in generate_probes(sources, seed=1)}
    alone = generate_probes(sources[2:3], ["typos", "ood"], seed=1, labels=sorted(
        {s.label for s in sources if s.label}))
    assert alone and all(everything[p.id] == p for p in alone)


def test_several_probes_per_example_are_distinct(sources: list[Example]) -> None:
    probes = generate_probes(sources, ["typos", "casing"], per_example=3)
    per_source = Counter((source_id(p), p.meta["probe_family"]) for p in probes)
    assert max(per_source.values()) == 3
    for (origin, family), n in per_source.items():
        texts = {p.text for p in probes if source_id(p) == origin
                 and p.meta["probe_family"] == family}
        assert len(texts) == n
        assert {probe_id(origin, family, i) for i in range(1, n + 1)} <= {p.id for p in probes}


def test_pair_with_source(sources: list[Example]) -> None:
    probes = generate_probes(sources, ["noise"])
    pairs = pair_with_source(probes, sources)
    assert [(s.id, p.id) for s, p in pairs] == [(s.id, f"{s.id}::noise::1") for s in sources]
    with pytest.raises(KeyError, match="not among the sources"):
        pair_with_source(probes, sources[:1])
    with pytest.raises(ValueError, match="not a probe"):
        source_id(sources[0])


def test_bad_arguments_are_refused(sources: list[Example]) -> None:
    with pytest.raises(ValueError, match="unknown probe family 'typo'"):
        generate_probes(sources, ["typo"])
    with pytest.raises(ValueError, match="no probe family"):
        generate_probes(sources, [])
    with pytest.raises(ValueError, match="per_example"):
        generate_probes(sources, per_example=0)


def test_probes_round_trip_through_jsonl(sources: list[Example], tmp_path) -> None:
    from tunegate.data import load_examples, write_examples

    probes = generate_probes(sources, seed=0)
    write_examples(tmp_path / "p.jsonl", probes)
    assert load_examples(tmp_path / "p.jsonl") == probes
