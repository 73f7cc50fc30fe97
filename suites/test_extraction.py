"""Strict-JSON extraction ([tool.tunegate.tasks.extraction]): the adapter must answer
every ticket with one JSON object that validates against evals/extraction.schema.json,
get each exact field right often enough, summarise close to the reference, and not
regress on the golden tickets that production extracts exactly."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tunegate.backends import ModelRef
from tunegate.gates import (
    GateResult,
    field_accuracy_floor,
    format_validity_floor,
    golden_regression,
    text_similarity_floor,
)
from tunegate.metrics import StructureMetrics, structure_metrics
from tunegate.session import GateSession
from tunegate.tasks import Extractions, ExtractionTask
from tunegate.tasks.extraction import exact_key

Gate = Callable[[GateResult], GateResult]


@pytest.fixture(scope="session")
def extraction(tg_session: GateSession) -> GateSession:
    """The extraction task's gate session (shares the base model, cache and results)."""
    if "extraction" not in tg_session.config.tasks:
        pytest.skip("no extraction task configured ([tool.tunegate.tasks.extraction])")
    return tg_session.for_task("extraction")


@pytest.fixture(scope="session")
def task(extraction: GateSession) -> ExtractionTask:
    assert isinstance(extraction.task, ExtractionTask)
    return extraction.task


@pytest.fixture(scope="session")
def candidate(extraction: GateSession) -> ModelRef:
    return extraction.candidate


@pytest.fixture(scope="session")
def candidate_outputs(extraction: GateSession, candidate: ModelRef) -> Extractions:
    return extraction.extractions(candidate, "eval")


@pytest.fixture(scope="session")
def candidate_structure(candidate_outputs: Extractions, task: ExtractionTask) -> StructureMetrics:
    return structure_metrics(candidate_outputs.outputs, candidate_outputs.references,
                             task.schema, task.exact_fields)


def test_json_validity(candidate_structure: StructureMetrics, extraction: GateSession,
                       tg_gate: Gate) -> None:
    bounds = extraction.config.thresholds
    schema_floor = bounds.schema_validity
    if schema_floor is None:  # one floor for both
        schema_floor = bounds.json_validity
    tg_gate(format_validity_floor(candidate_structure, min_parse_rate=bounds.json_validity,
                                  min_schema_validity=schema_floor, name="json_validity"))


def test_field_accuracy(candidate_structure: StructureMetrics, extraction: GateSession,
                        tg_gate: Gate) -> None:
    floors = extraction.config.thresholds.field_accuracy
    if not floors:
        pytest.skip("no field accuracy floors configured (thresholds.field_accuracy)")
    tg_gate(field_accuracy_floor(candidate_structure, floors))


@pytest.mark.parametrize("field", ["summary"])
def test_text_field_similarity(field: str, candidate_outputs: Extractions,
                               extraction: GateSession, tg_gate: Gate) -> None:
    bounds = extraction.config.thresholds
    if bounds.rouge_l is None and bounds.bertscore_f1 is None:
        pytest.skip("no text similarity floors configured (thresholds.rouge_l / bertscore_f1)")
    references = [str(r.get(field, "")) for r in candidate_outputs.references]
    tg_gate(text_similarity_floor(
        field, candidate_outputs.texts(field), references,
        min_rouge_l=bounds.rouge_l, min_bertscore_f1=bounds.bertscore_f1,
        ids=[item.id for item in candidate_outputs.items],
    ))


def test_extraction_golden_regression(extraction: GateSession, candidate: ModelRef,
                                      task: ExtractionTask, tg_gate: Gate) -> None:
    golden = extraction.dataset("golden")
    reference = extraction.extractions(extraction.reference, "golden")
    outputs = extraction.extractions(candidate, "golden")
    tg_gate(golden_regression(
        ids=[e.id for e in golden],
        inputs=[e.text for e in golden],
        expected=[exact_key(item.reference, task.exact_fields) for item in outputs.items],
        reference_answers=reference.exact_keys(task.exact_fields),
        candidate_answers=outputs.exact_keys(task.exact_fields),
        max_regression=extraction.config.thresholds.golden_max_regression,
        require_significance=extraction.config.thresholds.golden_require_significance,
        alpha=extraction.config.thresholds.golden_alpha,
        seed=extraction.config.seed,
        name="extraction_golden_regression",
    ))
