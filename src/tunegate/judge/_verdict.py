"""Reading a judge's reply strictly, and counting votes.

A reply is one JSON object (optionally inside a single ```json fence) that validates
against the rubric's schema; duplicate keys and NaN are refused. Anything else is
malformed: the judge is asked again, and after the last retry the verdict is an
error, never a default score.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any, TypeVar

V = TypeVar("V", int, str)
_FENCE = re.compile(r"```(?:json)?[ \t]*\n(.*?)\n?[ \t]*```", re.DOTALL)


class MalformedVerdict(ValueError):
    """A reply that is not a JSON object matching the verdict schema."""


def parse_verdict(text: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The verdict object of a reply; :class:`MalformedVerdict` says what is wrong."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    body = text.strip()
    fenced = _FENCE.fullmatch(body)
    if fenced:
        body = fenced.group(1).strip()
    try:
        value = json.loads(body, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise MalformedVerdict(f"not a JSON object ({exc.msg} at character {exc.pos})") from None
    if not isinstance(value, dict):
        raise MalformedVerdict(f"not a JSON object but {type(value).__name__}")
    error = best_match(Draft202012Validator(schema).iter_errors(value))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "the object"
        raise MalformedVerdict(f"does not match the schema at {where}: {error.message}")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise MalformedVerdict(f"duplicate key(s) {', '.join(repeated)}")
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise MalformedVerdict(f"{name} is not a JSON number")


def majority(votes: Sequence[V], prefer: Sequence[V] = ()) -> tuple[V, bool]:
    """The most common vote and whether it was tied with another.

    On a tie the first tied value in ``prefer`` wins (e.g. the lowest score, or "tie"),
    else the smallest tied value: a tie never breaks towards the more favourable verdict
    by accident of ordering.
    """
    if not votes:
        raise ValueError("majority of no votes")
    counts = Counter(votes)
    top = max(counts.values())
    tied = sorted(value for value, count in counts.items() if count == top)
    for value in prefer:
        if value in tied:
            return value, len(tied) > 1
    return tied[0], len(tied) > 1
