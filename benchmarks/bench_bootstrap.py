"""Paired bootstrap speed: the vectorised mean and the per-resample macro-F1 loop.

Times ``paired_bootstrap`` (10,000 resamples × 1,000 examples, mean of per-example
scores) and ``paired_bootstrap_metric`` with ``macro_f1_from_indices`` (1,000 resamples ×
1,000 examples × 6 classes), and says whether each meets its target. Reports the median
and the best of a few runs, after one warm-up run that pays for the numpy and scipy imports.
A benchmark, not a test: it always exits 0.

    .venv/bin/python benchmarks/bench_bootstrap.py [--repeats N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial

import numpy as np

from tunegate.metrics import macro_f1_from_indices, paired_bootstrap, paired_bootstrap_metric

EXAMPLES = 1_000
CLASSES = 6
MEAN_RESAMPLES, MEAN_TARGET_S = 10_000, 1.0
F1_RESAMPLES, F1_TARGET_S = 1_000, 2.0  # "well under a few seconds"


def timed(run: Callable[[], object], repeats: int) -> list[float]:
    """Seconds of each of ``repeats`` calls, after one untimed warm-up call."""
    run()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    return seconds


def report(name: str, seconds: list[float], target: float) -> None:
    median = statistics.median(seconds)
    verdict = "met" if median < target else "NOT met"
    print(
        f"{name:<48} median {median:.3f} s  best {min(seconds):.3f} s  "
        f"target < {target:.1f} s: {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each (default 3)")
    repeats = parser.parse_args().repeats

    rng = np.random.default_rng(0)
    reference = rng.random(EXAMPLES)
    candidate = reference + rng.normal(0.01, 0.1, EXAMPLES)
    y_true = rng.integers(0, CLASSES, EXAMPLES)
    noise = rng.integers(0, CLASSES, (2, EXAMPLES))
    pred_reference = np.where(rng.random(EXAMPLES) < 0.70, y_true, noise[0])
    pred_candidate = np.where(rng.random(EXAMPLES) < 0.75, y_true, noise[1])
    macro_f1 = partial(macro_f1_from_indices, n_classes=CLASSES)

    mean_seconds = timed(
        lambda: paired_bootstrap(reference, candidate, resamples=MEAN_RESAMPLES), repeats
    )
    f1_seconds = timed(
        lambda: paired_bootstrap_metric(
            y_true, pred_reference, pred_candidate, macro_f1, resamples=F1_RESAMPLES
        ),
        repeats,
    )
    report(
        f"mean: {MEAN_RESAMPLES:,} resamples × {EXAMPLES:,} examples", mean_seconds, MEAN_TARGET_S
    )
    report(
        f"macro-F1: {F1_RESAMPLES:,} resamples × {EXAMPLES:,} × {CLASSES} classes",
        f1_seconds,
        F1_TARGET_S,
    )


if __name__ == "__main__":
    main()
