"""Structure metrics, checked against json and jsonschema called directly."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tunegate.metrics import (
    METRICS,
    StructureMetrics,
    field_accuracy,
    json_parse_rate,
    schema_validity_rate,
    structure_metrics,
)

TICKET_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "category": {"enum": ["billing", "shipping", "other"]},
        "urgent": {"type": "boolean"},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}},
                "required": ["sku"],
            },
        },
    },
    "required": ["category", "urgent"],
    "additionalProperties": False,
}

OUTPUTS = [
    '{"category": "billing", "urgent": true}',
    ' {"category": "shipping", "urgent": false, "items": [{"sku": "A1", "qty": 2}]}\n',
    '{"category": "billing", "urgent": 1}',  # schema: urgent must be a boolean
    '{"category": "shipping", "urgent": false, "items": [{"sku": 5}]}',  # nested violation
    '{"category": "billing"}',  # schema: required property missing
    '```json\n{"category": "billing", "urgent": true}\n```',  # fenced: not bare JSON
    '[{"category": "billing", "urgent": true}]',  # an array, not an object
    '{"category": "billing", "urgent": true',  # truncated
]
REFERENCES: list[dict[str, Any]] = [
    {"category": "billing", "urgent": True},
    {"category": "shipping", "urgent": False, "items": [{"qty": 2.0, "sku": "A1"}]},
    {"category": "billing", "urgent": True},
    {"category": "other", "urgent": False},
    {"category": "billing", "urgent": False},
    {"category": "billing", "urgent": True},
    {"category": "billing", "urgent": True},
    {"category": "billing", "urgent": True},
]


def reference_validity(outputs: list[str], schema: dict[str, Any]) -> float:
    """The plain way: json.loads, must be a dict, jsonschema's own is_valid."""
    validator = Draft202012Validator(schema)
    valid = 0
    for output in outputs:
        try:
            value = json.loads(output)
        except json.JSONDecodeError:
            continue
        valid += isinstance(value, dict) and validator.is_valid(value)
    return valid / len(outputs)


def test_parse_rate_counts_bare_json_objects_only() -> None:
    # parse: 0, 1, 2, 3, 4 (5 is fenced, 6 is an array, 7 is truncated)
    assert json_parse_rate(OUTPUTS) == 5 / 8
    assert json_parse_rate(['"just a string"', "42", "null", "true", ""]) == 0.0
    assert json_parse_rate(['{"a": {"b": [1, 2, {}]}}', "{}"]) == 1.0


def test_non_standard_constants_are_not_json() -> None:
    outputs = ['{"score": NaN}', '{"score": Infinity}', '{"score": -Infinity}', '{"score": 1}']
    assert json_parse_rate(outputs) == 0.25
    metrics = structure_metrics(outputs, [{"score": 1}] * 4, {"type": "object"}, ["score"])
    assert metrics.failures[0] == "invalid JSON: NaN is not a JSON value"
    assert metrics.failures[2] == "invalid JSON: -Infinity is not a JSON value"


def test_schema_validity_matches_jsonschema() -> None:
    assert schema_validity_rate(OUTPUTS, TICKET_SCHEMA) == 2 / 8
    assert schema_validity_rate(OUTPUTS, TICKET_SCHEMA) == reference_validity(
        OUTPUTS, TICKET_SCHEMA
    )
    loose: dict[str, Any] = {"type": "object", "required": ["category"]}
    assert schema_validity_rate(OUTPUTS, loose) == reference_validity(OUTPUTS, loose) == 5 / 8


def test_uses_draft_2020_12() -> None:
    # prefixItems exists only since 2020-12; an older draft would ignore it
    schema = {"type": "object", "properties": {"pair": {"prefixItems": [{"type": "string"}]}}}
    assert schema_validity_rate(['{"pair": [1, 2]}', '{"pair": ["a", 2]}'], schema) == 0.5


def test_format_is_an_annotation_not_an_assertion() -> None:
    schema = {"type": "object", "properties": {"due": {"type": "string", "format": "date"}}}
    assert schema_validity_rate(['{"due": "not a date"}'], schema) == 1.0


def test_failure_reasons_name_the_problem_and_its_path() -> None:
    metrics = structure_metrics(OUTPUTS, REFERENCES, TICKET_SCHEMA, ["category"])
    assert set(metrics.failures) == {2, 3, 4, 5, 6, 7}
    assert metrics.failures[2] == "schema: 1 is not of type 'boolean' at $.urgent"
    assert metrics.failures[3] == "schema: 5 is not of type 'string' at $.items[0].sku"
    assert metrics.failures[4] == "schema: 'urgent' is a required property at $"
    assert metrics.failures[5].startswith("invalid JSON: Expecting value: line 1 column 1")
    assert metrics.failures[6] == "not a JSON object: got an array"
    assert metrics.failures[7].startswith("invalid JSON: Expecting ',' delimiter")


