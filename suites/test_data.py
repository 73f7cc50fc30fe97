"""Data hygiene: every set must be well-formed chat data without personal data; the
training set must hold no duplicates and share no example (exactly or nearly) with the
eval, golden, OOD and probe sets; its labels must be balanced and distributed like the
eval set's, and agreed where a second annotator labelled them. No model is loaded.

Thresholds and the definition of a near duplicate: [tool.tunegate.hygiene].
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tunegate.config import GateConfig
from tunegate.data.hygiene import RecordSet, field_value, read_records
from tunegate.gates import GateResult
from tunegate.gates.hygiene import (
    annotator_agreement_floor,
    chat_format_valid,
    chat_rules,
    class_balance_floor,
    duplicate_share_at_most,
    label_drift_at_most,
    near_duplicate_spec,
    no_leakage,
    no_personal_data,
)

Gate = Callable[[GateResult], GateResult]
HELD_OUT = ("eval", "golden", "ood")


def _read(config: GateConfig, split: str) -> RecordSet:
    path = getattr(config.data, split)
    if path is None:
        pytest.skip(f"no {split} set configured (data.{split})")
    return read_records(config.resolve(path), chat_rules(config.hygiene))


def _needs_classes(config: GateConfig) -> None:
    if config.task.kind != "classification":
        pytest.skip(f"label checks need classes; this task is {config.task.kind}")


@pytest.fixture(scope="session")
def train(tg_config: GateConfig) -> RecordSet:
    return _read(tg_config, "train")


@pytest.fixture(scope="session", params=("train", *HELD_OUT))
def any_set(request: pytest.FixtureRequest, tg_config: GateConfig) -> tuple[str, RecordSet]:
    return request.param, _read(tg_config, request.param)


@pytest.fixture(scope="session", params=HELD_OUT)
def held_out(request: pytest.FixtureRequest, tg_config: GateConfig) -> tuple[str, RecordSet]:
    return request.param, _read(tg_config, request.param)


def test_chat_format(any_set: tuple[str, RecordSet], tg_gate: Gate) -> None:
    split, records = any_set
    tg_gate(chat_format_valid([records], name=f"chat_format[{split}]"))


def test_no_personal_data(any_set: tuple[str, RecordSet], tg_config: GateConfig,
                          tg_gate: Gate) -> None:
    split, records = any_set
    bounds = tg_config.hygiene
    tg_gate(no_personal_data(records.records, max_findings=bounds.max_pii_findings,
                             kinds=bounds.pii_kinds, name=f"personal_data[{split}]"))


def test_no_duplicates_in_train(train: RecordSet, tg_config: GateConfig, tg_gate: Gate) -> None:
    bounds = tg_config.hygiene
    tg_gate(duplicate_share_at_most(
        train.records, near_duplicate_spec(bounds), max_exact_share=bounds.max_duplicate_share,
        max_near_share=bounds.max_near_duplicate_share, name="duplicates[train]"))


def test_no_leakage(train: RecordSet, held_out: tuple[str, RecordSet], tg_config: GateConfig,
                    tg_gate: Gate) -> None:
    split, records = held_out
    bounds = tg_config.hygiene
    tg_gate(no_leakage(train.records, records.records, near_duplicate_spec(bounds),
                       max_leaked_share=bounds.max_leaked_share, name=f"leakage[{split}]"))


def test_no_leakage_into_probe_files(train: RecordSet, tg_config: GateConfig,
                                     tg_gate: Gate) -> None:
    """Probe files listed in leakage_sets. (The probes a run generates leave out, by
    construction, any that repeat a training text: GateSession.training_overlap.)"""
    bounds = tg_config.hygiene
    if not bounds.leakage_sets:
        pytest.skip("no probe files listed (hygiene.leakage_sets); generated probes leave "
                    "out training texts by construction")
    probes = [read_records(tg_config.resolve(p), chat_rules(bounds)).records
              for p in bounds.leakage_sets]
    tg_gate(no_leakage(train.records, [r for s in probes for r in s], near_duplicate_spec(bounds),
                       max_leaked_share=bounds.max_leaked_share, name="leakage[probes]"))


def test_class_balance(train: RecordSet, tg_config: GateConfig, tg_gate: Gate) -> None:
    _needs_classes(tg_config)
    bounds = tg_config.hygiene
    tg_gate(class_balance_floor(train.records, min_share=bounds.min_class_share,
                                min_ratio=bounds.min_class_ratio, name="class_balance[train]"))


def test_label_drift(train: RecordSet, tg_config: GateConfig, tg_gate: Gate) -> None:
    _needs_classes(tg_config)
    checked = _read(tg_config, "eval")
    tg_gate(label_drift_at_most(train.records, checked.records,
                                max_tv=tg_config.hygiene.max_label_tv, name="label_drift[eval]"))


def test_annotator_agreement(train: RecordSet, tg_config: GateConfig, tg_gate: Gate) -> None:
    _needs_classes(tg_config)
    field = tg_config.hygiene.second_label_field
    if all(field_value(r, field) is None for r in train.records):
        pytest.skip(f"no second label column {field!r} in the training data")
    tg_gate(annotator_agreement_floor(train.records, field=field,
                                      min_agreement=tg_config.hygiene.min_agreement,
                                      name="annotator_agreement[train]"))
