"""Data-hygiene gates: chat format, duplicates, leakage, personal data, labels.

Each gate measures with :mod:`tunegate.data.hygiene` and holds the measurement to the
threshold it is given, returning a :class:`GateResult` whose evidence names the
offending records by id and file:line. A gate that cannot be evaluated (no records,
no labels) fails closed. :func:`check_data` runs all of them over files, for the
``tunegate data check`` command.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunegate.data.hygiene import (
    ChatRules,
    NearDuplicateSpec,
    Record,
    RecordFinding,
    RecordSet,
    all_records,
    annotator_agreement,
    class_balance,
    detect_pii,
    field_value,
    find_duplicates,
    find_leakage,
    label_drift,
    read_records,
    redact,
    scan_records,
)
from tunegate.gates._result import GateResult, gate_error

if TYPE_CHECKING:
    from tunegate.config import HygieneConfig

__all__ = [
    "MAX_CLASSES",
    "HygieneCheck",
    "annotator_agreement_floor",
    "chat_format_valid",
    "chat_rules",
    "check_data",
    "class_balance_floor",
    "duplicate_share_at_most",
    "label_drift_at_most",
    "near_duplicate_spec",
    "no_leakage",
    "no_personal_data",
]

EVIDENCE_ROWS = 200
"""Offending records kept in a result's evidence; the total is counted beside them."""

MAX_CLASSES = 50
"""More distinct labels than this (or than a fifth of the records) means the labels are
free text (extraction references), not classes: label checks do not apply."""

_EXCERPT = 30


def chat_format_valid(
    sets: Sequence[RecordSet], *, max_invalid: int = 0, name: str = "chat_format"
) -> GateResult:
    """At most ``max_invalid`` lines break the chat format; every issue is evidence."""
    lines = sum(s.lines for s in sets)
    thresholds = {"invalid_examples": float(max_invalid)}
    if lines == 0:
        return gate_error(name, "no examples to validate", thresholds=thresholds,
                          directions={"invalid_examples": "<="})
    issues = [issue for s in sets for issue in s.issues]
    invalid = len({(issue.path, issue.line) for issue in issues})
    rows = [{"at": i.where, "field": i.field or "-", "reason": i.reason} for i in issues]
    passed = invalid <= max_invalid
    reason = (f"{invalid} of {lines} examples break the chat format"
              + ("" if passed else f" (at most {max_invalid} allowed)"))
    return GateResult(name, passed, {"invalid_examples": float(invalid)}, thresholds,
                      _rows("issues", rows), reason, None, {"invalid_examples": "<="})


def duplicate_share_at_most(
    records: Sequence[Record],
    spec: NearDuplicateSpec,
    *,
    max_exact_share: float,
    max_near_share: float,
    name: str = "duplicates",
) -> GateResult:
    """Exact repeats and near-duplicate redundancy within one set, each bounded.

    ``near_duplicate_share`` counts every record beyond the first of its cluster of
    exact or near duplicates, so it is never below ``exact_duplicate_share``.
    """
    thresholds = {"exact_duplicate_share": max_exact_share, "near_duplicate_share": max_near_share}
    directions: Any = dict.fromkeys(thresholds, "<=")
    if not records:
        return gate_error(name, "no records", thresholds=thresholds, directions=directions)
    report = find_duplicates(records, spec)
    values = {"exact_duplicate_share": report.exact_redundant / report.examples,
              "near_duplicate_share": report.redundant / report.examples}
    exact = [{"id": p.second.id, "at": p.second.where, "same_as": p.first.id,
              "same_as_at": p.first.where} for p in report.exact_pairs()]
    near = [{"id": p.first.id, "at": p.first.where, "near": p.second.id,
             "near_at": p.second.where, "jaccard": round(p.jaccard, 4), "text": p.first.text}
            for p in report.near_pairs]
    evidence = {"examples": report.examples, "exact_repeats": report.exact_redundant,
                "redundant": report.redundant, "near_pairs_found": len(near),
                "jaccard_threshold": spec.threshold,
                **_rows("exact_duplicates", exact), **_rows("near_duplicates", near)}
    missed = [k for k in values if values[k] > thresholds[k]]
    reason = (f"{report.exact_redundant} exact repeats and {report.redundant} redundant "
              f"records (exact or Jaccard >= {spec.threshold}) in {report.examples}")
    if missed:
        reason += ": " + ", ".join(f"{k} {values[k]:.4f} > {thresholds[k]:.4f}" for k in missed)
    return GateResult(name, not missed, values, thresholds, evidence, reason, None, directions)


