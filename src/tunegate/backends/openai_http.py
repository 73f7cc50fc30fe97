"""The OpenAI-compatible HTTP backend: vLLM's server, TGI, hosted APIs.

``generate`` uses chat completions for chat requests and completions for plain
prompts. ``score`` asks the completions endpoint to echo the prompt with the
log-probability of each prompt token (``echo=true, logprobs=1, max_tokens=0``), which
vLLM supports; a server that does not gets a clear error, not a silent zero.

A model reference maps to a served model name:

- no adapter: ``openai.model`` when configured, else the served model whose id or
  ``root`` (its weights path on the server) is the reference's base;
- an adapter written ``served:NAME``: the model the server serves as NAME, e.g. a LoRA
  started with vLLM's ``--lora-modules NAME=DIR``;
- an adapter folder: the served LoRA whose ``root`` is that folder, so the adapters
  tunegate trains can be served by a local vLLM and evaluated under their own paths.

The served name travels in the reference's identity (base, adapter), not in its role
name, so base, production and candidate never share a cache entry by accident. Calls
go through the session's response cache like every backend's.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from tunegate.backends._echo import (
    PROMPT_LOGPROBS_HINT,
    ChoiceMergesWithContext,
    PromptLogprobsUnsupported,
    continuation_score,
)
from tunegate.backends._fingerprint import folder_fingerprint
from tunegate.backends._http_client import (
    BackendHTTPError,
    JSONClient,
    RetryPolicy,
    new_tls_context,
    open_client,
    run_sync,
)
from tunegate.backends._protocol import (
    ChoiceScores,
    GenerateRequest,
    Generation,
    ModelRef,
    ScoreRequest,
)
from tunegate.config import OpenAIConfig

__all__ = [
    "SERVED_PREFIX",
    "BackendHTTPError",
    "ChoiceMergesWithContext",
    "OpenAIHTTPBackend",
    "PromptLogprobsUnsupported",
    "served_ref",
]

SERVED_PREFIX = "served:"
"""An adapter spec ``served:NAME`` names a model the server serves, by its served name."""

_FINGERPRINT_FIELDS = ("id", "root", "parent", "owned_by", "max_model_len")
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
T = TypeVar("T")


def served_ref(role: str, base: str, name: str) -> ModelRef:
    """A reference to the adapter the server serves as ``name`` (``--lora-modules``)."""
    return ModelRef(role, base, Path(SERVED_PREFIX + name))


@dataclass(frozen=True)
class _ScoreJob:
    request: int
    prompt: str
    boundary: int
    plain: bool  # the rendered prompt already starts with BOS: do not add another


class OpenAIHTTPBackend:
    """Scores and generations from an OpenAI-compatible server.

    ``tokenizer`` (a path or hub id; ``config.tokenizer`` wins) renders the chat
    template when chat requests are scored: the completions endpoint takes text, and the
    template must be the one the adapter was trained with. It is loaded on first use.
    """

    def __init__(self, config: OpenAIConfig, *, tokenizer: str | None = None):
        self.config = config
        self._api_key = _read_api_key(config.api_key_env)
        self._policy = RetryPolicy(config.timeout_s, config.max_retries, config.backoff_s,
                                   config.max_backoff_s)
        self._tokenizer_source = config.tokenizer or tokenizer
        self._tokenizer: Any = None
        self._models: dict[str, dict[str, Any]] | None = None
        self._tls: ssl.SSLContext | None = None

    def __repr__(self) -> str:
        return f"OpenAIHTTPBackend({self.config.base_url!r})"

    # -- identity -------------------------------------------------------------------

    def served_models(self) -> dict[str, dict[str, Any]]:
        """The server's ``/models`` entries by id, fetched once."""
        if self._models is None:
            answer = self._run(lambda client: client.get("models"))
            entries = answer.get("data") if isinstance(answer, dict) else None
            if not isinstance(entries, list):
                raise BackendHTTPError(f"GET {self._url('models')}: no model list in the answer",
                                       url=self._url("models"), status=None)
            self._models = {e["id"]: e for e in entries if isinstance(e, dict) and "id" in e}
        return self._models

    def served_name(self, ref: ModelRef) -> str:
        """The served model name of a reference (see the module docstring)."""
        models = self.served_models()
        if ref.adapter is None:
            wanted = self.config.model or ref.base
            found = wanted if wanted in models else _by_root(models, ref.base, parent=False)
            what = f"base model {wanted!r}"
        elif str(ref.adapter).startswith(SERVED_PREFIX):
            wanted = str(ref.adapter)[len(SERVED_PREFIX):]
            found = wanted if wanted in models else None
            what = f"adapter {wanted!r}"
        else:
            found = _by_root(models, str(ref.adapter), parent=True)
            what = (f"adapter folder {ref.adapter} (start the server with --lora-modules "
                    f"NAME={ref.adapter}, or name it as served:NAME)")
        if found is None:
            served = ", ".join(sorted(models)) or "none"
            raise LookupError(f"{self.config.base_url} does not serve the {what} of "
                              f"{ref.describe()}; it serves: {served}")
        return found

    def fingerprint(self, ref: ModelRef) -> str:
        """A hash of the server, the served name and its ``/models`` entry, plus the
        content hash of every local folder the reference names.

        Weaker than a weight hash when nothing is local: a server that swaps the weights
        behind the same name and path keeps its fingerprint. A loopback server's port is
        left out, since a local server is started on a free port each run.
        """
        name = self.served_name(ref)
        entry = self.served_models()[name]
        identity: dict[str, Any] = {
            "server": _server_identity(self.config.base_url),
            "model": name,
            "entry": {key: entry.get(key) for key in _FINGERPRINT_FIELDS},
        }
        for key, where in (("base", ref.base), ("adapter", ref.adapter)):
            if where is not None and Path(where).is_dir():
                identity[f"{key}_files"] = folder_fingerprint(Path(where))
        digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
        return f"openai:{digest}"

    # -- generation -----------------------------------------------------------------

    def generate(self, ref: ModelRef, requests: Sequence[GenerateRequest]) -> list[Generation]:
        """One completion per request: chat completions for messages, completions for
        prompts; stop strings are cut from the text, as the transformers backend does."""
        model = self.served_name(ref)

        async def one(client: JSONClient, request: GenerateRequest) -> Generation:
            body = _generation_body(model, request)
            if request.messages is not None:
                answer = await client.post("chat/completions", body)
                return _parse_generation(answer, request, chat=True)
            answer = await client.post("completions", body)
            return _parse_generation(answer, request, chat=False)

        return self._run(lambda client: _gather(client, one, requests))

    # -- scoring --------------------------------------------------------------------

    def score(self, ref: ModelRef, requests: Sequence[ScoreRequest]) -> list[ChoiceScores]:
        """Log-likelihood of each choice after its context, one echo call per choice."""
        model = self.served_name(ref)
        jobs = [job for i, r in enumerate(requests) for job in self._score_jobs(i, r)]
        serial = asyncio.Lock() if self.serves_lora() else None  # see serves_lora

        async def one(client: JSONClient, job: _ScoreJob) -> tuple[float, int]:
            body: dict[str, Any] = {"model": model, "prompt": job.prompt, "echo": True,
                                    "logprobs": 1, "max_tokens": 0, "temperature": 0.0}
            if job.plain:
                body["add_special_tokens"] = False
            try:
                if serial is not None:
                    async with serial:
                        answer = await client.post("completions", body)
                else:
                    answer = await client.post("completions", body)
            except BackendHTTPError as exc:
                if exc.status in (400, 404, 422, 501):
                    raise PromptLogprobsUnsupported(
                        f"{PROMPT_LOGPROBS_HINT}; {exc.url} answered {exc.status}: "
                        f"{exc.server_message}") from None
                raise
            scored = continuation_score(_first_choice(answer), job.prompt, job.boundary)
            return scored.logprob, scored.token_count

        results = self._run(lambda client: _gather(client, one, jobs))
        logprobs: list[list[float]] = [[] for _ in requests]
        counts: list[list[int]] = [[] for _ in requests]
        for job, (value, count) in zip(jobs, results, strict=True):
            logprobs[job.request].append(value)
            counts[job.request].append(count)
        return [ChoiceScores(tuple(lp), tuple(n)) for lp, n in zip(logprobs, counts, strict=True)]

    def serves_lora(self) -> bool:
        """Whether the server serves a LoRA adapter (a model with a ``parent``).

        Such a vLLM server crashes when the prompt log-probabilities of several
        requests fall into one engine step (vLLM issue 29955; for base-model requests
        too), so scoring sends one request at a time to it. Generation is unaffected.
        """
        return any(entry.get("parent") for entry in self.served_models().values())

    def _score_jobs(self, index: int, request: ScoreRequest) -> list[_ScoreJob]:
        """Context + choice texts; trailing whitespace of the context goes to the choice,
        where tokenizers attach it (as lm-eval and the transformers backend do)."""
        if request.messages is None:
            if request.prompt is None:
                raise ValueError("a score request needs messages or a prompt")
            context, plain = request.prompt, False
        else:
            context, plain = self._render_chat(request)
        boundary = len(context.rstrip())
        return [_ScoreJob(index, context + choice, boundary, plain) for choice in request.choices]

    def _render_chat(self, request: ScoreRequest) -> tuple[str, bool]:
        from tunegate.backends._render import choice_prefix, needs_special_tokens, render_prompt

        tokenizer = self._chat_tokenizer()
        context = render_prompt(tokenizer, request.messages, None)
        context += choice_prefix(tokenizer, request.messages)
        return context, not needs_special_tokens(tokenizer, context)

    def _chat_tokenizer(self) -> Any:
        if self._tokenizer is None:
            if self._tokenizer_source is None:
                raise ValueError(
                    "scoring chat requests over HTTP renders the chat template locally: set "
                    "backend.openai.tokenizer to the base model's tokenizer (path or hub id)"
                )
            try:
                from transformers import AutoTokenizer
            except ImportError as exc:  # pragma: no cover - depends on the environment
                raise ImportError("rendering chat templates needs transformers: "
                                  "pip install 'tunegate[hf]'") from exc
            self._tokenizer = AutoTokenizer.from_pretrained(self._tokenizer_source)
        return self._tokenizer

    # -- plumbing -------------------------------------------------------------------

    def _run(self, work: Callable[[JSONClient], Awaitable[T]]) -> T:
        if self._tls is None:
            self._tls = new_tls_context()

        async def session() -> T:
            async with open_client(self.config.base_url, self._policy,
                                   self.config.concurrency, self._api_key, self._tls) as client:
                return await work(client)

        return run_sync(session)

    def _url(self, path: str) -> str:
        return self.config.base_url.rstrip("/") + "/" + path


