"""Strict verdict parsing and majority votes."""

from __future__ import annotations

import pytest

from tunegate.judge import MalformedVerdict, majority, parse_verdict

SCHEMA = {"type": "object", "required": ["score", "reason"], "additionalProperties": False,
          "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 5},
                         "reason": {"type": "string", "minLength": 1}}}


@pytest.mark.parametrize("reply", [
    '{"score": 4, "reason": "right team"}',
    '  {"reason": "right team", "score": 4}\n',
    '```json\n{"score": 4, "reason": "right team"}\n```',
])
def test_a_json_object_matching_the_schema_is_a_verdict(reply):
    assert parse_verdict(reply, SCHEMA) == {"score": 4, "reason": "right team"}


@pytest.mark.parametrize(("reply", "problem"), [
    ('Sure! {"score": 4, "reason": "x"}', "not a JSON object"),
    ('{"score": 4, "reason": "x"} I hope this helps', "not a JSON object"),
    ("[4]", "not a JSON object but list"),
    ('{"score": 6, "reason": "x"}', "at score: 6 is greater than the maximum of 5"),
    ('{"score": "5", "reason": "x"}', "at score: '5' is not of type 'integer'"),
    ('{"score": true, "reason": "x"}', "is not of type 'integer'"),
    ('{"score": 4}', "'reason' is a required property"),
    ('{"score": 4, "reason": "x", "bonus": 1}', "Additional properties"),
    ('{"score": 4, "score": 5, "reason": "x"}', "duplicate key(s) score"),
    ('{"score": NaN, "reason": "x"}', "NaN is not a JSON number"),
    ("", "not a JSON object"),
])
def test_anything_else_is_malformed(reply, problem):
    with pytest.raises(MalformedVerdict) as caught:
        parse_verdict(reply, SCHEMA)
    assert problem in str(caught.value)


def test_majority_reports_ties_and_breaks_them_conservatively():
    assert majority([4, 4, 2]) == (4, False)
    assert majority([5, 3]) == (3, True)  # the lower score on a tie
    assert majority([5, 5, 3, 3, 4], prefer=[3, 4, 5]) == (3, True)
    assert majority(["A", "B"], prefer=["tie"]) == ("A", True)
    assert majority(["A", "B", "tie", "tie"], prefer=["tie"]) == ("tie", False)
    assert majority(["B", "A", "tie"], prefer=["tie"]) == ("tie", True)
    with pytest.raises(ValueError):
        majority([])
