"""Structure of generated JSON: does it parse, does it match the schema, are the fields right.

For strict-JSON extraction tasks. An output counts only if it is, by itself, one JSON
object: no code fences or prose are stripped, and the non-standard constants Python's
``json`` accepts (NaN, Infinity) are rejected, because a downstream parser would
reject them too. jsonschema is imported inside the functions that need it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tunegate.metrics.classification import MetricInfo

_SCHEMA_HINT = "pip install jsonschema (part of 'tunegate[eval]')"

METRICS: dict[str, MetricInfo] = {
    info.name: info
    for info in (
        MetricInfo("json_parse_rate", True, "fraction of outputs that parse as one JSON object"),
        MetricInfo(
            "schema_validity_rate",
            True,
            "fraction of outputs that parse as a JSON object and validate against the schema",
        ),
        MetricInfo(
            "field_accuracy",
            True,
            "per field: fraction of outputs whose value equals the reference's",
        ),
    )
}


@dataclass(frozen=True)
class StructureMetrics:
    """Structural quality of a set of JSON outputs.

    ``failures`` maps the index of each output that did not parse or validate to the
    reason, ``"invalid JSON: ..."``, ``"not a JSON object: ..."`` or
    ``"schema: <message> at <JSON path>"``; valid outputs are absent.
    """

    json_parse_rate: float
    schema_validity_rate: float
    field_accuracy: dict[str, float]
    failures: dict[int, str]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values, for run records and reports (failure keys as strings)."""
        return {
            "json_parse_rate": self.json_parse_rate,
            "schema_validity_rate": self.schema_validity_rate,
            "field_accuracy": dict(self.field_accuracy),
            "failures": {str(index): reason for index, reason in self.failures.items()},
        }


def json_parse_rate(outputs: Sequence[str]) -> float:
    """Fraction of outputs that parse as one JSON object (not an array, string, ...)."""
    _check_outputs(outputs)
    return sum(_parse(output)[0] is not None for output in outputs) / len(outputs)


def schema_validity_rate(outputs: Sequence[str], schema: Mapping[str, Any]) -> float:
    """Fraction of outputs that parse as a JSON object and validate against ``schema``.

    The schema is read as JSON Schema Draft 2020-12 and checked first (a bad schema is
    a ValueError, not a 0). As the draft specifies, ``format`` is an annotation and is
    not asserted.
    """
    _check_outputs(outputs)
    validator = _validator(schema)
    valid = sum(_failure(output, validator)[1] is None for output in outputs)
    return valid / len(outputs)


def field_accuracy(
    outputs: Sequence[str], references: Sequence[Mapping[str, Any]], fields: Sequence[str]
) -> dict[str, float]:
    """Per field, the fraction of outputs whose value equals the reference's.

    An output that does not parse as an object is wrong for every field. A field absent
    from both output and reference counts as right (an optional field rightly left
    out). Values are compared as JSON: ``1`` equals ``1.0``, ``true`` does not equal ``1``.
    """
    _check_outputs(outputs)
    field_list = _check_references(outputs, references, fields)
    parsed = [_parse(output)[0] for output in outputs]
    return _field_accuracy(parsed, references, field_list)


def structure_metrics(
    outputs: Sequence[str],
    references: Sequence[Mapping[str, Any]],
    schema: Mapping[str, Any],
    fields: Sequence[str],
) -> StructureMetrics:
    """Parse rate, schema validity, field accuracy and why each failing output failed."""
    _check_outputs(outputs)
    field_list = _check_references(outputs, references, fields)
    validator = _validator(schema)
    parsed: list[dict[str, Any] | None] = []
    failures: dict[int, str] = {}
    for index, output in enumerate(outputs):
        value, reason = _failure(output, validator)
        parsed.append(value)
        if reason is not None:
            failures[index] = reason
    return StructureMetrics(
        json_parse_rate=sum(value is not None for value in parsed) / len(outputs),
        schema_validity_rate=(len(outputs) - len(failures)) / len(outputs),
        field_accuracy=_field_accuracy(parsed, references, field_list),
        failures=failures,
    )


