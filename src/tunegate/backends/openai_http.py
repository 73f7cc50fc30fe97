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

Several servers (``base_url`` a list: one vLLM per GPU or host) must serve each
reference under the same name with the same ``/models`` entry, or the reference is
refused. Calls go to the server with the fewest in flight, at most ``concurrency`` on
each; a call that a server fails (no connection, timeouts, 429/5xx after the retries)
moves to another, and fails only when every server failed it. A server that does not
answer ``/models`` at the start is left out (with a warning): what it serves cannot be
checked. Which server answered is not part of the fingerprint, so neither the cache.

Every answer carries its usage: ``prompt_tokens`` from the server's ``usage`` and
``latency_ms`` from sending to the complete answer, retries included, the time a call
waits in the backend's own queue for a free slot excluded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
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
    Answer,
    BackendHTTPError,
    RetryPolicy,
    ServerHealth,
    ServerPool,
    every_server_failed,
    new_tls_context,
    open_pool,
    run_sync,
    server_failed,
)
from tunegate.backends._protocol import (
    ChoiceScores,
    GenerateRequest,
    Generation,
    ModelRef,
    ScoreRequest,
)
from tunegate.backends._render import cut_at_stop
from tunegate.config import OpenAIConfig

__all__ = [
    "SERVED_PREFIX",
    "BackendHTTPError",
    "ChoiceMergesWithContext",
    "OpenAIHTTPBackend",
    "PromptLogprobsUnsupported",
    "ServerModelMismatch",
    "served_ref",
]

SERVED_PREFIX = "served:"
"""An adapter spec ``served:NAME`` names a model the server serves, by its served name."""

_FINGERPRINT_FIELDS = ("id", "root", "parent", "owned_by", "max_model_len")
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
T = TypeVar("T")
log = logging.getLogger("tunegate.backends.openai_http")


class ServerModelMismatch(LookupError):
    """Two servers of one backend serve a reference differently (another name, another
    ``/models`` entry), so their answers cannot stand for one model."""


def served_ref(role: str, base: str, name: str) -> ModelRef:
    """A reference to the adapter the server serves as ``name`` (``--lora-modules``)."""
    return ModelRef(role, base, Path(SERVED_PREFIX + name))


@dataclass(frozen=True)
class _ScoreJob:
    request: int
    prompt: str
    boundary: int
    plain: bool  # the rendered prompt already starts with BOS: do not add another