def no_leakage(
    source: Sequence[Record],
    checked: Sequence[Record],
    spec: NearDuplicateSpec,
    *,
    max_leaked_share: float = 0.0,
    name: str = "leakage",
) -> GateResult:
    """At most ``max_leaked_share`` of ``checked`` occurs exactly or nearly in ``source``."""
    thresholds = {"leaked_share": max_leaked_share}
    if not source or not checked:
        return gate_error(name, f"nothing to compare: {len(source)} source and "
                          f"{len(checked)} checked records", thresholds=thresholds,
                          directions={"leaked_share": "<="})
    report = find_leakage(source, checked, spec)
    share = report.leaked / report.examples
    rows = [{"id": p.item.id, "at": p.item.where, "train_id": p.source.id,
             "train_at": p.source.where, "jaccard": round(p.jaccard, 4),
             "kind": "exact" if p.exact else "near", "matches": p.matches, "text": p.item.text}
            for p in report.pairs]
    passed = share <= max_leaked_share
    reason = (f"{report.leaked} of {report.examples} records occur in the source "
              f"({report.exact} exact, {report.leaked - report.exact} near, Jaccard >= "
              f"{spec.threshold})")
    evidence = {"checked": report.examples, "source": len(source), "leaked": report.leaked,
                **_rows("leaked_pairs", rows)}
    return GateResult(name, passed, {"leaked_share": share}, thresholds, evidence, reason,
                      None, {"leaked_share": "<="})


def no_personal_data(
    records: Sequence[Record],
    *,
    max_findings: int = 0,
    kinds: Collection[str] | None = None,
    name: str = "personal_data",
) -> GateResult:
    """At most ``max_findings`` pieces of personal data in the records' text fields.

    The evidence shows each finding's kind, field and span with the value redacted:
    the run record must not become a copy of the personal data it flags.
    """
    thresholds = {"pii_findings": float(max_findings)}
    if not records:
        return gate_error(name, "no records", thresholds=thresholds,
                          directions={"pii_findings": "<="})
    findings = scan_records(records, kinds)
    by_kind = Counter(f.finding.kind for f in findings)
    rows = [_finding_row(f, kinds) for f in findings]
    passed = len(findings) <= max_findings
    reason = f"{len(findings)} findings in {len({id(f.record) for f in findings})} of " \
             f"{len(records)} records" + (f" ({_counts(by_kind)})" if by_kind else "")
    evidence = {"by_kind": dict(sorted(by_kind.items())), **_rows("findings", rows)}
    return GateResult(name, passed, {"pii_findings": float(len(findings))}, thresholds,
                      evidence, reason, None, {"pii_findings": "<="})


def label_drift_at_most(
    reference: Sequence[Record],
    checked: Sequence[Record],
    *,
    max_tv: float,
    name: str = "label_drift",
) -> GateResult:
    """The total-variation distance between the label distributions is at most
    ``max_tv``; the chi-square p-value is reported beside it, not gated."""
    thresholds = {"total_variation": max_tv}
    try:
        drift = label_drift(reference, checked)
    except ValueError as exc:
        return gate_error(name, str(exc), thresholds=thresholds,
                          directions={"total_variation": "<="})
    rows = [{"label": label, "reference": a, "checked": b,
             "reference_share": round(sa, 4), "checked_share": round(sb, 4)}
            for label, a, b, sa, sb in zip(drift.labels, drift.reference_counts, drift.counts,
                                           drift.shares(drift.reference_counts),
                                           drift.shares(drift.counts), strict=True)]
    values = {"total_variation": drift.total_variation, "chi2_p_value": drift.p_value}
    passed = drift.total_variation <= max_tv
    reason = (f"total variation {drift.total_variation:.4f} "
              f"{'<=' if passed else '>'} {max_tv:.4f} (chi-square {drift.chi2:.2f}, "
              f"dof {drift.dof}, p = {drift.p_value:.3g})")
    evidence = {"shares": rows, "only_in_reference": list(drift.only_in_reference),
                "only_in_checked": list(drift.only_in_checked)}
    return GateResult(name, passed, values, thresholds, evidence, reason, None,
                      {"total_variation": "<="})


