"""Usage metrics: latency percentiles, tokens per request and cost per 1,000 requests.

Pure functions over what backends measured per request (:class:`RequestUsage`).
Latency is what a request waited for its answer; ``busy_ms`` its share of the
backend's busy time, so ``1000 / busy_ms_per_request`` is the measured throughput in
requests per second, which prices a self-hosted model by the GPU hour.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from tunegate.metrics.classification import MetricInfo

__all__ = ["METRICS", "RequestUsage", "UsageMetrics", "cost_per_1000", "usage_metrics"]

METRICS: dict[str, MetricInfo] = {
    info.name: info
    for info in (
        MetricInfo("latency_p50_ms", False, "median time a request waited for its answer"),
        MetricInfo("latency_p95_ms", False, "95th percentile of the time a request waited"),
        MetricInfo("tokens_per_request", False, "input plus output tokens, mean per request"),
        MetricInfo("input_tokens_per_request", False, "prompt tokens, mean per request"),
        MetricInfo("cost_per_1000", False, "cost of 1,000 requests under the cost model"),
    )
}


@dataclass(frozen=True)
class RequestUsage:
    """What one request cost: tokens in and out, time waited, share of busy time.

    For a scored classification the output is the predicted label's tokens (what the
    model would generate to answer); for a generation, the generated tokens. Any field
    is None when the backend did not measure it (an answer cached before tunegate
    recorded usage).
    """

    input_tokens: int | None
    output_tokens: int | None
    latency_ms: float | None
    busy_ms: float | None


@dataclass(frozen=True)
class UsageMetrics:
    """Usage over a set of requests; NaN where no request measured the quantity.

    ``missing`` counts requests without a latency or token count: a gate on these
    figures cannot be evaluated while any is missing.
    """

    requests: int
    missing: int
    latency_p50_ms: float
    latency_p95_ms: float
    input_tokens_per_request: float
    output_tokens_per_request: float
    busy_ms_per_request: float

    @property
    def tokens_per_request(self) -> float:
        return self.input_tokens_per_request + self.output_tokens_per_request

    @property
    def requests_per_second(self) -> float:
        """Measured throughput: requests the backend completes per second of busy time."""
        busy = self.busy_ms_per_request
        return 1000.0 / busy if busy > 0 else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "tokens_per_request": self.tokens_per_request,
                "requests_per_second": self.requests_per_second}


def usage_metrics(usages: Sequence[RequestUsage]) -> UsageMetrics:
    """Latency percentiles (linear interpolation, as numpy's default) and means."""
    import numpy as np

    latencies = [u.latency_ms for u in usages if u.latency_ms is not None]
    inputs = [u.input_tokens for u in usages if u.input_tokens is not None]
    outputs = [u.output_tokens for u in usages if u.output_tokens is not None]
    busy = [u.busy_ms for u in usages if u.busy_ms is not None]
    missing = sum(
        1 for u in usages if u.latency_ms is None or u.input_tokens is None
        or u.output_tokens is None or u.busy_ms is None
    )

    def mean(values: Sequence[float]) -> float:
        return float(np.mean(values)) if values else math.nan

    p50, p95 = (np.percentile(latencies, [50, 95]).tolist() if latencies
                else (math.nan, math.nan))
    return UsageMetrics(
        requests=len(usages), missing=missing, latency_p50_ms=float(p50),
        latency_p95_ms=float(p95), input_tokens_per_request=mean(inputs),
        output_tokens_per_request=mean(outputs), busy_ms_per_request=mean(busy),
    )


def cost_per_1000(
    usage: UsageMetrics,
    *,
    input_per_million: float | None = None,
    output_per_million: float | None = None,
    gpu_hour: float | None = None,
) -> float:
    """Cost of 1,000 requests: by token prices (per million input/output tokens), or by
    the price of a GPU hour and the measured throughput. NaN when the figures it needs
    were not measured."""
    if gpu_hour is not None:
        if input_per_million is not None or output_per_million is not None:
            raise ValueError("price by tokens or by the GPU hour, not both")
        hours = 1000 * usage.busy_ms_per_request / 3_600_000
        return gpu_hour * hours
    if input_per_million is None and output_per_million is None:
        raise ValueError("no price: give input_per_million/output_per_million or gpu_hour")
    cost = 0.0
    if input_per_million is not None:
        cost += input_per_million * usage.input_tokens_per_request * 1000 / 1e6
    if output_per_million is not None:
        cost += output_per_million * usage.output_tokens_per_request * 1000 / 1e6
    return cost