@dataclass(frozen=True)
class _EchoScore:
    logprob: float
    token_count: int
    prompt_tokens: int | None  # the context's tokens, the choice's left out
    latency_ms: float


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
        self._catalogs: dict[str, dict[str, dict[str, Any]]] | None = None
        self._health = ServerHealth()
        self._tls: ssl.SSLContext | None = None

    def __repr__(self) -> str:
        return f"OpenAIHTTPBackend({self.config.base_url!r})"

    # -- identity -------------------------------------------------------------------

    def served_models(self) -> dict[str, dict[str, Any]]:
        """The ``/models`` entries by id of the first server that answered."""
        return next(iter(self._server_models().values()))

    def served_name(self, ref: ModelRef) -> str:
        """The served model name of a reference (see the module docstring)."""
        return self._served(ref)[0]

    def fingerprint(self, ref: ModelRef) -> str:
        """A hash of the servers, the served name and its ``/models`` entry, plus the
        content hash of every local folder the reference names.

        Weaker than a weight hash when nothing is local: a server that swaps the weights
        behind the same name and path keeps its fingerprint. A loopback server's port is
        left out, since a local server is started on a free port each run. With several
        servers it covers the configured set (in any order), not the one that answers.
        """
        name, entry = self._served(ref)
        identity: dict[str, Any] = {
            "server": _servers_identity(self.config.servers),
            "model": name,
            "entry": entry,
        }
        if self.config.extra_body:  # it changes the answers, so the cache entries
            identity["extra_body"] = self.config.extra_body
        for key, where in (("base", ref.base), ("adapter", ref.adapter)):
            if where is not None and Path(where).is_dir():
                identity[f"{key}_files"] = folder_fingerprint(Path(where))
        digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
        return f"openai:{digest}"

    def _server_models(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Every answering server's ``/models`` entries by id, by server; fetched once.

        A server that fails for its own sake (no connection, 5xx) is left out for the
        backend's life, since its models cannot be checked; if every one fails, so does
        this. Any other error (401, a malformed list) fails closed.
        """
        if self._catalogs is None:
            servers = self.config.servers
            answers = self._run_on(servers, [1] * len(servers),
                                   lambda pool: pool.each("GET", "models"))
            catalogs: dict[str, dict[str, dict[str, Any]]] = {}
            failures: list[BackendHTTPError] = []
            for url, answer in zip(servers, answers, strict=True):
                if isinstance(answer, BackendHTTPError):
                    if not server_failed(answer):
                        raise answer
                    failures.append(answer)
                    continue
                catalogs[url] = _model_list(answer, url)
            if not catalogs:
                raise every_server_failed("GET", "models", failures)
            for failure in failures:
                log.warning("left out for this run, its models cannot be checked: %s", failure)
            self._catalogs = catalogs
        return self._catalogs

    def _served(self, ref: ModelRef) -> tuple[str, dict[str, Any]]:
        """The reference's served name and identifying ``/models`` fields, the same on
        every server, else a :class:`LookupError` naming the servers that differ."""
        catalogs = self._server_models()
        found = {url: _find_served(models, ref, self.config.model)
                 for url, models in catalogs.items()}
        serving = [(url, name) for url, (name, _) in found.items() if name is not None]
        for url, (name, what) in found.items():
            if name is None:
                served = ", ".join(sorted(catalogs[url])) or "none"
                which = f", which {serving[0][0]} serves as {serving[0][1]!r}" if serving else ""
                raise (ServerModelMismatch if serving else LookupError)(
                    f"{url} does not serve the {what} of {ref.describe()}{which}; "
                    f"it serves: {served}")
        first, name = serving[0]
        entry = _identifying(catalogs[first], name)
        for url, other_name in serving[1:]:
            other = _identifying(catalogs[url], other_name)
            differs = [key for key in _FINGERPRINT_FIELDS if entry[key] != other[key]]
            if differs:
                key = differs[0]  # the id first: another name is the plainest mismatch
                raise ServerModelMismatch(
                    f"{first} and {url} do not serve {ref.describe()} as the same model: "
                    f"its {key} is {entry[key]!r} on the first and {other[key]!r} on the "
                    f"second (the servers must serve the same models under the same names)")
        return name, entry

    # -- generation -----------------------------------------------------------------

    def generate(self, ref: ModelRef, requests: Sequence[GenerateRequest]) -> list[Generation]:
        """One completion per request: chat completions for messages, completions for
        prompts; stop strings are cut from the text, as the transformers backend does."""
        model = self.served_name(ref)

        async def one(pool: ServerPool, request: GenerateRequest) -> Generation:
            chat = request.messages is not None
            answer = await pool.post("chat/completions" if chat else "completions",
                                     _generation_body(model, request, self.config.extra_body))
            return _parse_generation(answer, request, chat=chat)

        return self._run(lambda pool: _gather(pool, one, requests))

    # -- scoring --------------------------------------------------------------------

    def score(self, ref: ModelRef, requests: Sequence[ScoreRequest]) -> list[ChoiceScores]:
        """Log-likelihood of each choice after its context, one echo call per choice.

        A request's ``latency_ms`` is the longest of its choices' calls: they go out
        independently (at once when slots allow), and the request is answered with the
        last of them; the time a call waits for a slot is excluded, as everywhere.
        ``prompt_tokens`` counts the context's tokens, without the choice's.
        """
        model = self.served_name(ref)
        jobs = [job for i, r in enumerate(requests) for job in self._score_jobs(i, r)]

        async def one(pool: ServerPool, job: _ScoreJob) -> _EchoScore:
            body: dict[str, Any] = {"model": model, "prompt": job.prompt, "echo": True,
                                    "logprobs": 1, "max_tokens": 0, "temperature": 0.0}
            if job.plain:
                body["add_special_tokens"] = False
            try:
                answer = await pool.post("completions", body)
            except BackendHTTPError as exc:
                if exc.status in (400, 404, 422, 501):
                    raise PromptLogprobsUnsupported(
                        f"{PROMPT_LOGPROBS_HINT}; {exc.url} answered {exc.status}: "
                        f"{exc.server_message}") from None
                raise
            scored = continuation_score(_first_choice(answer.data), job.prompt, job.boundary)
            context = _prompt_tokens(answer.data)
            return _EchoScore(scored.logprob, scored.token_count,
                              None if context is None else context - scored.token_count,
                              answer.latency_ms)

        # a server that serves a LoRA gets one scoring call at a time (see serves_lora)
        results = self._run(lambda pool: _gather(pool, one, jobs), scoring=True)
        calls: list[list[_EchoScore]] = [[] for _ in requests]
        for job, result in zip(jobs, results, strict=True):
            calls[job.request].append(result)
        return [_choice_scores(scored) for scored in calls]

    def serves_lora(self) -> bool:
        """Whether a server serves a LoRA adapter (a model with a ``parent``).

        Such a vLLM server crashes when the prompt log-probabilities of several
        requests fall into one engine step (vLLM issue 29955; for base-model requests
        too), so scoring sends one request at a time to it. The crash is per engine:
        the limit is per server, servers that serve LoRA are still scored in parallel
        with each other, and servers without LoRA keep their full concurrency.
        Generation is unaffected.
        """
        return any(_serves_lora(models) for models in self._server_models().values())

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

    def _run(self, work: Callable[[ServerPool], Awaitable[T]], *, scoring: bool = False) -> T:
        """``work`` on a pool of the answering servers; when ``scoring``, a server that
        serves a LoRA takes one call at a time (see :meth:`serves_lora`)."""
        catalogs = self._server_models()
        limits = [1 if scoring and _serves_lora(models) else self.config.concurrency
                  for models in catalogs.values()]
        return self._run_on(list(catalogs), limits, work)

    def _run_on(self, servers: Sequence[str], limits: Sequence[int],
                work: Callable[[ServerPool], Awaitable[T]]) -> T:
        if self._tls is None:
            self._tls = new_tls_context()
        tls = self._tls

        async def session() -> T:
            async with open_pool(servers, self._policy, limits, self._api_key, self._health,
                                 tls) as pool:
                return await work(pool)

        return run_sync(session)


async def _gather(pool: ServerPool, one: Callable[[ServerPool, Any], Awaitable[T]],
                  items: Sequence[Any]) -> list[T]:
    """All calls at once (the pool bounds how many are in flight), in item order;
    the first failure cancels the rest."""
    import asyncio

    tasks = [asyncio.ensure_future(one(pool, item)) for item in items]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _generation_body(model: str, request: GenerateRequest,
                     extra: Mapping[str, Any]) -> dict[str, Any]:
    """The request's fields; ``extra`` (the config's extra_body) adds server-specific
    ones but never replaces them."""
    body: dict[str, Any] = {**extra, "model": model, "max_tokens": request.max_new_tokens,
                            "temperature": request.temperature, "seed": request.seed}
    if request.messages is not None:
        body["messages"] = [m.model_dump() for m in request.messages]
    else:
        body["prompt"] = request.prompt
    if request.stop:
        body["stop"] = list(request.stop)
    return body


def _parse_generation(answer: Answer, request: GenerateRequest, *, chat: bool) -> Generation:
    choice = _first_choice(answer.data)
    if chat:
        message = choice.get("message")
        text = message.get("content") if isinstance(message, dict) else None
    else:
        text = choice.get("text")
    if text is not None and not isinstance(text, str):
        raise ValueError(f"the server's answer has a non-text completion: {text!r}")
    text = text or ""
    text, finish = cut_at_stop(text, request.stop, str(choice.get("finish_reason") or "stop"))
    tokens = _usage(answer.data, "completion_tokens")
    return Generation(text, tokens if tokens is not None else 0, finish,
                      prompt_tokens=_prompt_tokens(answer.data), latency_ms=answer.latency_ms)


def _choice_scores(calls: Sequence[_EchoScore]) -> ChoiceScores:
    """One request's scores from its choices' calls (latency: the longest call)."""
    contexts = [call.prompt_tokens for call in calls if call.prompt_tokens is not None]
    return ChoiceScores(tuple(call.logprob for call in calls),
                        tuple(call.token_count for call in calls),
                        prompt_tokens=contexts[0] if contexts else None,
                        latency_ms=max((call.latency_ms for call in calls), default=None))


def _prompt_tokens(answer: Any) -> int | None:
    """The prompt's length in tokens: ``usage.prompt_tokens``, else for an echo the
    number of echoed tokens; None when the answer tells neither."""
    found = _usage(answer, "prompt_tokens")
    if found is not None:
        return found
    choices = answer.get("choices") if isinstance(answer, dict) else None
    first = choices[0] if isinstance(choices, list) and choices else None
    logprobs = first.get("logprobs") if isinstance(first, dict) else None
    tokens = logprobs.get("tokens") if isinstance(logprobs, dict) else None
    return len(tokens) if isinstance(tokens, list) and tokens else None


def _usage(answer: Any, key: str) -> int | None:
    usage = answer.get("usage") if isinstance(answer, dict) else None
    value = usage.get(key) if isinstance(usage, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _first_choice(answer: Any) -> dict[str, Any]:
    choices = answer.get("choices") if isinstance(answer, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ValueError(f"the server's answer has no choices: {str(answer)[:200]}")
    choice: dict[str, Any] = choices[0]
    return choice


def _model_list(answer: Any, url: str) -> dict[str, dict[str, Any]]:
    """A ``/models`` answer's entries by id."""
    entries = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(entries, list):
        where = url.rstrip("/") + "/models"
        raise BackendHTTPError(f"GET {where}: no model list in the answer", url=where,
                               status=None)
    return {e["id"]: e for e in entries if isinstance(e, dict) and "id" in e}


