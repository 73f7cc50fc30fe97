"""Usage metrics: percentiles as numpy computes them, means, throughput and cost."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tunegate.metrics import METRICS
from tunegate.metrics.usage import RequestUsage, cost_per_1000, usage_metrics

LATENCIES = [12.0, 40.0, 7.5, 100.0, 33.0, 20.0, 18.0, 250.0, 9.0, 61.0]
USAGE = [RequestUsage(50 + i, 2, ms, 4.0) for i, ms in enumerate(LATENCIES)]


def test_percentiles_and_means_equal_numpys():
    metrics = usage_metrics(USAGE)
    assert metrics.latency_p50_ms == pytest.approx(np.percentile(LATENCIES, 50))
    assert metrics.latency_p95_ms == pytest.approx(np.percentile(LATENCIES, 95))
    assert metrics.input_tokens_per_request == pytest.approx(54.5)
    assert metrics.tokens_per_request == pytest.approx(56.5)
    assert (metrics.requests, metrics.missing) == (10, 0)
    assert metrics.requests_per_second == pytest.approx(250.0)


def test_unmeasured_requests_are_counted_and_left_out_of_the_figures():
    metrics = usage_metrics([*USAGE, RequestUsage(None, 1, None, None)])
    assert metrics.missing == 1
    assert metrics.latency_p95_ms == pytest.approx(np.percentile(LATENCIES, 95))
    empty = usage_metrics([])
    assert empty.requests == 0 and math.isnan(empty.latency_p50_ms)


def test_cost_by_tokens_and_by_gpu_hour():
    metrics = usage_metrics(USAGE)
    # 1,000 requests of 54.5 input and 2 output tokens at 0.5 / 1.5 per million tokens
    assert cost_per_1000(metrics, input_per_million=0.5, output_per_million=1.5) == \
        pytest.approx((54.5 * 0.5 + 2 * 1.5) * 1000 / 1e6)
    # 1,000 requests of 4 ms busy time each = 4 s of a 3.60-per-hour machine
    assert cost_per_1000(metrics, gpu_hour=3.6) == pytest.approx(0.004)
    with pytest.raises(ValueError, match="not both"):
        cost_per_1000(metrics, input_per_million=1.0, gpu_hour=1.0)
    with pytest.raises(ValueError, match="no price"):
        cost_per_1000(metrics)


def test_usage_metrics_are_registered_lower_is_better():
    for name in ("latency_p50_ms", "latency_p95_ms", "tokens_per_request", "cost_per_1000"):
        assert METRICS[name].higher_is_better is False