def class_balance_floor(
    records: Sequence[Record],
    *,
    min_share: float,
    min_ratio: float,
    name: str = "class_balance",
) -> GateResult:
    """The smallest class holds at least ``min_share`` of the records and at least
    ``min_ratio`` times the largest class's count."""
    thresholds = {"min_class_share": min_share, "class_ratio": min_ratio}
    directions: Any = dict.fromkeys(thresholds, ">=")
    try:
        balance = class_balance(records)
    except ValueError as exc:
        return gate_error(name, str(exc), thresholds=thresholds, directions=directions)
    values = {"min_class_share": balance.min_share, "class_ratio": balance.ratio}
    missed = [k for k in values if values[k] < thresholds[k]]
    reason = (f"smallest class {balance.smallest!r} {balance.counts[balance.smallest]} of "
              f"{balance.total}, largest {balance.largest!r} {balance.counts[balance.largest]}")
    if missed:
        reason += ": " + ", ".join(f"{k} {values[k]:.4f} < {thresholds[k]:.4f}" for k in missed)
    return GateResult(name, not missed, values, thresholds, {"counts": balance.counts},
                      reason, None, directions)


def annotator_agreement_floor(
    records: Sequence[Record],
    *,
    field: str,
    min_agreement: float,
    name: str = "annotator_agreement",
) -> GateResult:
    """Raw agreement between the label and a second label column is at least
    ``min_agreement``; Cohen's kappa is reported beside it."""
    thresholds = {"agreement": min_agreement}
    try:
        agreement = annotator_agreement(records, field)
    except ValueError as exc:
        return gate_error(name, str(exc), thresholds=thresholds, directions={"agreement": ">="})
    rows = [{"id": r.id, "at": r.where, "label": a, field: b}
            for r, a, b in agreement.disagreements]
    passed = agreement.agreement >= min_agreement
    reason = (f"{agreement.compared - len(rows)} of {agreement.compared} labels agree "
              f"(kappa {agreement.kappa:.3f}); {agreement.missing} records lack {field!r}")
    evidence = {"compared": agreement.compared, "missing": agreement.missing,
                **_rows("disagreements", rows)}
    return GateResult(name, passed, {"agreement": agreement.agreement, "kappa": agreement.kappa},
                      thresholds, evidence, reason, None, {"agreement": ">="})


def near_duplicate_spec(config: HygieneConfig) -> NearDuplicateSpec:
    """The configured definition of a near duplicate."""
    return NearDuplicateSpec(threshold=config.near_duplicate_jaccard, shingles=config.shingles,
                             shingle_size=config.shingle_size, num_perm=config.num_perm)


def chat_rules(config: HygieneConfig) -> ChatRules:
    """The configured chat-format rules."""
    return ChatRules(min_chars=config.min_chars, max_chars=config.max_chars)


@dataclass(frozen=True)
class HygieneCheck:
    """One row of ``tunegate data check``: a gate over a target, or why it was skipped."""

    target: str
    result: GateResult | None
    skipped: str = ""
    skipped_check: str = ""

    @property
    def name(self) -> str:
        return self.result.name if self.result is not None else self.skipped_check