def test_field_accuracy_by_hand() -> None:
    accuracy = field_accuracy(OUTPUTS, REFERENCES, ["category", "urgent", "items"])
    # category right on 0, 1, 2, 4 (3 says shipping for other; 5-7 do not parse)
    assert accuracy["category"] == 4 / 8
    # urgent right on 0, 1, 3; output 2 says 1 for true (a number is not a boolean)
    # and output 4 leaves it out
    assert accuracy["urgent"] == 3 / 8
    # items: 1 equal (2 == 2.0, key order ignored); absent from both on 0, 2, 4
    assert accuracy["items"] == 4 / 8
    assert list(accuracy) == ["category", "urgent", "items"]


@pytest.mark.parametrize(
    ("output", "reference", "right"),
    [
        ('{"v": 1}', {"v": 1.0}, True),
        ('{"v": true}', {"v": 1}, False),
        ('{"v": 0}', {"v": False}, False),
        ('{"v": null}', {"v": None}, True),
        ('{"v": null}', {}, False),
        ("{}", {"v": None}, False),
        ("{}", {}, True),
        ('{"v": [1, {"a": "x"}]}', {"v": [1, {"a": "x"}]}, True),
        ('{"v": [1, {"a": "x"}]}', {"v": [1, {"a": "y"}]}, False),
        ('{"v": [1, 2]}', {"v": [2, 1]}, False),
        ('{"v": [1, 2]}', {"v": (1, 2)}, True),
        ('{"v": {"a": 1}}', {"v": {"a": 1, "b": 2}}, False),
        ('{"v": "1"}', {"v": 1}, False),
        ('{"v": [true]}', {"v": [1]}, False),
    ],
)
def test_field_values_compare_as_json(output: str, reference: dict[str, Any], right: bool) -> None:
    assert field_accuracy([output], [reference], ["v"]) == {"v": 1.0 if right else 0.0}


def test_bundle_agrees_with_the_single_metrics() -> None:
    fields = ["category", "urgent"]
    metrics = structure_metrics(OUTPUTS, REFERENCES, TICKET_SCHEMA, fields)
    assert metrics == StructureMetrics(
        json_parse_rate=json_parse_rate(OUTPUTS),
        schema_validity_rate=schema_validity_rate(OUTPUTS, TICKET_SCHEMA),
        field_accuracy=field_accuracy(OUTPUTS, REFERENCES, fields),
        failures=metrics.failures,
    )
    assert metrics.json_parse_rate == 5 / 8
    assert metrics.schema_validity_rate == 2 / 8
    record = metrics.to_dict()
    assert json.loads(json.dumps(record)) == record
    assert record["failures"]["4"] == metrics.failures[4]
    assert record["field_accuracy"] == {"category": 0.5, "urgent": 0.375}


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "objekt"}, r"invalid JSON Schema: 'objekt' is not valid .* at \$\.type"),
        ({"properties": {"a": {"minLength": -1}}}, r"at \$\.properties\.a\.minLength"),
        ({"required": "a"}, r"invalid JSON Schema: 'a' is not of type 'array'"),
        (["type", "object"], "invalid JSON Schema: expected an object, got list"),
    ],
)
def test_bad_schema_is_an_error_not_a_zero(schema: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        schema_validity_rate(['{"a": "x"}'], schema)
    with pytest.raises(ValueError, match=message):
        structure_metrics(['{"a": "x"}'], [{"a": "x"}], schema, ["a"])


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: json_parse_rate([]), ValueError, "no examples"),
        (lambda: json_parse_rate('{"a": 1}'), TypeError, "not a str"),
        (lambda: json_parse_rate(['{"a": 1}', None]), TypeError, r"outputs\[1\] is NoneType"),
        (lambda: schema_validity_rate([], {}), ValueError, "no examples"),
        (lambda: field_accuracy(["{}"], [{}, {}], ["a"]), ValueError, "1 texts but references"),
        (lambda: field_accuracy(["{}"], ["{}"], ["a"]), ValueError, r"references\[0\] is str"),
        (lambda: field_accuracy(["{}"], [{}], []), ValueError, "fields is empty"),
        (lambda: field_accuracy(["{}"], [{}], "ab"), TypeError, "not a str"),
        (lambda: field_accuracy(["{}"], [{}], ["a", "b", "a"]), ValueError, r"duplicates: \['a'\]"),
    ],
)
def test_rejects_bad_input(call: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()


def test_deeply_nested_output_fails_instead_of_crashing() -> None:
    output = '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"
    metrics = structure_metrics([output], [{"a": []}], {"type": "object"}, ["a"])
    assert metrics.json_parse_rate == 0.0
    assert metrics.failures == {0: "invalid JSON: nested too deeply to parse"}


def test_registry_declares_direction() -> None:
    for name in ("json_parse_rate", "schema_validity_rate", "field_accuracy"):
        assert METRICS[name].higher_is_better is True