def _field_accuracy(
    parsed: Sequence[dict[str, Any] | None],
    references: Sequence[Mapping[str, Any]],
    fields: Sequence[str],
) -> dict[str, float]:
    """Field accuracy of already parsed outputs (None for an unparseable one)."""
    accuracy: dict[str, float] = {}
    for field in fields:
        hits = sum(
            value is not None
            and (field in value) == (field in reference)
            and (field not in value or _json_equal(value[field], reference[field]))
            for value, reference in zip(parsed, references, strict=True)
        )
        accuracy[field] = hits / len(parsed)
    return accuracy


def _json_equal(left: Any, right: Any) -> bool:
    """Equality of JSON values: numbers by value, but booleans are not numbers."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return left.keys() == right.keys() and all(_json_equal(left[k], right[k]) for k in left)
    sequences = (list, tuple)
    if isinstance(left, sequences) and isinstance(right, sequences):
        return len(left) == len(right) and all(map(_json_equal, left, right))
    if isinstance(left, (Mapping, *sequences)) or isinstance(right, (Mapping, *sequences)):
        return False
    return bool(left == right)


def _parse(output: str) -> tuple[dict[str, Any] | None, str | None]:
    """The output as a JSON object, or None and why not."""
    try:
        value = json.loads(output, parse_constant=_reject_constant)
    except (json.JSONDecodeError, _NonStandardConstant) as error:
        return None, f"invalid JSON: {error}"
    except RecursionError:
        return None, "invalid JSON: nested too deeply to parse"
    if not isinstance(value, dict):
        return None, f"not a JSON object: got {_json_type(value)}"
    return value, None


def _failure(output: str, validator: Any) -> tuple[dict[str, Any] | None, str | None]:
    """The parsed object (None if it did not parse) and why the output fails, if it does."""
    value, reason = _parse(output)
    if value is None:
        return None, reason
    from jsonschema.exceptions import best_match

    error = best_match(validator.iter_errors(value))
    if error is None:
        return value, None
    return value, f"schema: {error.message} at {error.json_path}"


def _validator(schema: Mapping[str, Any]) -> Any:
    """A Draft 2020-12 validator for ``schema``, after checking the schema itself."""
    try:
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import SchemaError
    except ImportError as error:
        raise ImportError(f"schema validation needs jsonschema: {_SCHEMA_HINT}") from error
    if not isinstance(schema, Mapping):
        raise ValueError(f"invalid JSON Schema: expected an object, got {type(schema).__name__}")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        raise ValueError(f"invalid JSON Schema: {error.message} at {error.json_path}") from None
    return Draft202012Validator(schema)


class _NonStandardConstant(ValueError):
    """NaN or Infinity in an output: Python's json accepts them, JSON does not."""


def _reject_constant(name: str) -> Any:
    raise _NonStandardConstant(f"{name} is not a JSON value")


def _json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for failure reasons."""
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


def _check_outputs(outputs: Sequence[str]) -> None:
    """Outputs must be a non-empty sequence of strings."""
    if isinstance(outputs, str):
        raise TypeError("outputs must be a sequence of strings, not a str")
    if len(outputs) == 0:
        raise ValueError("no examples: outputs is empty")
    for index, output in enumerate(outputs):
        if not isinstance(output, str):
            raise TypeError(f"outputs[{index}] is {type(output).__name__}, not str")


def _check_references(
    outputs: Sequence[str], references: Sequence[Mapping[str, Any]], fields: Sequence[str]
) -> list[str]:
    """References line up with outputs and are objects; fields are named, once each."""
    if len(references) != len(outputs):
        raise ValueError(f"outputs has {len(outputs)} texts but references has {len(references)}")
    for index, reference in enumerate(references):
        if not isinstance(reference, Mapping):
            raise ValueError(
                f"references[{index}] is {type(reference).__name__}, not an object (dict)"
            )
    if isinstance(fields, str):
        raise TypeError("fields must be a sequence of field names, not a str")
    field_list = list(fields)
    if not field_list:
        raise ValueError("fields is empty: name at least one field to compare")
    duplicated = sorted({field for field in field_list if field_list.count(field) > 1})
    if duplicated:
        raise ValueError(f"fields contains duplicates: {duplicated}")
    return field_list
