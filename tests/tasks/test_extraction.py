"""The JSON-extraction task: parsing, canonical keys, schemas, requests and sessions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunegate.backends import GenerateRequest, ModelRef
from tunegate.config import ConfigError, ExtractionTaskConfig, load_config
from tunegate.data import DataError, Example, Message, write_examples
from tunegate.metrics import structure_metrics
from tunegate.session import GateSession
from tunegate.tasks import ClassificationTask, Extraction, Extractions, ExtractionTask
from tunegate.tasks.extraction import INVALID, exact_key, load_schema, parse_object

SCHEMA = {"type": "object", "properties": {"category": {"type": "string"}}}
FIELDS = ("category", "urgency")


def chat(id_: str, text: str, answer: str | None) -> Example:
    turns = [{"role": "system", "content": "Extract."}, {"role": "user", "content": text}]
    if answer is not None:
        turns.append({"role": "assistant", "content": answer})
    return Example.model_validate({"id": id_, "messages": turns})


def task(**config: object) -> ExtractionTask:
    settings = {"kind": "extraction", "json_schema": "s.json", "exact_fields": FIELDS, **config}
    return ExtractionTask(ExtractionTaskConfig.model_validate(settings), SCHEMA)


# parse_object


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1, "b": null}', {"a": 1, "b": None}),
        ('  {"a": [1, 2]}\n', {"a": [1, 2]}),
        ("{}", {}),
        ("[1, 2]", None),
        ('[{"a": 1}]', None),
        ('"a string"', None),
        ("42", None),
        ("null", None),
        ("not json", None),
        ("{'a': 1}", None),
        ("", None),
        ('{"a": 1} and some words', None),
        ('{"a": 1}{"b": 2}', None),
        ('```json\n{"a": 1}\n```', None),
    ],
)
def test_parse_object(text: str, expected: dict | None) -> None:
    assert parse_object(text) == expected


@pytest.mark.parametrize(
    "text", ['{"a": NaN}', '{"a": Infinity}', '{"a": -Infinity}', '{"a": 1, "b": "x"}']
)
def test_parse_object_agrees_with_the_json_validity_metric(text: str) -> None:
    """What golden regression counts as an object is what json_parse_rate counts."""
    parsed_by_metric = structure_metrics([text], [{}], {"type": "object"}, ["a"]).json_parse_rate
    assert (parse_object(text) is not None) == (parsed_by_metric == 1.0)


# exact_key


def test_exact_key_is_canonical_json_of_the_exact_fields() -> None:
    value = {"urgency": "high", "summary": "ignored", "category": "billing"}
    key = exact_key(value, FIELDS)
    assert key == '{"category": "billing", "urgency": "high"}'
    assert json.loads(key) == {"category": "billing", "urgency": "high"}


def test_exact_key_does_not_depend_on_key_or_field_order() -> None:
    first = {"category": "billing", "urgency": "high", "summary": "a"}
    second = {"summary": "b", "urgency": "high", "category": "billing"}
    assert exact_key(first, FIELDS) == exact_key(second, FIELDS)
    assert exact_key(first, ("urgency", "category")) == exact_key(first, FIELDS)
    assert exact_key(first, FIELDS) != exact_key({**first, "urgency": "low"}, FIELDS)


def test_exact_key_of_no_object_is_invalid_and_a_missing_field_is_null() -> None:
    assert exact_key(None, FIELDS) == INVALID == "<invalid>"
    assert exact_key({"category": "billing"}, FIELDS) == '{"category": "billing", "urgency": null}'
    assert exact_key({"category": "billing"}, FIELDS) == exact_key(
        {"category": "billing", "urgency": None}, FIELDS
    )
    assert exact_key({}, FIELDS) != INVALID


def test_exact_key_keeps_non_ascii() -> None:
    assert exact_key({"category": "Straße"}, ["category"]) == '{"category": "Straße"}'


# load_schema


def test_load_schema_reads_an_object(tmp_path: Path) -> None:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(SCHEMA, indent=2))
    assert load_schema(path) == SCHEMA


def test_load_schema_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(DataError) as caught:
        load_schema(path)
    assert (caught.value.path, caught.value.line, caught.value.field) == (path, None, "json_schema")
    assert caught.value.reason == "cannot read: No such file or directory"


def test_load_schema_bad_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "schema.json"
    path.write_text('{\n  "type": "object",\n  "properties": {,}\n}\n')
    with pytest.raises(DataError) as caught:
        load_schema(path)
    assert (caught.value.path, caught.value.line, caught.value.field) == (path, 3, "json_schema")
    assert caught.value.reason.startswith("invalid JSON: ")
    assert str(caught.value).startswith(f"{path}:3: json_schema: invalid JSON: ")


@pytest.mark.parametrize("text", ["[1, 2]", '"object"', "true"])
def test_load_schema_must_be_an_object(tmp_path: Path, text: str) -> None:
    path = tmp_path / "schema.json"
    path.write_text(text)
    with pytest.raises(DataError, match="a JSON Schema must be a JSON object") as caught:
        load_schema(path)
    assert (caught.value.path, caught.value.line) == (path, 1)


# ExtractionTask


def test_requests_are_greedy_generations_with_the_configured_length() -> None:
    examples = [
        chat("c", "my parcel is late", '{"category": "shipping"}'),
        Example(id="p", prompt="charged twice", reference='{"category": "billing"}'),
    ]
    requests = task(max_new_tokens=40, prompt_template="Ticket: {text}\nJSON:").requests(
        examples
    )
    assert requests == [
        GenerateRequest(messages=examples[0].messages, prompt=None, max_new_tokens=40),
        GenerateRequest(messages=None, prompt="Ticket: charged twice\nJSON:", max_new_tokens=40),
    ]
    assert all(r.temperature == 0.0 and r.stop == () for r in requests)
    assert examples[0].messages == (
        Message(role="system", content="Extract."),
        Message(role="user", content="my parcel is late"),
    )


def test_training_answer_is_the_reference_text() -> None:
    answer = '{"category": "shipping", "urgency": "low"}'
    extraction = task()
    assert extraction.training_answer(chat("c", "late", answer)) == answer
    plain = Example(id="p", prompt="late", reference=answer)
    assert extraction.training_answer(plain) == " " + answer
    with pytest.raises(ValueError, match="example 'c' has no reference object to train on"):
        extraction.training_answer(chat("c", "late", None))


def test_reference_of_parses_the_reference_object() -> None:
    extraction = task()
    example = chat("c", "late", '{"category": "shipping", "order_id": null}')
    assert extraction.reference_of(example) == {"category": "shipping", "order_id": None}
    for bad in ('["shipping"]', "shipping", "{'category': 'shipping'}", None):
        with pytest.raises(ValueError, match="must be a JSON object, got ") as caught:
            extraction.reference_of(chat("c", "late", bad))
        assert repr(bad) in str(caught.value)


def test_extractions_keys_and_texts() -> None:
    extractions = Extractions("cand", (
        Extraction("a", '{"category": "billing", "summary": "charged twice"}',
                   {"category": "billing"}),
        Extraction("b", "not json", {"category": "other"}),
        Extraction("c", '{"urgency": "low", "summary": 3}', {"category": "shipping"}),
    ))
    assert extractions.outputs == [item.output for item in extractions.items]
    assert extractions.references == [{"category": "billing"}, {"category": "other"},
                                      {"category": "shipping"}]
    assert extractions.exact_keys(FIELDS) == [
        '{"category": "billing", "urgency": null}',
        INVALID,
        '{"category": null, "urgency": "low"}',
    ]
    assert extractions.texts("summary") == ["charged twice", "", ""]
    assert extractions.items[1].parsed is None


# sessions of extraction tasks

CONFIG = """\
base = "example"
candidate = "extract-good"
cache_dir = "cache"

