"""Examples and datasets: schema, JSONL loading, hashing, splits."""

from tunegate.data._example import Example, Message
from tunegate.data._jsonl import (
    DataError,
    examples_sha256,
    file_sha256,
    load_examples,
    provenance_path,
    write_examples,
    write_json,
    write_text_atomic,
)

__all__ = [
    "DataError",
    "Example",
    "Message",
    "examples_sha256",
    "file_sha256",
    "load_examples",
    "provenance_path",
    "write_examples",
    "write_json",
    "write_text_atomic",
]
