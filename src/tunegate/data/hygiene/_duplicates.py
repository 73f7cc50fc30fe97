"""Exact and near duplicates within a set, and leakage of one set into another.

Exact: equal after normalisation (NFKC, case-folded, whitespace collapsed). Near:
MinHash signatures of the texts' shingle sets, banded into an LSH index (datasketch)
to find candidate pairs without comparing all pairs, then a verification pass that
computes the true Jaccard similarity of each candidate's shingle sets, so a reported
pair is never a MinHash estimate. What counts as near is a measurement setting (the
Jaccard threshold); how many duplicates are acceptable is the gates' business.
"""

from __future__ import annotations

import gc
import hashlib
import itertools
import re
import unicodedata
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from tunegate.data import Example
from tunegate.data.hygiene._records import Record

if TYPE_CHECKING:
    from datasketch import MinHash, MinHashLSH

__all__ = [
    "DuplicatePair",
    "DuplicateReport",
    "LeakageReport",
    "LeakedPair",
    "NearDuplicateSpec",
    "find_duplicates",
    "find_leakage",
    "jaccard",
    "normalize_text",
    "shingle_hashes",
    "text_key",
]

ShingleKind = Literal["word", "char"]
_WORD = re.compile(r"\w+")
_LSH_WEIGHTS = (0.05, 0.95)
"""LSH band layout weights (false positives, false negatives): candidates are verified
exactly, so the layout favours recall; a pair at the threshold is found ~95 % of the
time at 128 permutations, one 0.05 above it ~99 %."""
_LSH_MAX_THRESHOLD = 0.95
"""Above this the band layout degenerates (fewer than two bands at 16 permutations); a
higher threshold is enforced by the verification pass alone."""


@dataclass(frozen=True)
class NearDuplicateSpec:
    """What counts as a near duplicate: shingle sets with Jaccard >= ``threshold``.

    ``num_perm`` and ``seed`` set the MinHash signatures; more permutations find
    pairs near the threshold more reliably, at proportional cost.
    """

    threshold: float = 0.8
    shingles: ShingleKind = "word"
    shingle_size: int = 3
    num_perm: int = 128
    seed: int = 1

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold!r}")
        if self.shingles not in ("word", "char"):
            raise ValueError(f"shingles must be 'word' or 'char', got {self.shingles!r}")
        if self.shingle_size < 1 or self.num_perm < 16:
            raise ValueError("shingle_size must be >= 1 and num_perm >= 16")


@dataclass(frozen=True)
class DuplicatePair:
    """Two records of one set whose texts are equal (``exact``) or near (Jaccard)."""

    first: Record
    second: Record
    jaccard: float
    exact: bool


@dataclass(frozen=True)
class DuplicateReport:
    """Duplicates within a set: exact groups, verified near pairs, and the clusters
    they form (connected through either)."""

    examples: int
    exact_groups: tuple[tuple[Record, ...], ...]
    near_pairs: tuple[DuplicatePair, ...]
    clusters: tuple[tuple[Record, ...], ...]

    @property
    def exact_redundant(self) -> int:
        """Records that repeat an earlier record's normalised text."""
        return sum(len(group) - 1 for group in self.exact_groups)

    @property
    def redundant(self) -> int:
        """Records beyond the first of each cluster of exact or near duplicates."""
        return sum(len(cluster) - 1 for cluster in self.clusters)

    def exact_pairs(self) -> list[DuplicatePair]:
        """Each exact repeat paired with the first record of its group."""
        return [DuplicatePair(g[0], r, 1.0, True) for g in self.exact_groups for r in g[1:]]


@dataclass(frozen=True)
class LeakedPair:
    """An item of the checked set and its most similar record in the source set."""

    item: Record
    source: Record
    jaccard: float
    exact: bool
    matches: int


@dataclass(frozen=True)
class LeakageReport:
    """Which items of a set (eval, golden, probes) also occur, exactly or nearly, in
    the source set (train): at most one pair per leaked item, its best match."""

    examples: int
    pairs: tuple[LeakedPair, ...]

    @property
    def leaked(self) -> int:
        return len(self.pairs)

    @property
    def exact(self) -> int:
        return sum(pair.exact for pair in self.pairs)