[task]
kind = "extraction"
json_schema = "schema.json"
exact_fields = ["category", "urgency"]

[data]
eval = "eval.jsonl"
"""

SUBGATE = """\
base = "example"
candidate = "good"
cache_dir = "cache"

[task]
kind = "classification"
labels = ["billing", "shipping"]

[data]
eval = "tickets.jsonl"

[tasks.extraction]
candidate = "extract-good"

[tasks.extraction.task]
kind = "extraction"
json_schema = "schema.json"
exact_fields = ["category", "urgency"]

[tasks.extraction.data]
eval = "eval.jsonl"
"""

GOOD = '{"category": "billing", "urgency": "high"}'


def project(tmp_path: Path, config: str, references: list[str | None]) -> Path:
    """A tunegate.toml, a schema and an eval file with one example per reference."""
    (tmp_path / "tunegate.toml").write_text(config)
    (tmp_path / "schema.json").write_text(json.dumps(SCHEMA))
    examples = [chat(f"x{i}", f"ticket {i}", ref) for i, ref in enumerate(references)]
    write_examples(tmp_path / "eval.jsonl", examples)
    write_examples(tmp_path / "tickets.jsonl",
                   [Example(id="t", prompt="charged twice", reference="billing")])
    return tmp_path / "tunegate.toml"


def test_extraction_session_loads_valid_references(tmp_path: Path) -> None:
    session = GateSession(load_config(project(tmp_path, CONFIG, [GOOD, GOOD])))
    assert isinstance(session.task, ExtractionTask)
    assert session.task.schema == SCHEMA
    assert [e.id for e in session.dataset("eval")] == ["x0", "x1"]


@pytest.mark.parametrize("bad", ['["billing", "high"]', "billing", None])
def test_non_object_reference_is_a_data_error_naming_file_and_line(
    tmp_path: Path, bad: str | None
) -> None:
    session = GateSession(load_config(project(tmp_path, CONFIG, [GOOD, GOOD, bad, GOOD])))
    path = tmp_path / "eval.jsonl"
    # a blank line before the bad one: line numbers are lines of the file
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines[:2], "", *lines[2:]]) + "\n")
    with pytest.raises(DataError) as caught:
        session.dataset("eval")
    error = caught.value
    assert (error.path, error.line, error.field) == (path, 4, "reference")
    assert json.loads(path.read_text().splitlines()[3])["id"] == "x2"
    assert str(error).startswith(f"{path}:4: reference: the reference answer of an extraction")


def test_further_task_session_checks_its_references(tmp_path: Path) -> None:
    session = GateSession(load_config(project(tmp_path, SUBGATE, [GOOD, "[1]"])))
    assert [e.id for e in session.dataset("eval")] == ["t"]  # the main task: classification
    extraction = session.for_task("extraction")
    assert extraction is session.for_task("extraction")
    assert extraction.for_task("extraction") is extraction
    assert extraction.results is session.results
    assert extraction.config.name == "extraction"
    assert isinstance(extraction.task, ExtractionTask)
    with pytest.raises(DataError) as caught:
        extraction.dataset("eval")
    assert (caught.value.path, caught.value.line) == (tmp_path / "eval.jsonl", 2)


def test_predictions_are_not_for_extraction_tasks(tmp_path: Path) -> None:
    session = GateSession(load_config(project(tmp_path, SUBGATE, [GOOD])))
    extraction = session.for_task("extraction")
    with pytest.raises(TypeError, match=r"predictions\(\) is for classification tasks; this "
                                        r"task is extraction: use extractions\(\)"):
        extraction.predictions(ModelRef("candidate", "no-such-base"), "eval")
    assert "backend" not in session.__dict__  # refused before any model was loaded


def test_extractions_are_not_for_classification_tasks(tmp_path: Path) -> None:
    session = GateSession(load_config(project(tmp_path, SUBGATE, [GOOD])))
    assert isinstance(session.task, ClassificationTask)
    with pytest.raises(TypeError, match=r"extractions\(\) is for extraction tasks; this task "
                                        r"is classification: use predictions\(\)"):
        session.extractions(ModelRef("candidate", "no-such-base"), "eval")
    assert "backend" not in session.__dict__


def test_example_variant_of_the_other_kind_is_refused(tmp_path: Path) -> None:
    session = GateSession(load_config(project(tmp_path, SUBGATE, [GOOD])))
    with pytest.raises(ConfigError) as caught:
        session.for_task("extraction").resolve("candidate", "good")
    assert caught.value.field == "tasks.extraction.candidate"
    assert "example variant 'good' is for a classification task, this task is extraction" in (
        caught.value.reason
    )
    assert "extract-good, extract-production, extract-broken-format" in caught.value.reason
    with pytest.raises(ConfigError, match="'extract-good' is for a extraction task") as caught:
        session.resolve("candidate", "extract-good")
    assert caught.value.field == "candidate"