async def _gather(client: JSONClient, one: Callable[[JSONClient, Any], Awaitable[T]],
                  items: Sequence[Any]) -> list[T]:
    """All calls at once (the client bounds how many are in flight), in item order;
    the first failure cancels the rest."""
    import asyncio

    tasks = [asyncio.ensure_future(one(client, item)) for item in items]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _generation_body(model: str, request: GenerateRequest) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "max_tokens": request.max_new_tokens,
                            "temperature": request.temperature, "seed": request.seed}
    if request.messages is not None:
        body["messages"] = [m.model_dump() for m in request.messages]
    else:
        body["prompt"] = request.prompt
    if request.stop:
        body["stop"] = list(request.stop)
    return body


def _parse_generation(answer: Any, request: GenerateRequest, *, chat: bool) -> Generation:
    choice = _first_choice(answer)
    if chat:
        message = choice.get("message")
        text = message.get("content") if isinstance(message, dict) else None
    else:
        text = choice.get("text")
    if text is not None and not isinstance(text, str):
        raise ValueError(f"the server's answer has a non-text completion: {text!r}")
    text = text or ""
    finish = str(choice.get("finish_reason") or "stop")
    for stop in request.stop:
        if stop in text:
            text, finish = text[: text.index(stop)], "stop"
    usage = answer.get("usage") if isinstance(answer, dict) else None
    tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
    return Generation(text, int(tokens) if isinstance(tokens, int) else 0, finish)


