"""Near-duplicate detection speed: ``find_duplicates`` on 100,000 synthetic texts.

Generates support-ticket-like texts (10-60 words from a 5,000-word vocabulary) with
planted exact repeats (2 %) and near copies (5 %, one or two words changed), times
:func:`tunegate.data.hygiene.find_duplicates` (normalised hashing, word 3-gram
shingles, MinHash + LSH via datasketch, exact Jaccard verification) on all of them,
and compares with two baselines measured in the same run:

- **pairwise**: exact Jaccard of every pair of shingle sets, timed on a 2,000-text
  subset and extrapolated by the number of pairs (quadratic);
- **datasketch defaults**: ``MinHash()`` fed shingle by shingle with its default SHA-1
  hash, ``MinHashLSH`` with its default band layout, one ``query`` per text, timed on
  a 10,000-text subset and extrapolated linearly.

It also checks recall on the subset: the share of pairs at or above the threshold
(found by the pairwise baseline) that ``find_duplicates`` reports. A benchmark, not a
test: it always exits 0.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_near_duplicates.py [--n 100000]
"""

from __future__ import annotations

import argparse
import itertools
import random
import time
from pathlib import Path

from tunegate.data.hygiene import NearDuplicateSpec, Record, find_duplicates, normalize_text

TARGET_S = 30.0
PAIRWISE_SUBSET = 2_000
DEFAULTS_SUBSET = 10_000


def synthetic_texts(n: int, seed: int = 0) -> list[str]:
    """``n`` texts: mostly random word sequences, with planted exact and near copies."""
    rng = random.Random(seed)
    vocab = [f"{rng.choice('bcdfghklmnprstvz')}{rng.choice('aeiou')}{i}" for i in range(5000)]
    texts: list[str] = []
    for i in range(n):
        roll = rng.random()
        if i > 100 and roll < 0.02:
            texts.append(rng.choice(texts))
        elif i > 100 and roll < 0.07:
            words = rng.choice(texts).split()
            for _ in range(rng.randint(1, 2)):
                words[rng.randrange(len(words))] = rng.choice(vocab)
            texts.append(" ".join(words))
        else:
            texts.append(" ".join(rng.choice(vocab) for _ in range(rng.randint(10, 60))))
    return texts


def as_records(texts: list[str]) -> list[Record]:
    where = Path("synthetic.jsonl")
    return [Record(where, i + 1, f"t{i}", text, None, None, (), {}) for i, text in
            enumerate(texts)]


def word_shingles(text: str, size: int = 3) -> set[str]:
    words = normalize_text(text).split()
    return {" ".join(words[i:i + size]) for i in range(max(1, len(words) - size + 1))}


def pairwise(texts: list[str], threshold: float) -> tuple[float, set[tuple[int, int]]]:
    """Seconds and the pairs at or above ``threshold``, by comparing all pairs."""
    start = time.perf_counter()
    sets = [word_shingles(t) for t in texts]
    found = {
        (i, j) for (i, a), (j, b) in itertools.combinations(enumerate(sets), 2)
        if len(a & b) / len(a | b) >= threshold
    }
    return time.perf_counter() - start, found


def datasketch_defaults(texts: list[str], threshold: float) -> float:
    """Seconds for the textbook datasketch pipeline with its defaults."""
    from datasketch import MinHash, MinHashLSH

    start = time.perf_counter()
    lsh = MinHashLSH(threshold=threshold)
    minhashes = []
    for i, text in enumerate(texts):
        minhash = MinHash()
        for shingle in word_shingles(text):
            minhash.update(shingle.encode("utf-8"))
        lsh.insert(i, minhash)
        minhashes.append(minhash)
    for minhash in minhashes:
        lsh.query(minhash)
    return time.perf_counter() - start


def recall(texts: list[str], truth: set[tuple[int, int]], spec: NearDuplicateSpec) -> float:
    """Share of the true pairs that find_duplicates reports, directly or as exact."""
    report = find_duplicates(as_records(texts), spec)
    cluster_of = {r.line - 1: k for k, c in enumerate(report.clusters) for r in c}
    found = sum(cluster_of.get(i, -1) == cluster_of.get(j, -2) for i, j in truth)
    return found / len(truth) if truth else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="texts (default 100,000)")
    parser.add_argument("--threshold", type=float, default=0.8, help="Jaccard (default 0.8)")
    args = parser.parse_args()
    spec = NearDuplicateSpec(threshold=args.threshold)
    texts = synthetic_texts(args.n)
    records = as_records(texts)
    find_duplicates(records[:1000], spec)  # warm-up: imports (datasketch, scipy)

    start = time.perf_counter()
    report = find_duplicates(records, spec)
    seconds = time.perf_counter() - start
    subset = texts[:PAIRWISE_SUBSET]
    pair_seconds, truth = pairwise(subset, args.threshold)
    pairs_total = args.n * (args.n - 1) / 2
    pairwise_estimate = pair_seconds * pairs_total / (len(subset) * (len(subset) - 1) / 2)
    defaults_n = min(DEFAULTS_SUBSET, args.n)
    defaults_seconds = datasketch_defaults(texts[:defaults_n], args.threshold)
    defaults_estimate = defaults_seconds * args.n / defaults_n

    print(f"find_duplicates, {args.n:,} texts: {seconds:.1f} s "
          f"({report.exact_redundant:,} exact repeats, {len(report.near_pairs):,} near pairs, "
          f"{report.redundant:,} redundant texts); target < {TARGET_S:.0f} s: "
          f"{'met' if seconds < TARGET_S else 'NOT met'}")
    print(f"pairwise Jaccard, {len(subset):,} texts: {pair_seconds:.1f} s -> "
          f"{pairwise_estimate:,.0f} s extrapolated to {args.n:,}; "
          f"find_duplicates is {pairwise_estimate / seconds:,.0f}x faster")
    print(f"datasketch defaults, {defaults_n:,} texts: {defaults_seconds:.1f} s -> "
          f"{defaults_estimate:.1f} s extrapolated to {args.n:,}; "
          f"find_duplicates is {defaults_estimate / seconds:.1f}x faster")
    print(f"recall on the {len(subset):,}-text subset: {recall(subset, truth, spec):.3f} "
          f"of {len(truth)} pairs with Jaccard >= {args.threshold}")


if __name__ == "__main__":
    main()
