"""Latency, tokens and cost ceilings: what serving the candidate costs per request.

A fine-tuned adapter is expected to answer faster and with shorter prompts than a
prompted base model; these gates hold the measured figures to ceilings. They fail
closed: a request whose usage was not measured (an answer cached before tunegate
recorded usage, a backend that cannot tell) makes the gate not evaluated, never passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tunegate.gates._result import MAX_ROWS, GateResult, gate_error
from tunegate.gates.floors import Bound, _bounded_gate, _direction
from tunegate.metrics.usage import RequestUsage, cost_per_1000, usage_metrics

__all__ = ["usage_ceiling"]


def usage_ceiling(
    usages: Sequence[RequestUsage],
    *,
    max_p50_ms: float | None = None,
    max_p95_ms: float | None = None,
    max_tokens_per_request: float | None = None,
    max_cost_per_1000: float | None = None,
    prices: dict[str, float] | None = None,
    ids: Sequence[str] | None = None,
    name: str = "usage",
) -> GateResult:
    """Hold P50/P95 latency, tokens per request and cost per 1,000 requests to ceilings.

    ``prices`` are :func:`~tunegate.metrics.usage.cost_per_1000`'s keyword arguments
    (``input_per_million``/``output_per_million`` or ``gpu_hour``); a cost ceiling needs
    them. The evidence holds every usage figure, the measured throughput, the cost when
    priced, and the slowest requests (by ``ids`` when given).
    """
    if all(v is None for v in (max_p50_ms, max_p95_ms, max_tokens_per_request,
                               max_cost_per_1000)):
        raise ValueError("give at least one of max_p50_ms, max_p95_ms, "
                         "max_tokens_per_request, max_cost_per_1000")
    if max_cost_per_1000 is not None and not prices:
        raise ValueError("a cost ceiling needs prices ([tool.tunegate.cost])")
    if ids is not None and len(ids) != len(usages):
        raise ValueError(f"{len(ids)} ids for {len(usages)} usages")
    metrics = usage_metrics(usages)
    cost = cost_per_1000(metrics, **prices) if prices else None
    figures = {
        "latency_p50_ms": (metrics.latency_p50_ms, max_p50_ms),
        "latency_p95_ms": (metrics.latency_p95_ms, max_p95_ms),
        "tokens_per_request": (metrics.tokens_per_request, max_tokens_per_request),
        "cost_per_1000": (cost, max_cost_per_1000),
    }
    bounds: list[Bound] = [(key, key, value, limit) for key, (value, limit) in figures.items()
                           if limit is not None and value is not None]
    evidence: dict[str, Any] = {"usage": metrics.to_dict()}
    if cost is not None:
        evidence["cost_per_1000"] = cost
    names = list(ids) if ids is not None else [str(i) for i in range(len(usages))]
    timed = sorted(((u.latency_ms, n) for u, n in zip(usages, names, strict=True)
                    if u.latency_ms is not None), reverse=True)
    evidence["slowest"] = [{"id": n, "latency_ms": round(ms, 2)} for ms, n in timed[:MAX_ROWS]]
    if not usages or metrics.missing:
        thresholds = {key: float(limit) for key, _, _, limit in bounds}
        why = ("no requests" if not usages else
               f"usage not measured for {metrics.missing} of {metrics.requests} requests "
               "(answers cached before tunegate recorded usage, or a backend that does not "
               "measure it): rerun with --tg-no-cache")
        return gate_error(name, why, thresholds=thresholds, evidence=evidence,
                          directions={key: _direction(key) for key in thresholds})
    return _bounded_gate(name, bounds, evidence)
