"""The metrics package: its public surface, its registry, and that importing it is light."""

from __future__ import annotations

import inspect
import subprocess
import sys

import tunegate.metrics
from tunegate.metrics import (
    METRICS,
    calibration,
    classification,
    paired,
    structure,
    text,
    usage,
)

REGISTERING_MODULES = (classification, calibration, text, structure, usage)
NOT_AT_IMPORT = (
    "torch",
    "transformers",
    "bert_score",
    "rouge_score",
    "nltk",
    "jsonschema",
    "sklearn",
    "scipy",
    "numpy",
)


def test_public_surface() -> None:
    assert tunegate.metrics.__all__ == [
        "METRICS",
        "BertScoreResult",
        "BertScorer",
        "BootstrapResult",
        "CalibrationMetrics",
        "ClassMetrics",
        "ClassificationMetrics",
        "IntervalResult",
        "McNemarResult",
        "MetricInfo",
        "RequestUsage",
        "StructureMetrics",
        "UsageMetrics",
        "bert_score_f1",
        "bootstrap_metric",
        "brier_score",
        "calibration_metrics",
        "classification_metrics",
        "cost_per_1000",
        "exact_match",
        "expected_calibration_error",
        "field_accuracy",
        "json_parse_rate",
        "macro_f1_from_indices",
        "mcnemar_exact",
        "mean_gold_logprob",
        "normalize_answer",
        "paired_bootstrap",
        "paired_bootstrap_metric",
        "rouge",
        "rouge_scores",
        "schema_validity_rate",
        "shared_bert_scorer",
        "structure_metrics",
        "usage_metrics",
        "wilson_interval",
    ]


def test_all_is_sorted_and_complete() -> None:
    names = tunegate.metrics.__all__
    # constants, then classes, then functions (ruff's RUF022 order)
    assert names == sorted(names, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
    for module in (*REGISTERING_MODULES, paired):
        public = {
            name
            for name, value in vars(module).items()
            if not name.startswith("_")
            and (inspect.isfunction(value) or inspect.isclass(value))
            and value.__module__ == module.__name__
        }
        assert public <= set(names), f"{module.__name__} exports {public - set(names)} nowhere"
        assert all(getattr(tunegate.metrics, name) is getattr(module, name) for name in public)


def test_registry_is_every_module_registry_without_clashes() -> None:
    assert len(METRICS) == sum(len(module.METRICS) for module in REGISTERING_MODULES)
    for module in REGISTERING_MODULES:
        assert module.METRICS.items() <= METRICS.items()
    for key, info in METRICS.items():
        assert info.name == key
        assert info.description
        assert not hasattr(info, "threshold")
    lower_is_better = {key for key, info in METRICS.items() if not info.higher_is_better}
    assert lower_is_better == {"brier_score", "expected_calibration_error", "latency_p50_ms",
                               "latency_p95_ms", "tokens_per_request",
                               "input_tokens_per_request", "cost_per_1000"}


def test_import_loads_no_heavy_library() -> None:
    probe = "import sys, tunegate.metrics\nprint(' '.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = {name.split(".")[0] for name in done.stdout.split()}
    assert "tunegate" in loaded  # the probe did import the package
    assert loaded.isdisjoint(NOT_AT_IMPORT), sorted(loaded & set(NOT_AT_IMPORT))