def _first_choice(answer: Any) -> dict[str, Any]:
    choices = answer.get("choices") if isinstance(answer, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ValueError(f"the server's answer has no choices: {str(answer)[:200]}")
    choice: dict[str, Any] = choices[0]
    return choice


def _by_root(models: dict[str, dict[str, Any]], where: str, *, parent: bool) -> str | None:
    """The served model whose ``root`` is ``where`` (compared as resolved paths);
    adapters (with a ``parent``) or base models only."""
    wanted = _resolved(where)
    for name, entry in models.items():
        root = entry.get("root")
        if not isinstance(root, str) or bool(entry.get("parent")) != parent:
            continue
        if root == where or _resolved(root) == wanted:
            return name
    return None


def _resolved(where: str) -> str:
    try:
        return str(Path(where).expanduser().resolve())
    except (OSError, RuntimeError):
        return where


def _server_identity(base_url: str) -> str:
    """scheme://host[:port]/path, without the port when the host is a loopback one."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    keep_port = parts.port is not None and host not in _LOOPBACK
    netloc = f"{host}:{parts.port}" if keep_port else host
    return f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"


def _read_api_key(variable: str | None) -> str | None:
    """The API key from the environment variable the configuration names."""
    if variable is None:
        return None
    key = os.environ.get(variable)
    if not key:
        raise ValueError(f"backend.openai.api_key_env names the environment variable "
                         f"{variable}, which is not set")
    return key