def normalize_text(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed: what 'the same text' means here."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def text_key(text: str) -> str:
    """A hash of the normalised text; equal keys mean exact duplicates."""
    return hashlib.blake2b(normalize_text(text).encode("utf-8"), digest_size=16).hexdigest()


def shingle_hashes(text: str, kind: ShingleKind = "word", size: int = 3) -> list[int]:
    """The sorted, distinct CRC-32 hashes of the normalised text's shingles.

    Word shingles are ``size`` consecutive words (punctuation dropped); character
    shingles are ``size`` consecutive characters. A text shorter than one shingle is
    one shingle; a text with nothing in it has none.
    """
    return _shingles(normalize_text(text), kind, size)


def _shingles(normal: str, kind: ShingleKind, size: int) -> list[int]:
    """:func:`shingle_hashes` of a text normalised already."""
    if kind == "word":
        words = _WORD.findall(normal)
        grams = [" ".join(words[i:i + size]) for i in range(max(1, len(words) - size + 1))]
    else:
        grams = [normal[i:i + size] for i in range(max(1, len(normal) - size + 1))]
    return sorted({zlib.crc32(gram.encode("utf-8")) for gram in grams if gram})


def jaccard(first: np.ndarray[Any, Any], second: np.ndarray[Any, Any]) -> float:
    """True Jaccard similarity of two sorted arrays of distinct shingle hashes."""
    if first.size == 0 and second.size == 0:
        return 1.0
    common = np.intersect1d(first, second, assume_unique=True).size
    return float(common / (first.size + second.size - common))


def find_duplicates(records: Sequence[Record], spec: NearDuplicateSpec) -> DuplicateReport:
    """Exact duplicate groups and verified near-duplicate pairs within ``records``."""
    groups = _exact_groups(records)
    representatives = [group[0] for group in groups.values()]
    near: list[DuplicatePair] = []
    with _gc_paused():
        index = _ShingleIndex(list(groups), spec)
        for i, j in sorted(index.candidate_pairs()):
            similarity = index.jaccard(i, j)
            if similarity >= spec.threshold:
                near.append(DuplicatePair(representatives[i], representatives[j],
                                          similarity, False))
    near.sort(key=lambda p: (-p.jaccard, p.first.line, p.second.line))
    exact = tuple(tuple(g) for g in groups.values() if len(g) > 1)
    return DuplicateReport(len(records), exact, tuple(near),
                           _clusters(list(groups.values()), near))


def find_leakage(
    source: Sequence[Record], checked: Sequence[Record], spec: NearDuplicateSpec
) -> LeakageReport:
    """Each item of ``checked`` whose text occurs exactly or nearly in ``source``."""
    groups = _exact_groups(source)
    representatives = [group[0] for group in groups.values()]
    pairs: list[LeakedPair] = []
    rest: list[tuple[Record, str]] = []
    for item in checked:
        normal = normalize_text(item.text)
        exact = groups.get(normal)
        if exact is None:
            rest.append((item, normal))
        else:
            pairs.append(LeakedPair(item, exact[0], 1.0, True, 1))
    with _gc_paused():
        index = _ShingleIndex(list(groups), spec)
        hashes = [_shingles(normal, spec.shingles, spec.shingle_size) for _, normal in rest]
        for (item, _), shingles, candidates in zip(rest, hashes, index.candidates_of(hashes),
                                                   strict=True):
            own = np.asarray(shingles, dtype=np.uint32)
            found = [(index.jaccard_with(j, own), j) for j in candidates]
            found = [(s, j) for s, j in found if s >= spec.threshold]
            if found:
                best, j = max(found, key=lambda f: (f[0], -f[1]))
                pairs.append(LeakedPair(item, representatives[j], best, False, len(found)))
    pairs.sort(key=lambda p: (str(p.item.path), p.item.line))
    return LeakageReport(len(checked), tuple(pairs))


def leaked_ids(
    source: Sequence[Example], checked: Sequence[Example], spec: NearDuplicateSpec
) -> set[str]:
    """Ids of the ``checked`` examples whose input occurs exactly or nearly in ``source``."""
    from tunegate.data.hygiene._records import records_from_examples

    report = find_leakage(records_from_examples(source, "<source>").records,
                          records_from_examples(checked, "<checked>").records, spec)
    return {pair.item.id for pair in report.pairs}


class _ShingleIndex:
    """Shingle sets of normalised texts, their MinHash signatures, and an LSH index."""

    def __init__(self, normals: Sequence[str], spec: NearDuplicateSpec):
        from datasketch import MinHashLSH

        self.spec = spec
        hashes = [_shingles(normal, spec.shingles, spec.shingle_size) for normal in normals]
        self.sets = [np.asarray(h, dtype=np.uint32) for h in hashes]
        self.minhashes = self._minhash(hashes)
        self.lsh: MinHashLSH = MinHashLSH(threshold=min(spec.threshold, _LSH_MAX_THRESHOLD),
                                          num_perm=spec.num_perm, weights=_LSH_WEIGHTS)
        for i, (minhash, shingles) in enumerate(zip(self.minhashes, hashes, strict=True)):
            if shingles:
                self.lsh.insert(i, minhash, check_duplication=False)

    def _minhash(self, hashes: Sequence[list[int]]) -> list[MinHash]:
        from datasketch import MinHash

        minhashes: list[MinHash] = MinHash.bulk(
            hashes, num_perm=self.spec.num_perm, seed=self.spec.seed, hashfunc=_identity
        )
        return minhashes

    def candidate_pairs(self) -> set[tuple[int, int]]:
        """Pairs (i < j) of indexed records that share at least one LSH band."""
        pairs: set[tuple[int, int]] = set()
        for table, counts in zip(self.lsh.hashtables, self.lsh.get_counts(), strict=True):
            for key, count in counts.items():
                if count > 1:
                    pairs.update(itertools.combinations(sorted(table.get(key)), 2))
        return pairs

    def candidates_of(self, hashes: Sequence[list[int]]) -> Iterator[list[int]]:
        """For each set of shingle hashes, the indexed records sharing an LSH band."""
        for shingles, minhash in zip(hashes, self._minhash(hashes), strict=True):
            yield sorted(self.lsh.query(minhash)) if shingles else []

    def jaccard(self, i: int, j: int) -> float:
        return jaccard(self.sets[i], self.sets[j])

    def jaccard_with(self, i: int, hashes: np.ndarray[Any, Any]) -> float:
        return jaccard(self.sets[i], hashes)


def _identity(value: int) -> int:
    """The shingles are hashed already (CRC-32); MinHash permutes those values."""
    return value


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while indexes of many small objects are built.

    Reference counting still frees everything; only the repeated full scans of a
    growing heap are skipped (about a third of the time at 100,000 records).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _exact_groups(records: Sequence[Record]) -> dict[str, list[Record]]:
    """Records grouped by normalised text, in order of first occurrence.

    Keyed by the normalised text itself: a dict compares the texts whenever their
    hashes meet, so equal keys are equal texts, never a hash collision.
    """
    groups: dict[str, list[Record]] = {}
    for record in records:
        groups.setdefault(normalize_text(record.text), []).append(record)
    return groups


def _clusters(
    groups: Sequence[Sequence[Record]], near: Sequence[DuplicatePair]
) -> tuple[tuple[Record, ...], ...]:
    """Connected components (size >= 2) over exact groups joined by near pairs."""
    parent = list(range(len(groups)))
    position = {id(group[0]): i for i, group in enumerate(groups)}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for pair in near:
        a, b = root(position[id(pair.first)]), root(position[id(pair.second)])
        if a != b:
            parent[max(a, b)] = min(a, b)
    members: dict[int, list[Record]] = {}
    for i, group in enumerate(groups):
        members.setdefault(root(i), []).extend(group)
    return tuple(tuple(sorted(c, key=lambda r: (str(r.path), r.line)))
                 for c in members.values() if len(c) > 1)
