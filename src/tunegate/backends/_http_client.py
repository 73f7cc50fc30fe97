"""JSON over HTTP for the HTTP backends: bounded concurrency, timeouts, retries.

A remote server is shared and flaky: it answers 429 when busy, 5xx when a worker
dies, and drops connections on restarts. Every call here is retried with exponential
backoff and jitter (honouring ``Retry-After``), and fails after the last retry with an
error naming the URL and the status. The API key goes out only as a header: errors
and log lines never contain it. httpx is imported by the backend module that uses
this one, never by ``import tunegate``.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import ssl
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

log = logging.getLogger("tunegate.backends.openai_http")
T = TypeVar("T")
MAX_BODY_IN_ERROR = 300


class BackendHTTPError(RuntimeError):
    """A call that failed for good: after its last retry, or with a status not retried.

    ``status`` is the last HTTP status (None for connection errors and timeouts) and
    ``server_message`` what the server said about it, with any secret removed.
    """

    def __init__(self, message: str, *, url: str, status: int | None, server_message: str = ""):
        self.url, self.status, self.server_message = url, status, server_message
        super().__init__(message)


@dataclass(frozen=True)
class RetryPolicy:
    """How long one attempt may take and how failed attempts are repeated."""

    timeout_s: float = 60.0
    max_retries: int = 3
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds before retry ``attempt`` + 1: Retry-After when the server gave one,
        else exponential backoff with equal jitter; never more than ``max_backoff_s``."""
        if retry_after is not None:
            return min(self.max_backoff_s, max(0.0, retry_after))
        ceiling = self.backoff_s * 2.0**attempt
        return min(self.max_backoff_s, ceiling / 2 + rng.uniform(0, ceiling / 2))


def retryable(status: int) -> bool:
    """429 (rate limited) and every 5xx are worth another try; other errors are not."""
    return status == 429 or status >= 500


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class JSONClient:
    """JSON calls on one httpx.AsyncClient, at most ``concurrency`` in flight at once."""

    def __init__(self, client: httpx.AsyncClient, policy: RetryPolicy, concurrency: int,
                 secret: str | None):
        self._client, self._policy, self._secret = client, policy, secret
        self._slots = asyncio.Semaphore(concurrency)
        self._rng = random.Random()

    async def get(self, path: str) -> Any:
        return await self._call("GET", path, None)

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        return await self._call("POST", path, body)

    async def _call(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        url = f"{self._client.base_url}".rstrip("/") + "/" + path.lstrip("/")
        attempts = self._policy.max_retries + 1
        for attempt in range(attempts):
            status, retry_after = None, None
            try:
                async with self._slots:
                    response = await self._client.request(method, path.lstrip("/"), json=body)
            except httpx.TimeoutException as exc:
                problem = f"timed out after {self._policy.timeout_s:g} s ({type(exc).__name__})"
            except httpx.TransportError as exc:
                problem = f"connection failed ({type(exc).__name__}: {self._redact(str(exc))})"
            else:
                status = response.status_code
                if status < 400:
                    return self._json(response, method, url)
                message = self._server_message(response)
                problem = f"HTTP {status}" + (f": {message}" if message else "")
                if not retryable(status):
                    raise BackendHTTPError(f"{method} {url} failed: {problem}", url=url,
                                           status=status, server_message=message)
                retry_after = parse_retry_after(response.headers.get("retry-after"))
            if attempt + 1 == attempts:
                raise BackendHTTPError(
                    f"{method} {url} failed after {attempts} attempt(s): {problem}",
                    url=url, status=status,
                )
            wait = self._policy.delay(attempt, retry_after, self._rng)
            log.warning("%s %s: %s; retry %d of %d in %.2f s", method, url, problem,
                        attempt + 1, attempts - 1, wait)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _json(self, response: httpx.Response, method: str, url: str) -> Any:
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BackendHTTPError(
                f"{method} {url}: the server answered {response.status_code} with a body that "
                f"is not JSON ({exc})", url=url, status=response.status_code,
            ) from None

    def _server_message(self, response: httpx.Response) -> str:
        """The error message of an OpenAI- or vLLM-shaped error body, else its text."""
        text = response.text
        try:
            data = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            data = None
        if isinstance(data, dict):
            inner = data.get("error")
            found = inner.get("message") if isinstance(inner, dict) else data.get("message")
            if isinstance(found, str):
                text = found
            elif isinstance(inner, str):
                text = inner
        text = self._redact(" ".join(text.split()))
        return text if len(text) <= MAX_BODY_IN_ERROR else text[:MAX_BODY_IN_ERROR] + "..."

    def _redact(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text


def new_tls_context() -> ssl.SSLContext:
    """The TLS settings httpx would build (certifi's CA bundle), made once per backend."""
    return httpx.create_ssl_context()


@asynccontextmanager
async def open_client(base_url: str, policy: RetryPolicy, concurrency: int,
                      api_key: str | None, tls: ssl.SSLContext | None = None) -> Any:
    """A :class:`JSONClient` for one batch of calls; the connections close on exit.

    ``tls`` is reused across batches: building a context costs more than a small batch.
    """
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base_url.rstrip("/") + "/", headers=headers, limits=limits,
        timeout=httpx.Timeout(policy.timeout_s), verify=tls or httpx.create_ssl_context(),
    ) as client:
        yield JSONClient(client, policy, concurrency, api_key)


def run_sync(work: Callable[[], Awaitable[T]]) -> T:
    """Run async work to completion from synchronous code.

    In a thread with no running event loop (plain pytest, a script) this is
    ``asyncio.run``; inside a running loop (an async test, a notebook) the work runs
    on a fresh loop in a worker thread, so the backend's sync methods work anywhere.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_as_coroutine(work))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tunegate-http") as pool:
        return pool.submit(lambda: asyncio.run(_as_coroutine(work))).result()


async def _as_coroutine(work: Callable[[], Awaitable[T]]) -> T:
    return await work()