def check_data(
    paths: Sequence[str | Path],
    against: Sequence[str | Path],
    config: HygieneConfig,
    probes: Sequence[str | Path] = (),
) -> list[HygieneCheck]:
    """Every hygiene gate over training files ``paths``, held-out files ``against``
    (leakage and label drift) and probe files ``probes`` (leakage only).

    Raises DataError when a file cannot be read; everything else is a check result.
    """
    rules, spec = chat_rules(config), near_duplicate_spec(config)
    train = [read_records(p, rules) for p in paths]
    held_out = [read_records(p, rules) for p in against]
    probe_sets = [read_records(p, rules) for p in probes]
    train_records = all_records(train)
    train_name = " + ".join(s.name for s in train)
    every = (*train, *held_out, *probe_sets)
    checks = [HygieneCheck(s.name, chat_format_valid([s])) for s in every]
    checks.append(HygieneCheck(train_name, duplicate_share_at_most(
        train_records, spec, max_exact_share=config.max_duplicate_share,
        max_near_share=config.max_near_duplicate_share)))
    checks += [HygieneCheck(f"{s.name} vs {train_name}", no_leakage(
        train_records, s.records, spec, max_leaked_share=config.max_leaked_share))
        for s in (*held_out, *probe_sets)]
    checks += [HygieneCheck(s.name, no_personal_data(
        s.records, max_findings=config.max_pii_findings, kinds=config.pii_kinds))
        for s in every]
    checks += _label_checks(train_records, train_name, held_out, config)
    return checks


def _label_checks(
    train: Sequence[Record], train_name: str, held_out: Sequence[RecordSet],
    config: HygieneConfig,
) -> list[HygieneCheck]:
    """Balance, drift and agreement, where the labels are classes."""
    if not _categorical(train):
        why = "labels are free text, not classes"
        return [HygieneCheck(train_name, None, why, name)
                for name in ("class_balance", "label_drift", "annotator_agreement")]
    checks = [HygieneCheck(train_name, class_balance_floor(
        train, min_share=config.min_class_share, min_ratio=config.min_class_ratio))]
    checks += [HygieneCheck(f"{s.name} vs {train_name}", label_drift_at_most(
        train, s.records, max_tv=config.max_label_tv)) for s in held_out]
    field = config.second_label_field
    for name, records in ((train_name, train), *((s.name, s.records) for s in held_out)):
        if any(field_value(r, field) is not None for r in records):
            checks.append(HygieneCheck(name, annotator_agreement_floor(
                records, field=field, min_agreement=config.min_agreement)))
        else:
            checks.append(HygieneCheck(name, None, f"no second label column {field!r}",
                                       "annotator_agreement"))
    return checks


def _categorical(records: Sequence[Record]) -> bool:
    labels = {r.label for r in records if r.label is not None}
    return 0 < len(labels) <= max(2, min(MAX_CLASSES, len(records) // 5))


def _finding_row(found: RecordFinding, kinds: Collection[str] | None) -> dict[str, Any]:
    """A finding as evidence, its surroundings shown with all personal data redacted
    (redacted whole first, so no value is cut in half at the excerpt's edge)."""
    content = dict(found.record.contents)[found.field]
    parts: list[str] = []
    cursor, start, end = 0, 0, 0
    for other in detect_pii(content, kinds):
        parts.append(content[cursor:other.start])
        if other.start == found.finding.start:
            start = sum(map(len, parts))
        parts.append(f"[{other.kind}]")
        if other.start == found.finding.start:
            end = sum(map(len, parts))
        cursor = other.end
    redacted = "".join([*parts, content[cursor:]])
    excerpt = redact(redacted[max(0, start - _EXCERPT):end + _EXCERPT])
    return {"id": found.record.id, "at": found.record.where, "field": found.field,
            "kind": found.finding.kind, "span": f"{found.finding.start}-{found.finding.end}",
            "excerpt": excerpt}


def _rows(key: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Evidence rows, capped at EVIDENCE_ROWS with the total beside them when cut."""
    if len(rows) <= EVIDENCE_ROWS:
        return {key: rows}
    return {key: rows[:EVIDENCE_ROWS], f"{key}_total": len(rows)}


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in sorted(counter.items()))
