"""Tasks: how examples become backend requests, and responses become predictions."""

from tunegate.tasks.classification import ClassificationTask, Prediction, Predictions
from tunegate.tasks.extraction import Extraction, Extractions, ExtractionTask

__all__ = [
    "ClassificationTask",
    "Extraction",
    "ExtractionTask",
    "Extractions",
    "Prediction",
    "Predictions",
]
