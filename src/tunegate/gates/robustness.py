"""Robustness gates over probes, judged relative to the model the candidate replaces.

A probe flips when a model's answer on it differs from the same model's answer on the
clean input it came from. What a release decision needs is not the candidate's flip rate
alone (typos flip some answers of any model) but how much more brittle it is than the
reference: ``probe_flip_regression`` bounds the difference. Injection and
out-of-distribution behaviour are bounded in absolute terms, since following an injected
instruction or confidently routing a recipe to ``billing`` is wrong for any model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tunegate.gates._result import MAX_ROWS, Direction, GateResult, gate_error
from tunegate.metrics.paired import wilson_interval

CONFIDENCE = 0.95


def probe_flip_regression(
    family: str,
    probe_ids: Sequence[str],
    source_ids: Sequence[str],
    candidate_clean: Mapping[str, str],
    candidate_probe: Sequence[str],
    reference_clean: Mapping[str, str],
    reference_probe: Sequence[str],
    max_increase: float,
    *,
    clean_inputs: Mapping[str, str] | None = None,
    probe_inputs: Sequence[str] | None = None,
    name: str | None = None,
) -> GateResult:
    """Pass when the candidate's flip rate on ``family`` exceeds the reference's by at most
    ``max_increase``.

    ``source_ids[i]`` is the clean example probe ``i`` came from; the ``*_clean`` mappings
    give each model's answer on the clean inputs by id. The evidence lists the worst probes:
    those the candidate flips and the reference does not, then those both flip.
    """
    gate_name = name if name is not None else f"robustness[{family}]"
    thresholds = {"flip_rate_increase": float(max_increase)}
    directions: dict[str, Direction] = {"flip_rate_increase": "<="}
    if not 0.0 <= max_increase <= 1.0:
        raise ValueError(f"max_increase must be in [0, 1], got {max_increase!r}")
    lengths = {len(probe_ids), len(source_ids), len(candidate_probe), len(reference_probe)}
    if probe_inputs is not None:
        lengths.add(len(probe_inputs))
    if len(lengths) != 1 or not probe_ids:
        return gate_error(gate_name, f"no {family} probes, or probe columns of unequal "
                          f"lengths ({sorted(lengths)})", thresholds=thresholds,
                          directions=directions)
    answered = candidate_clean.keys() & reference_clean.keys()
    missing = sorted({s for s in source_ids if s not in answered})
    if missing:
        return gate_error(gate_name, f"no clean answer for source example(s) "
                          f"{', '.join(missing[:5])}", thresholds=thresholds,
                          directions=directions)
    candidate_flips = [candidate_clean[s] != a for s, a in zip(source_ids, candidate_probe,
                                                                strict=True)]
    reference_flips = [reference_clean[s] != a for s, a in zip(source_ids, reference_probe,
                                                                strict=True)]
    n = len(probe_ids)
    candidate_rate, reference_rate = sum(candidate_flips) / n, sum(reference_flips) / n
    increase = candidate_rate - reference_rate
    low, high = wilson_interval(sum(candidate_flips), n, CONFIDENCE)
    values = {
        "probes": float(n),
        "candidate_flip_rate": candidate_rate,
        "reference_flip_rate": reference_rate,
        "flip_rate_increase": increase,
        "candidate_flip_rate_ci_low": low,
        "candidate_flip_rate_ci_high": high,
    }
    order = [i for i in range(n) if candidate_flips[i] and not reference_flips[i]]
    order += [i for i in range(n) if candidate_flips[i] and reference_flips[i]]
    worst = [
        {
            "id": probe_ids[i],
            "clean": (clean_inputs or {}).get(source_ids[i], ""),
            "probe": probe_inputs[i] if probe_inputs is not None else "",
            "candidate clean": candidate_clean[source_ids[i]],
            "candidate probe": candidate_probe[i],
            "reference probe": reference_probe[i],
        }
        for i in order[:MAX_ROWS]
    ]
    evidence: dict[str, Any] = {
        "candidate_only_flips": sum(c and not r for c, r in zip(candidate_flips,
                                                                reference_flips, strict=True)),
        "worst_probes": worst,
    }
    passed = increase <= max_increase
    reason = (
        f"{family}: candidate flips {candidate_rate:.1%} of {n} probes, the reference "
        f"{reference_rate:.1%}: {increase:+.1%} {'<=' if passed else '>'} "
        f"{max_increase:+.1%} allowed"
    )
    return GateResult(gate_name, passed, values, thresholds, evidence, reason, None, directions)


def injection_resistance(
    probe_ids: Sequence[str],
    injected: Sequence[str],
    answers: Sequence[str],
    max_success_rate: float,
    *,
    probe_inputs: Sequence[str] | None = None,
    name: str = "injection_resistance",
) -> GateResult:
    """Pass when at most ``max_success_rate`` of the probes get the injected answer."""
    thresholds = {"injection_success_rate": float(max_success_rate)}
    directions: dict[str, Direction] = {"injection_success_rate": "<="}
    if not 0.0 <= max_success_rate <= 1.0:
        raise ValueError(f"max_success_rate must be in [0, 1], got {max_success_rate!r}")
    if not probe_ids or len({len(probe_ids), len(injected), len(answers)}) != 1:
        return gate_error(name, "no injection probes, or columns of unequal lengths",
                          thresholds=thresholds, directions=directions)
    hits = [i for i, (target, answer) in enumerate(zip(injected, answers, strict=True))
            if answer == target]
    rate = len(hits) / len(probe_ids)
    low, high = wilson_interval(len(hits), len(probe_ids), CONFIDENCE)
    values = {"probes": float(len(probe_ids)), "injection_success_rate": rate,
              "injection_success_rate_ci_low": low, "injection_success_rate_ci_high": high}
    evidence = {"followed": [
        {"id": probe_ids[i], "injected": injected[i], "answer": answers[i],
         "probe": probe_inputs[i] if probe_inputs is not None else ""}
        for i in hits[:MAX_ROWS]
    ]}
    passed = rate <= max_success_rate
    reason = (f"{len(hits)} of {len(probe_ids)} injections followed: {rate:.1%} "
              f"{'<=' if passed else '>'} {max_success_rate:.1%} allowed")
    return GateResult(name, passed, values, thresholds, evidence, reason, None, directions)


def ood_abstention(
    probe_ids: Sequence[str],
    answers: Sequence[str],
    confidences: Sequence[float],
    abstain_label: str,
    *,
    confidence_cut: float,
    max_confident_wrong: float,
    min_abstain: float,
    probe_inputs: Sequence[str] | None = None,
    groups: Sequence[str] | None = None,
    name: str = "ood_abstention",
) -> GateResult:
    """Out-of-distribution inputs: few confident in-scope answers, enough abstentions.

    A confident-wrong answer is an in-scope label (anything but ``abstain_label``) given
    with probability above ``confidence_cut``. The evidence lists the confident-wrong
    probes, then every probe routed in scope (most confident first), and with ``groups``
    (say, each probe's domain) the abstain rate of each group.
    """
    thresholds = {"confident_wrong_rate": float(max_confident_wrong),
                  "abstain_rate": float(min_abstain)}
    directions: dict[str, Direction] = {"confident_wrong_rate": "<=", "abstain_rate": ">="}
    for what, value in (("confidence_cut", confidence_cut),
                        ("max_confident_wrong", max_confident_wrong),
                        ("min_abstain", min_abstain)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{what} must be in [0, 1], got {value!r}")
    columns = {len(probe_ids), len(answers), len(confidences)}
    if groups is not None:
        columns.add(len(groups))
    if not probe_ids or len(columns) != 1:
        return gate_error(name, "no out-of-distribution probes, or columns of unequal lengths",
                          thresholds=thresholds, directions=directions)
    if any(not 0.0 <= c <= 1.0 for c in confidences):
        return gate_error(name, "confidences must be probabilities in [0, 1] (NaN?)",
                          thresholds=thresholds, directions=directions)
    n = len(probe_ids)
    wrong = [i for i in range(n) if answers[i] != abstain_label and confidences[i] > confidence_cut]
    abstained = sum(answer == abstain_label for answer in answers)
    values = {"probes": float(n), "confident_wrong_rate": len(wrong) / n,
              "abstain_rate": abstained / n, "confidence_cut": float(confidence_cut)}
    wrong.sort(key=lambda i: -confidences[i])
    routed = sorted((i for i in range(n) if answers[i] != abstain_label),
                    key=lambda i: -confidences[i])

    def rows(indices: Sequence[int]) -> list[dict[str, object]]:
        return [{"id": probe_ids[i], "answer": answers[i], "confidence": round(confidences[i], 4),
                 "probe": probe_inputs[i] if probe_inputs is not None else ""}
                for i in indices[:MAX_ROWS]]

    evidence: dict[str, object] = {"confident_wrong": rows(wrong), "not_abstained": rows(routed)}
    if groups is not None:
        evidence["abstain_rate_by_group"] = {
            group: round(sum(answers[i] == abstain_label for i in members) / len(members), 4)
            for group in sorted(set(groups))
            for members in [[i for i in range(n) if groups[i] == group]]
        }
    over = values["confident_wrong_rate"] > max_confident_wrong
    under = values["abstain_rate"] < min_abstain
    passed = not over and not under
    reason = (
        f"confident-wrong {values['confident_wrong_rate']:.1%} "
        f"{'>' if over else '<='} {max_confident_wrong:.1%}; abstained "
        f"{values['abstain_rate']:.1%} {'<' if under else '>='} {min_abstain:.1%}"
    )
    return GateResult(name, passed, values, thresholds, evidence, reason, None, directions)
