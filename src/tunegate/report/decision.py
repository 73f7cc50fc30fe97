"""The decision table: was fine-tuning worth it?

One row per reference the run evaluated on the eval split — prompted baselines,
production, candidate — with its quality (and a bootstrap interval), P50/P95 latency,
tokens per request and cost per 1,000 requests, all from the same examples. Built from
what the session computed; nothing is evaluated just to fill the table.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pydantic import BaseModel

from tunegate.metrics.usage import RequestUsage, UsageMetrics, cost_per_1000, usage_metrics

if TYPE_CHECKING:
    from tunegate.backends._protocol import ModelRef
    from tunegate.session import GateSession

__all__ = ["DecisionRow", "decision_rows"]

_ORDER = {"baseline": 0, "base": 1, "production": 2, "candidate": 3}


class DecisionRow(BaseModel):
    """One reference's quality, latency, tokens and cost on the eval split."""

    task: str
    reference: str  # the role or the baseline's name
    kind: str  # "base", "adapter", "base, prompted 4-shot", ...
    role: str  # base, production, candidate or baseline
    n: int
    metric: str  # macro_f1 (classification) or exact_match (extraction: exact fields)
    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    accuracy: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    tokens_per_request: float | None = None
    input_tokens_per_request: float | None = None
    cost_per_1000: float | None = None
    currency: str | None = None


def decision_rows(session: GateSession) -> list[DecisionRow]:
    """The table's rows for ``session``'s task, in baseline → candidate order."""
    split = "eval"
    rows = []
    for (name, _, where), predictions in session._predictions.items():
        if where != split:
            continue
        ref = session._refs.get(name)
        labels = list(predictions.labels)
        y_true = [labels.index(g) if g in labels else -1 for g in predictions.gold]
        y_pred = [labels.index(p) for p in predictions.predicted]
        value, low, high = _macro_f1_interval(y_true, y_pred, len(labels), session.config.seed)
        accuracy = sum(p.correct for p in predictions.items) / max(len(predictions.items), 1)
        rows.append(_row(session, name, ref, "macro_f1", value, low, high, accuracy,
                         predictions.usage))
    fields = getattr(session.config.task, "exact_fields", ())
    for (name, _, where), extractions in session._extractions.items():
        if where != split:
            continue
        ref = session._refs.get(name)
        value, low, high = _rate_interval([item.matches(fields) for item in extractions.items])
        rows.append(_row(session, name, ref, "exact_match", value, low, high, value,
                         extractions.usage))
    return sorted(rows, key=lambda r: (_ORDER.get(r.role, 0), r.reference))


def _row(session: GateSession, name: str, ref: ModelRef | None, metric: str, value: float,
         low: float | None, high: float | None, accuracy: float,
         usages: list[RequestUsage]) -> DecisionRow:
    usage = usage_metrics(usages)
    role = name if name in _ORDER else "baseline"
    kind = "adapter" if ref is not None and ref.adapter is not None else "base"
    if ref is not None and ref.prompting is not None:
        kind += f", prompted {ref.prompting.describe()}"
    cost = _cost(session, usage)
    return DecisionRow(
        task=session.config.name, reference=name, kind=kind, role=role, n=len(usages),
        metric=metric, value=value, ci_low=low, ci_high=high, accuracy=accuracy,
        latency_p50_ms=_finite(usage.latency_p50_ms), latency_p95_ms=_finite(usage.latency_p95_ms),
        tokens_per_request=_finite(usage.tokens_per_request),
        input_tokens_per_request=_finite(usage.input_tokens_per_request),
        cost_per_1000=cost, currency=session.config.cost.currency if cost is not None
        and session.config.cost is not None else None,
    )


def _cost(session: GateSession, usage: UsageMetrics) -> float | None:
    prices = session.config.cost
    if prices is None or usage.missing:
        return None
    value = cost_per_1000(usage, **prices.model_dump(exclude={"currency"}, exclude_none=True))
    return _finite(value)


def _macro_f1_interval(y_true: list[int], y_pred: list[int], classes: int,
                       seed: int) -> tuple[float, float | None, float | None]:
    from functools import partial

    from tunegate.metrics.paired import bootstrap_metric, macro_f1_from_indices

    metric = partial(macro_f1_from_indices, n_classes=classes)
    known = [(t, p) for t, p in zip(y_true, y_pred, strict=True) if t >= 0]
    if not known:
        return math.nan, None, None
    truth, pred = zip(*known, strict=True)
    try:
        interval = bootstrap_metric(list(truth), list(pred), metric, seed=seed)
    except ValueError:
        return metric(list(truth), list(pred)), None, None
    return interval.value, interval.low, interval.high


def _rate_interval(hits: list[bool]) -> tuple[float, float | None, float | None]:
    from tunegate.metrics.paired import wilson_interval

    if not hits:
        return math.nan, None, None
    low, high = wilson_interval(sum(hits), len(hits))
    return sum(hits) / len(hits), low, high


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
