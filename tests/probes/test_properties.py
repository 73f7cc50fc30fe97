"""Every family accepts any text: no exception, always a string, always deterministic."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tunegate.data import Example
from tunegate.probes import FAMILIES, ProbeContext, generate_probes

CONTEXT = ProbeContext(labels=("billing", "other"), label="billing", overlong_chars=300)


@pytest.mark.parametrize("name", sorted(FAMILIES))
@settings(max_examples=150, deadline=None, database=None)
@given(text=st.text(), seed=st.integers(min_value=0, max_value=2**32))
def test_family_accepts_any_text(name: str, text: str, seed: int) -> None:
    perturb = FAMILIES[name].perturb
    result = perturb(text, random.Random(seed), CONTEXT)
    assert isinstance(result.text, str)
    assert perturb(text, random.Random(seed), CONTEXT) == result


@settings(max_examples=60, deadline=None, database=None)
@given(text=st.text(min_size=1), label=st.sampled_from(["billing", "other"]))
def test_generate_probes_accepts_any_prompt(text: str, label: str) -> None:
    source = Example(id="x", prompt=text, reference=label)
    for probe in generate_probes([source], seed=0, overlong_chars=300):
        assert probe.prompt is not None and probe.prompt != text
        assert probe.label == ("other" if probe.meta["probe_family"] == "ood" else label)
