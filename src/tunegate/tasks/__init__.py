"""Tasks: how examples become backend requests, and responses become predictions."""

from tunegate.tasks.classification import ClassificationTask, Prediction, Predictions

__all__ = ["ClassificationTask", "Prediction", "Predictions"]