def _find_served(models: dict[str, dict[str, Any]], ref: ModelRef,
                 model: str | None) -> tuple[str | None, str]:
    """The served name of ``ref`` among one server's ``models`` (None: not served), and
    what was looked for, for the error; ``model`` is the configured base model name."""
    if ref.adapter is None:
        wanted = model or ref.base
        found = wanted if wanted in models else _by_root(models, ref.base, parent=False)
        return found, f"base model {wanted!r}"
    if str(ref.adapter).startswith(SERVED_PREFIX):
        wanted = str(ref.adapter)[len(SERVED_PREFIX):]
        return (wanted if wanted in models else None), f"adapter {wanted!r}"
    return _by_root(models, str(ref.adapter), parent=True), (
        f"adapter folder {ref.adapter} (start the server with --lora-modules "
        f"NAME={ref.adapter}, or name it as served:NAME)")


def _identifying(models: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    """The fields of a ``/models`` entry that identify the model (the fingerprint's)."""
    return {key: models[name].get(key) for key in _FINGERPRINT_FIELDS}


def _serves_lora(models: dict[str, dict[str, Any]]) -> bool:
    return any(entry.get("parent") for entry in models.values())


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


def _servers_identity(servers: Sequence[str]) -> str | list[str]:
    """The identity of a set of servers: one server's as before, else the sorted set."""
    identities = sorted({_server_identity(url) for url in servers})
    return identities[0] if len(identities) == 1 else identities


def _read_api_key(variable: str | None) -> str | None:
    """The API key from the environment variable the configuration names."""
    if variable is None:
        return None
    key = os.environ.get(variable)
    if not key:
        raise ValueError(f"backend.openai.api_key_env names the environment variable "
                         f"{variable}, which is not set")
    return key
