"""Label distributions: drift between two sets, class balance, annotator agreement.

These functions measure; the gates in :mod:`tunegate.gates.hygiene` decide. Drift is
reported both as an effect size (total-variation distance, what the gate holds to a
bound) and as a chi-square test of homogeneity (its p-value, reported): with a few
thousand examples a small, intended shift is already 'significant', so a p-value
alone would flag it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from tunegate.data.hygiene._records import Record, field_value

__all__ = [
    "Agreement",
    "ClassBalance",
    "LabelDrift",
    "annotator_agreement",
    "class_balance",
    "label_drift",
    "records_without_label",
]


@dataclass(frozen=True)
class LabelDrift:
    """How a label distribution differs from a reference one.

    ``total_variation`` is half the L1 distance between the two share vectors (0: same
    distribution, 1: disjoint). ``p_value`` is the chi-square test of homogeneity on
    the 2 x k count table; ``only_in_*`` name labels that one side never has.
    """

    labels: tuple[str, ...]
    reference_counts: tuple[int, ...]
    counts: tuple[int, ...]
    total_variation: float
    chi2: float
    p_value: float
    dof: int

    def shares(self, counts: Sequence[int]) -> list[float]:
        total = sum(counts)
        return [n / total for n in counts] if total else [0.0 for _ in counts]

    @property
    def only_in_reference(self) -> tuple[str, ...]:
        return tuple(lab for lab, n, m in zip(self.labels, self.reference_counts, self.counts,
                                              strict=True) if n and not m)

    @property
    def only_in_checked(self) -> tuple[str, ...]:
        return tuple(lab for lab, n, m in zip(self.labels, self.reference_counts, self.counts,
                                              strict=True) if m and not n)


@dataclass(frozen=True)
class ClassBalance:
    """Label counts of one set with the smallest and largest class."""

    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def smallest(self) -> str:
        return min(sorted(self.counts), key=lambda label: self.counts[label])

    @property
    def largest(self) -> str:
        return max(sorted(self.counts), key=lambda label: self.counts[label])

    @property
    def min_share(self) -> float:
        return self.counts[self.smallest] / self.total

    @property
    def ratio(self) -> float:
        """Smallest class count over largest (1: balanced)."""
        return self.counts[self.smallest] / self.counts[self.largest]


@dataclass(frozen=True)
class Agreement:
    """Agreement of two label columns on the records that have both.

    ``kappa`` (Cohen's) is NaN when it is undefined: both columns use one and the same
    label throughout, so chance agreement is already perfect.
    """

    compared: int
    missing: int
    agreement: float
    kappa: float
    disagreements: tuple[tuple[Record, str, str], ...]


def records_without_label(records: Sequence[Record]) -> list[Record]:
    """Records that have no label (no ``label`` and no answer to take it from)."""
    return [r for r in records if r.label is None]


def label_drift(reference: Sequence[Record], checked: Sequence[Record]) -> LabelDrift:
    """The label distribution of ``checked`` (eval) against ``reference`` (train).

    Unlabelled records are ignored; call :func:`records_without_label` to find them.
    Raises ValueError when either side has no labels at all.
    """
    first = Counter(r.label for r in reference if r.label is not None)
    second = Counter(r.label for r in checked if r.label is not None)
    if not first or not second:
        raise ValueError("both sets need labelled records to compare label distributions")
    labels = tuple(sorted(set(first) | set(second)))
    ref_counts = tuple(first[label] for label in labels)
    counts = tuple(second[label] for label in labels)
    n, m = sum(ref_counts), sum(counts)
    tv = 0.5 * sum(abs(a / n - b / m) for a, b in zip(ref_counts, counts, strict=True))
    chi2, p_value, dof = _chi_square(ref_counts, counts)
    return LabelDrift(labels, ref_counts, counts, tv, chi2, p_value, dof)


def _chi_square(first: Sequence[int], second: Sequence[int]) -> tuple[float, float, int]:
    """Chi-square test of homogeneity of a 2 x k table (one label: no difference)."""
    if len(first) < 2:
        return 0.0, 1.0, 0
    from scipy.stats import chi2_contingency

    result = chi2_contingency([list(first), list(second)])
    return float(result.statistic), float(result.pvalue), int(result.dof)


def class_balance(records: Sequence[Record]) -> ClassBalance:
    """Label counts of the labelled records; ValueError when there are none."""
    counts = Counter(r.label for r in records if r.label is not None)
    if not counts:
        raise ValueError("no labelled records")
    return ClassBalance(dict(sorted(counts.items())))


def annotator_agreement(records: Sequence[Record], second_field: str) -> Agreement:
    """Raw agreement and Cohen's kappa between the label and ``second_field``
    (a dotted path such as ``meta.label_2``), over records that have both.

    Raises ValueError when no record has both.
    """
    pairs = [(r, r.label, field_value(r, second_field)) for r in records]
    both = [(r, str(a), str(b)) for r, a, b in pairs if a is not None and b is not None]
    if not both:
        raise ValueError(f"no record has both a label and {second_field!r}")
    first = [a for _, a, _ in both]
    second = [b for _, _, b in both]
    agreement = sum(a == b for a, b in zip(first, second, strict=True)) / len(both)
    kappa = math.nan
    if len(set(first) | set(second)) > 1:
        from sklearn.metrics import cohen_kappa_score

        kappa = float(cohen_kappa_score(first, second))
    disagreements = tuple((r, a, b) for r, a, b in both if a != b)
    return Agreement(len(both), len(records) - len(both), agreement, kappa, disagreements)
