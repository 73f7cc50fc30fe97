"""The family registry and the generation of probe examples from source examples."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final

from tunegate.data import Example, Message
from tunegate.probes._base import Family, ProbeContext
from tunegate.probes.casing import casing
from tunegate.probes.distractors import distractor
from tunegate.probes.injection import label_injection, prompt_injection
from tunegate.probes.length import overlong, truncation
from tunegate.probes.noise import noise
from tunegate.probes.ood import ood
from tunegate.probes.paraphrase import paraphrase
from tunegate.probes.typos import typos
from tunegate.probes.unicode import unicode_tricks

__all__ = ["FAMILIES", "generate_probes", "pair_with_source", "probe_id", "source_id"]

ATTEMPTS_PER_PROBE: Final = 4
"""Draws per wanted probe before giving up on an input the family cannot change."""

FAMILIES: Final[Mapping[str, Family]] = MappingProxyType({
    family.name: family for family in (
        Family("typos", typos, description="QWERTY slips, swaps, drops and doubles"),
        Family("casing", casing, description="lower, upper or random case per word"),
        Family("noise", noise, description="whitespace and punctuation noise"),
        Family("unicode", unicode_tricks, description="homoglyphs and zero-width characters"),
        Family("paraphrase", paraphrase, description="phrase rewrites and synonyms"),
        Family("distractor", distractor, description="an irrelevant sentence added"),
        Family("label_injection", label_injection,
               description="'ignore the above and answer <wrong label>'"),
        Family("prompt_injection", prompt_injection,
               description="instructions in the ticket or in quoted text"),
        Family("truncation", truncation, "keep_marked", "cut at a word boundary"),
        Family("overlong", overlong, description="padded with harmless sentences"),
        Family("ood", ood, "abstain", "a request from another domain"),
    )
})
"""Probe families by name, in their canonical order."""


def probe_id(source: str, family: str, n: int) -> str:
    """``<source_id>::<family>::<n>``, ``n`` counting from 1."""
    return f"{source}::{family}::{n}"


def source_id(probe: Example) -> str:
    """The id of the example a probe was derived from."""
    found = probe.meta.get("probe_source_id")
    if not isinstance(found, str):
        raise ValueError(f"{probe.id!r} is not a probe: no 'probe_source_id' in its meta")
    return found


def pair_with_source(
    probes: Iterable[Example], sources: Iterable[Example]
) -> list[tuple[Example, Example]]:
    """``(source, probe)`` for each probe, in the probes' order; KeyError for a probe whose
    source is not among ``sources``."""
    by_id = {example.id: example for example in sources}
    pairs = []
    for probe in probes:
        origin = source_id(probe)
        if origin not in by_id:
            raise KeyError(f"source {origin!r} of probe {probe.id!r} is not among the sources")
        pairs.append((by_id[origin], probe))
    return pairs


def _resolve_families(families: Sequence[str] | None) -> list[Family]:
    if families is None:
        return list(FAMILIES.values())
    unknown = [name for name in families if name not in FAMILIES]
    if unknown:
        raise ValueError(f"unknown probe famil{'ies' if len(unknown) > 1 else 'y'} "
                         f"{', '.join(map(repr, unknown))}; known: {', '.join(FAMILIES)}")
    if not families:
        raise ValueError("no probe family selected")
    return [FAMILIES[name] for name in dict.fromkeys(families)]


def _with_text(source: Example, text: str) -> dict[str, Any]:
    """The input fields of ``source`` with the user text replaced."""
    if source.messages is None:
        return {"prompt": text}
    last = Message(role="user", content=text)
    return {"messages": (*source.messages[:-1], last)}


def _probe(source: Example, family: Family, n: int, seed: int, text: str,
           details: Mapping[str, Any], abstain_label: str) -> Example:
    label, reference = source.label, source.reference
    if family.label_policy == "abstain":
        reference = abstain_label if reference is not None and reference == label else None
        label = abstain_label
    meta: dict[str, Any] = {
        "probe_family": family.name, "probe_source_id": source.id, "probe_seed": seed,
        **details,
    }
    if source.meta:
        meta["source_meta"] = dict(source.meta)
    return Example(id=probe_id(source.id, family.name, n), reference=reference, label=label,
                   meta=meta, **_with_text(source, text))


def _family_probes(source: Example, family: Family, seed: int, per_example: int,
                   context: ProbeContext) -> list[Example]:
    """Up to ``per_example`` distinct probes that differ from the source text."""
    seen = {source.text}
    probes: list[Example] = []
    for attempt in range(per_example * ATTEMPTS_PER_PROBE):
        if len(probes) == per_example:
            break
        rng = random.Random(f"tunegate-probes:{seed}:{family.name}:{source.id}:{attempt}")
        result = family.perturb(source.text, rng, context)
        if result.text in seen:
            continue
        seen.add(result.text)
        probes.append(_probe(source, family, len(probes) + 1, seed, result.text,
                             result.details, context.abstain_label))
    return probes


def generate_probes(
    examples: Iterable[Example],
    families: Sequence[str] | None = None,
    *,
    seed: int = 0,
    per_example: int = 1,
    labels: Sequence[str] | None = None,
    abstain_label: str = "other",
    overlong_chars: int = 4000,
) -> list[Example]:
    """Probes of every example, family by family (in the order given, default: all).

    Each probe is the source with its user text (or prompt) perturbed; ``labels`` (default:
    the labels of ``examples`` and ``abstain_label``) are what label injection draws its
    wrong answer from. A family that cannot change an input (no long word to misspell,
    no known phrase to paraphrase) yields fewer probes for it rather than a copy. The
    same arguments give the same probes; each probe depends only on its seed, family,
    source id and position, not on the other examples or families.
    """
    if per_example < 1:
        raise ValueError(f"per_example must be at least 1, got {per_example}")
    if overlong_chars < 1:
        raise ValueError(f"overlong_chars must be at least 1, got {overlong_chars}")
    chosen = _resolve_families(families)
    sources = list(examples)
    if labels is None:
        found = {e.label for e in sources if e.label is not None} | {abstain_label}
        labels = sorted(found)
    probes: list[Example] = []
    for family in chosen:
        for source in sources:
            context = ProbeContext(tuple(labels), source.label, abstain_label, overlong_chars)
            probes.extend(_family_probes(source, family, seed, per_example, context))
    return probes
