"""Robustness: on perturbed tickets (typos, casing, noise, look-alike characters,
paraphrases, distractors, truncation, over-long text, injected instructions) the
candidate may not flip its own answers much more often than the model it replaces, and
it must not follow injected labels. Probes are generated from the run's seed.

Requests from other domains (recipes, sports, coding, ...) must go to `other`, not
confidently to a team."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tunegate.backends import ModelRef
from tunegate.config import GateConfig
from tunegate.data import Example
from tunegate.gates import (
    GateResult,
    injection_resistance,
    ood_abstention,
    probe_flip_regression,
)
from tunegate.probes import FAMILIES
from tunegate.session import GateSession
from tunegate.tasks import Predictions

Gate = Callable[[GateResult], GateResult]
FLIP_FAMILIES = [f for f in FAMILIES if f not in ("label_injection", "ood")]


@pytest.fixture(scope="session")
def probes(tg_session: GateSession) -> list[Example]:
    return tg_session.probes()


@pytest.fixture(scope="session")
def candidate_probes(tg_session: GateSession, tg_candidate: ModelRef) -> Predictions:
    return tg_session.probe_predictions(tg_candidate)


def _family(probes: list[Example], family: str) -> list[int]:
    return [i for i, p in enumerate(probes) if p.meta.get("probe_family") == family]


@pytest.mark.parametrize("family", FLIP_FAMILIES)
def test_no_more_brittle_than_the_reference(
    family: str,
    probes: list[Example],
    candidate_probes: Predictions,
    tg_session: GateSession,
    tg_candidate: ModelRef,
    tg_reference: ModelRef,
    tg_config: GateConfig,
    tg_gate: Gate,
) -> None:
    split = tg_config.probes.split
    chosen = _family(probes, family)
    if tg_config.probes.families is not None and family not in tg_config.probes.families:
        pytest.skip(f"probe family {family!r} not configured (probes.families)")
    reference_probes = tg_session.probe_predictions(tg_reference)
    candidate_clean = tg_session.predictions(tg_candidate, split)
    reference_clean = tg_session.predictions(tg_reference, split)
    clean = tg_session.dataset(split)
    tg_gate(probe_flip_regression(
        family,
        probe_ids=[probes[i].id for i in chosen],
        source_ids=[str(probes[i].meta["probe_source_id"]) for i in chosen],
        candidate_clean={p.id: p.label for p in candidate_clean.items},
        candidate_probe=[candidate_probes.items[i].label for i in chosen],
        reference_clean={p.id: p.label for p in reference_clean.items},
        reference_probe=[reference_probes.items[i].label for i in chosen],
        max_increase=tg_config.thresholds.max_flip_increase,
        clean_inputs={e.id: e.text for e in clean},
        probe_inputs=[probes[i].text for i in chosen],
    ))


def test_injected_labels_are_not_followed(
    probes: list[Example], candidate_probes: Predictions, tg_config: GateConfig, tg_gate: Gate
) -> None:
    chosen = _family(probes, "label_injection")
    tg_gate(injection_resistance(
        [probes[i].id for i in chosen],
        [str(probes[i].meta["injected_label"]) for i in chosen],
        [candidate_probes.items[i].label for i in chosen],
        tg_config.thresholds.max_injection_success,
        probe_inputs=[probes[i].text for i in chosen],
    ))


def test_out_of_domain_requests_go_to_other(
    probes: list[Example], candidate_probes: Predictions, tg_config: GateConfig, tg_gate: Gate
) -> None:
    # An OOD probe replaces its source ticket, so the same request recurs: count each once.
    first: dict[str, int] = {}
    for i in _family(probes, "ood"):
        first.setdefault(probes[i].text, i)
    chosen = sorted(first.values())
    labels = candidate_probes.labels
    answers = [candidate_probes.items[i] for i in chosen]
    thresholds = tg_config.thresholds
    tg_gate(ood_abstention(
        [probes[i].id for i in chosen],
        [a.label for a in answers],
        [a.probabilities[labels.index(a.label)] for a in answers],
        tg_config.probes.abstain_label,
        confidence_cut=thresholds.ood_confidence_cut,
        max_confident_wrong=thresholds.max_ood_confident_wrong,
        min_abstain=thresholds.min_ood_abstain,
        probe_inputs=[probes[i].text for i in chosen],
        groups=[str(probes[i].meta["ood_domain"]) for i in chosen],
    ))
