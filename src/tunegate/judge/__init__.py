"""LLM-as-judge: rubrics, pointwise and pairwise judging, calibration against people.

A judge is a model reference on any backend (usually an OpenAI-compatible server),
called through ``generate`` and so through the response cache. Its verdicts count in
a gate only once its agreement with human labels reaches the configured floor.
"""

from tunegate.judge._calibration import (
    Agreement,
    CalibrationItem,
    CalibrationReport,
    agreement,
    calibrate,
    load_calibration,
)
from tunegate.judge._judge import (
    GradeItem,
    Judge,
    PairItem,
    PairwiseVerdict,
    PointwiseVerdict,
    configured_rubrics,
    judge_from_config,
    judge_unavailable,
)
from tunegate.judge._prompt import boundary_for, pairwise_messages, pointwise_messages
from tunegate.judge._rubric import Rubric, RubricError, load_rubric, rubric_from_dict
from tunegate.judge._summary import (
    PairwiseSummary,
    ScoreSummary,
    pairwise_summary,
    score_summary,
)
from tunegate.judge._verdict import MalformedVerdict, majority, parse_verdict

__all__ = [
    "Agreement",
    "CalibrationItem",
    "CalibrationReport",
    "GradeItem",
    "Judge",
    "MalformedVerdict",
    "PairItem",
    "PairwiseSummary",
    "PairwiseVerdict",
    "PointwiseVerdict",
    "Rubric",
    "RubricError",
    "ScoreSummary",
    "agreement",
    "boundary_for",
    "calibrate",
    "configured_rubrics",
    "judge_from_config",
    "judge_unavailable",
    "load_calibration",
    "load_rubric",
    "majority",
    "pairwise_messages",
    "pairwise_summary",
    "parse_verdict",
    "pointwise_messages",
    "rubric_from_dict",
    "score_summary",
]
