"""Content fingerprints of model and adapter folders."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tunegate.data import file_sha256 as _stream_sha256

# Files that define what a model computes; logs, READMEs and checkpoints do not.
_SKIP_SUFFIXES = (".md", ".log", ".lock")
_SKIP_NAMES = ("lineage.json",)
_memo: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """sha256 of one file, memoised by (path, size, mtime) within the process."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _memo:
        _memo[key] = _stream_sha256(path)
    return _memo[key]


def folder_fingerprint(folder: Path) -> str:
    """sha256 over the names and contents of the files that define a model or adapter."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not a folder")
    digest = hashlib.sha256()
    files = sorted(
        p for p in folder.iterdir()
        if p.is_file() and not p.name.endswith(_SKIP_SUFFIXES) and p.name not in _SKIP_NAMES
        and not p.name.startswith(".")
    )
    if not files:
        raise FileNotFoundError(f"{folder}: no model files")
    for path in files:
        digest.update(path.name.encode() + b"\0" + file_sha256(path).encode() + b"\0")
    return digest.hexdigest()


def model_fingerprint(base_fingerprint: str, adapter: str | Path | None) -> str:
    """A reference's identity for the local backends: the base's fingerprint, plus the
    adapter folder's when there is one (so both backends share cached answers)."""
    if adapter is None:
        return base_fingerprint
    return f"{base_fingerprint}+{folder_fingerprint(Path(adapter))}"
