"""Strict-JSON extraction: each input is answered with one generated JSON object.

Examples become greedy generation requests; the raw outputs are kept as they came (the
gates judge them), alongside the reference objects parsed from the examples.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunegate.backends._protocol import Backend, GenerateRequest, ModelRef
from tunegate.config import ExtractionTaskConfig
from tunegate.data import DataError, Example
from tunegate.metrics.usage import RequestUsage
from tunegate.prompting import PromptStrategy

INVALID = "<invalid>"
"""The exact-field key of an output that is not a JSON object."""


@dataclass(frozen=True)
class Extraction:
    """One example's generated output and the reference object it should equal."""

    id: str
    output: str
    reference: dict[str, Any]
    usage: RequestUsage | None = field(default=None, compare=False)

    @property
    def parsed(self) -> dict[str, Any] | None:
        return parse_object(self.output)

    def matches(self, fields: Sequence[str]) -> bool:
        """Exact on ``fields``; on the whole object when it names none."""
        parsed = self.parsed
        if parsed is None:
            return False
        if not fields:
            return parsed == self.reference
        return all(parsed.get(f) == self.reference.get(f) for f in fields)


@dataclass(frozen=True)
class Extractions:
    """A reference's outputs over a dataset, in dataset order."""

    ref: str
    items: tuple[Extraction, ...]

    @property
    def outputs(self) -> list[str]:
        return [item.output for item in self.items]

    @property
    def references(self) -> list[dict[str, Any]]:
        return [item.reference for item in self.items]

    @property
    def usage(self) -> list[RequestUsage]:
        """What each output cost (unmeasured fields None)."""
        empty = RequestUsage(None, None, None, None)
        return [item.usage or empty for item in self.items]

    def exact_keys(self, fields: Sequence[str]) -> list[str]:
        """Each output's exact fields as one canonical string (``INVALID`` if unparsed)."""
        return [exact_key(item.parsed, fields) for item in self.items]

    def texts(self, field: str) -> list[str]:
        """Each output's text field ('' when missing or not a string)."""
        values = []
        for item in self.items:
            parsed = item.parsed
            value = parsed.get(field) if parsed is not None else None
            values.append(value if isinstance(value, str) else "")
        return values


def parse_object(text: str) -> dict[str, Any] | None:
    """``text`` as a JSON object, or None when it is not exactly one."""
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _reject_constant(name: str) -> Any:
    """NaN and Infinity are not JSON; Python's parser accepts them unless told not to."""
    raise ValueError(f"{name} is not valid JSON")


def exact_key(value: dict[str, Any] | None, fields: Sequence[str]) -> str:
    """The exact fields of an object as canonical JSON; what golden regression compares."""
    if value is None:
        return INVALID
    return json.dumps({f: value.get(f) for f in fields}, sort_keys=True, ensure_ascii=False)


def load_schema(path: Path) -> dict[str, Any]:
    """A JSON Schema file; a file that is not a JSON object is a DataError naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(path, None, "json_schema", f"cannot read: {exc.strerror}") from None
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(path, exc.lineno, "json_schema", f"invalid JSON: {exc.msg}") from None
    if not isinstance(schema, dict):
        raise DataError(path, 1, "json_schema", "a JSON Schema must be a JSON object")
    return schema


class ExtractionTask:
    """Builds generation requests from examples, and extractions from the outputs."""

    kind = "extraction"

    def __init__(self, config: ExtractionTaskConfig, schema: dict[str, Any]):
        self.config = config
        self.schema = schema
        self.exact_fields = config.exact_fields
        self.text_fields = config.text_fields

    def prompt_of(self, example: Example) -> str | None:
        if example.prompt is None:
            return None
        return self.config.prompt_template.format(text=example.prompt)

    def training_answer(self, example: Example) -> str:
        if example.reference is None:
            raise ValueError(f"example {example.id!r} has no reference object to train on")
        return example.reference if example.messages is not None else " " + example.reference

    def requests(
        self, examples: Sequence[Example], prompting: PromptStrategy | None = None
    ) -> list[GenerateRequest]:
        """One request per example, asked the way ``prompting`` says (default: as is)."""
        requests = []
        for e in examples:
            messages, prompt = e.messages, self.prompt_of(e)
            if prompting is not None:
                messages = prompting.messages(messages) if messages is not None else None
                prompt = prompting.prompt(prompt) if prompt is not None else None
            requests.append(GenerateRequest(messages=messages, prompt=prompt,
                                            max_new_tokens=self.config.max_new_tokens))
        return requests

    def reference_of(self, example: Example) -> dict[str, Any]:
        """The example's reference answer as an object; anything else is a DataError."""
        value = parse_object(example.reference or "")
        if value is None:
            raise ValueError("the reference answer of an extraction example must be a JSON "
                             f"object, got {example.reference!r}")
        return value

    def extract(self, backend: Backend, ref: ModelRef, examples: Sequence[Example]) -> Extractions:
        """Generate ``ref``'s answer to every example."""
        references = [self.reference_of(e) for e in examples]
        generations = backend.generate(ref, self.requests(examples, ref.prompting))
        items = tuple(
            Extraction(e.id, g.text.strip(), r,
                       RequestUsage(g.prompt_tokens, g.token_count, g.latency_ms, g.busy_ms))
            for e, g, r in zip(examples, generations, references, strict=True)
        )
        return Extractions(ref.name, items)
