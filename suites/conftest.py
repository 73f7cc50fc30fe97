"""The example release gate's shared fixtures: predictions computed once per run.

Copy suites/ into your project and point [tool.tunegate] at your base model, adapters
and data; the tests below stay the same.
"""

from __future__ import annotations

import pytest

from tunegate.backends import ModelRef
from tunegate.metrics import ClassificationMetrics, classification_metrics
from tunegate.session import GateSession
from tunegate.tasks import Predictions


@pytest.fixture(scope="session")
def candidate_eval(tg_session: GateSession, tg_candidate: ModelRef) -> Predictions:
    """The candidate's predictions on the eval set."""
    return tg_session.predictions(tg_candidate, "eval")


@pytest.fixture(scope="session")
def candidate_metrics(candidate_eval: Predictions) -> ClassificationMetrics:
    return classification_metrics(candidate_eval.gold, candidate_eval.predicted,
                                  candidate_eval.labels)


@pytest.fixture(scope="session")
def production_metrics(tg_session: GateSession, tg_production: ModelRef) -> ClassificationMetrics:
    """Production's metrics on the same eval set (skipped when there is no production)."""
    predictions = tg_session.predictions(tg_production, "eval")
    return classification_metrics(predictions.gold, predictions.predicted, predictions.labels)
