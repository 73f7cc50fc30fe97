"""The response cache that every backend call goes through.

Keyed by the model's content fingerprint, the request and the decoding parameters,
so an unchanged reference is never recomputed, and written chunk by chunk, so a run
killed half-way resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, TypeVar

from tunegate.backends._protocol import (
    Backend,
    ChoiceScores,
    GenerateRequest,
    Generation,
    ModelRef,
    ScoreRequest,
)

SCHEMA_VERSION = 1
R = TypeVar("R", ScoreRequest, GenerateRequest)
T = TypeVar("T", ChoiceScores, Generation)


class ResponseCache:
    """A SQLite key-value store of backend responses (WAL, safe across processes)."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=60, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        with self._db:
            self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS responses ("
                " key TEXT PRIMARY KEY, kind TEXT NOT NULL, value TEXT NOT NULL)"
            )
            row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                self._db.execute(
                    "INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                )
            elif int(row[0]) != SCHEMA_VERSION:
                raise RuntimeError(
                    f"{path}: response cache schema {row[0]}, expected {SCHEMA_VERSION}; "
                    "delete the file to rebuild it"
                )

    def get_many(self, keys: Sequence[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT key, value FROM responses WHERE key IN ({marks})", chunk
                ).fetchall()
                found.update((key, json.loads(value)) for key, value in rows)
        return found

    def put_many(self, kind: str, items: Sequence[tuple[str, Any]]) -> None:
        """Store responses in one transaction: all of a chunk or none of it."""
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO responses VALUES (?, ?, ?)",
                [(key, kind, json.dumps(value)) for key, value in items],
            )

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        self._db.close()


class CachedBackend:
    """A backend that answers from the cache and computes only what is missing.

    Misses are computed in chunks of ``chunk_size`` and stored after each chunk.
    ``hits`` and ``misses`` count requests, for reports and tests.
    """

    def __init__(self, inner: Backend, cache: ResponseCache | None, chunk_size: int = 64):
        self.inner, self.cache, self.chunk_size = inner, cache, chunk_size
        self.hits = 0
        self.misses = 0
        self._fingerprints: dict[ModelRef, str] = {}

    def fingerprint(self, ref: ModelRef) -> str:
        key = ModelRef("", ref.base, ref.adapter)
        if key not in self._fingerprints:
            self._fingerprints[key] = self.inner.fingerprint(ref)
        return self._fingerprints[key]

    def score(self, ref: ModelRef, requests: Sequence[ScoreRequest]) -> list[ChoiceScores]:
        return self._through_cache(
            "score", ref, requests, self.inner.score,
            lambda v: ChoiceScores(tuple(v["logprobs"]), tuple(v["token_counts"]),
                                   v.get("prompt_tokens"), v.get("latency_ms"), v.get("busy_ms")),
        )

    def generate(self, ref: ModelRef, requests: Sequence[GenerateRequest]) -> list[Generation]:
        return self._through_cache(
            "generate", ref, requests, self.inner.generate, lambda v: Generation(**v)
        )

    def _through_cache(
        self,
        kind: str,
        ref: ModelRef,
        requests: Sequence[R],
        compute: Callable[[ModelRef, Sequence[R]], list[T]],
        decode: Callable[[dict[str, Any]], T],
    ) -> list[T]:
        if self.cache is None:
            self.misses += len(requests)
            return _timed(compute, ref, requests)
        fingerprint = self.fingerprint(ref)
        keys = [request_key(fingerprint, kind, r.key()) for r in requests]
        stored = self.cache.get_many(list(dict.fromkeys(keys)))
        missing = [i for i, key in enumerate(keys) if key not in stored]
        self.hits += len(requests) - len(missing)
        self.misses += len(missing)
        for chunk in _chunks(missing, self.chunk_size):
            answers = _timed(compute, ref, [requests[i] for i in chunk])
            values = [asdict(answer) for answer in answers]
            self.cache.put_many(kind, [(keys[i], v) for i, v in zip(chunk, values, strict=True)])
            stored.update((keys[i], v) for i, v in zip(chunk, values, strict=True))
        return [decode(stored[key]) for key in keys]


def _timed(
    compute: Callable[[ModelRef, Sequence[R]], list[T]], ref: ModelRef, requests: Sequence[R]
) -> list[T]:
    """The answers, each with its share of the call's wall time as ``busy_ms`` (unless
    the backend measured that itself)."""
    start = time.perf_counter()
    answers = compute(ref, requests)
    share = (time.perf_counter() - start) * 1000 / max(len(requests), 1)
    return [a if a.busy_ms is not None else replace(a, busy_ms=share) for a in answers]


def request_key(fingerprint: str, kind: str, request: dict[str, Any]) -> str:
    payload = json.dumps({"model": fingerprint, "kind": kind, "request": request}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
