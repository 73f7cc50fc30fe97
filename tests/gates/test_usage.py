"""The latency, token and cost ceilings: pass, fail, and could not evaluate."""

from __future__ import annotations

import pytest

from tunegate.gates.usage import usage_ceiling
from tunegate.metrics.usage import RequestUsage

FAST = [RequestUsage(60, 1, 10.0 + i, 2.0) for i in range(20)]


def test_within_every_ceiling_passes_and_shows_the_figures():
    result = usage_ceiling(FAST, max_p95_ms=50, max_tokens_per_request=100,
                           max_cost_per_1000=0.01, prices={"gpu_hour": 1.0},
                           ids=[f"e{i}" for i in range(20)])
    assert result.passed, result.explain()
    assert result.values["latency_p95_ms"] == pytest.approx(28.05)
    assert result.directions == {"latency_p95_ms": "<=", "tokens_per_request": "<=",
                                 "cost_per_1000": "<="}
    assert result.evidence["slowest"][0] == {"id": "e19", "latency_ms": 29.0}
    assert result.evidence["usage"]["requests_per_second"] == pytest.approx(500.0)


def test_slow_requests_fail_the_latency_ceiling_and_are_listed():
    slow = [*FAST, *(RequestUsage(60, 1, 900.0, 2.0) for _ in range(3))]
    result = usage_ceiling(slow, max_p95_ms=50, ids=[f"e{i}" for i in range(23)])
    assert not result.passed and result.error is None
    assert "latency_p95_ms" in result.reason
    assert [row["latency_ms"] for row in result.evidence["slowest"][:3]] == [900.0] * 3


def test_long_prompts_fail_the_token_ceiling():
    result = usage_ceiling([RequestUsage(400, 1, 5.0, 1.0)] * 4, max_tokens_per_request=100)
    assert not result.passed and "tokens_per_request 401.0000 > 100.0000" in result.reason


def test_unmeasured_usage_fails_closed_and_says_how_to_measure_it():
    result = usage_ceiling([*FAST, RequestUsage(None, 1, None, None)], max_p95_ms=50)
    assert not result.passed and result.status == "NOT EVALUATED"
    assert "not measured for 1 of 21 requests" in (result.error or "")
    assert "--tg-no-cache" in (result.error or "")
    assert usage_ceiling([], max_p95_ms=50).error == "no requests"


def test_misconfiguration_is_an_error_not_a_verdict():
    with pytest.raises(ValueError, match="at least one"):
        usage_ceiling(FAST)
    with pytest.raises(ValueError, match="needs prices"):
        usage_ceiling(FAST, max_cost_per_1000=1.0)
    with pytest.raises(ValueError, match="ids for"):
        usage_ceiling(FAST, max_p95_ms=1.0, ids=["a"])
