"""JSON over HTTP for the HTTP backends: bounded concurrency, timeouts, retries, and
calls spread over several servers.

A remote server is shared and flaky: it answers 429 when busy, 5xx when a worker
dies, and drops connections on restarts. Every call here is retried with exponential
backoff and jitter (honouring ``Retry-After``), and fails after the last retry with an
error naming the URL and the status. With several servers (one per GPU or host), a
call that fails for good on one server for the server's sake (connection, timeout,
429/5xx) is sent to another; it fails only when every server failed it. The API key
goes out only as a header: errors and log lines never contain it. httpx is imported by
the backend module that uses this one, never by ``import tunegate``.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
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
    """JSON calls with retries on one httpx.AsyncClient (one server); how many are in
    flight at once is the :class:`ServerPool`'s business."""

    def __init__(self, client: httpx.AsyncClient, policy: RetryPolicy, secret: str | None):
        self._client, self._policy, self._secret = client, policy, secret
        self._rng = random.Random()

    @property
    def url(self) -> str:
        return f"{self._client.base_url}".rstrip("/")

    async def call(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        """The answer's JSON; retried as the policy says, then a BackendHTTPError."""
        url = self.url + "/" + path.lstrip("/")
        attempts = self._policy.max_retries + 1
        for attempt in range(attempts):
            status, retry_after = None, None
            try:
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


def server_failed(error: BackendHTTPError) -> bool:
    """Whether a failed call says more about the server than the request: no answer
    (connection, timeout) or a retryable status. Another server may answer it."""
    return error.status is None or retryable(error.status)


@dataclass(frozen=True)
class Answer:
    """A call's JSON, the server that gave it, and ``latency_ms``: the time from sending
    to the complete answer, retries (and servers tried before) included, time spent
    waiting for a free slot excluded."""

    data: Any
    url: str
    latency_ms: float


class ServerHealth:
    """Which servers failed their last call, kept across batches (and event loops).

    A failed server gets no new calls while another is healthy; it is tried again
    only for a call every healthy server failed, and is healthy again once it answers.
    """

    def __init__(self) -> None:
        self._down: dict[str, str] = {}

    def is_up(self, url: str) -> bool:
        return url not in self._down

    def mark_down(self, url: str, reason: str) -> None:
        if url not in self._down:
            log.warning("%s failed (%s); its calls go to the other servers", url, reason)
        self._down[url] = reason

    def mark_up(self, url: str) -> None:
        if self._down.pop(url, None) is not None:
            log.info("%s answers again", url)


class ServerPool:
    """Calls spread over one or more servers, at most ``limits[i]`` in flight on server i.

    A call waits (in the pool's queue) for a free slot on a healthy server, then goes to
    the one with the fewest calls in flight (least outstanding requests; ties in turn),
    so a faster server takes more. It keeps its slot through its retries there, so a
    struggling server is not sent new work while it backs off. When it fails there for
    the server's sake it moves to another server; it fails when every server failed it
    (with the server's own error when there is one server).
    """

    def __init__(self, clients: Sequence[JSONClient], limits: Sequence[int],
                 health: ServerHealth):
        if not clients or len(clients) != len(limits):
            raise ValueError("a server pool needs one limit per server, and a server")
        self._clients, self._limits, self._health = list(clients), list(limits), health
        self._active = [0] * len(clients)
        self._turn = 0
        self._waiters: list[asyncio.Future[None]] = []

    async def get(self, path: str) -> Answer:
        return await self.call("GET", path, None)

    async def post(self, path: str, body: dict[str, Any]) -> Answer:
        return await self.call("POST", path, body)

    async def call(self, method: str, path: str, body: dict[str, Any] | None) -> Answer:
        tried: set[int] = set()
        failures: list[BackendHTTPError] = []
        latency = 0.0
        while (index := await self._take_slot(tried)) is not None:
            client = self._clients[index]
            start = time.perf_counter()
            try:
                data = await client.call(method, path, body)
            except BackendHTTPError as exc:
                if not server_failed(exc):
                    raise
                tried.add(index)
                failures.append(exc)
                if len(self._clients) > 1:
                    self._health.mark_down(client.url, str(exc))
                continue
            finally:
                latency += (time.perf_counter() - start) * 1000
                self._release(index)
            self._health.mark_up(client.url)
            return Answer(data, client.url, latency)
        raise every_server_failed(method, path, failures)

    async def each(self, method: str, path: str) -> list[Any | BackendHTTPError]:
        """One call to every server (no failover, no slots): its JSON or its error."""
        async def one(client: JSONClient) -> Any:
            try:
                return await client.call(method, path, None)
            except BackendHTTPError as exc:
                return exc

        return list(await asyncio.gather(*(one(client) for client in self._clients)))

    async def _take_slot(self, tried: set[int]) -> int | None:
        """A server for the call (its slot taken); None when every server was tried."""
        while True:
            untried = [i for i in range(len(self._clients)) if i not in tried]
            if not untried:
                return None
            healthy = [i for i in untried if self._health.is_up(self._clients[i].url)]
            free = [i for i in healthy or untried if self._active[i] < self._limits[i]]
            if free:
                count = len(self._clients)
                index = min(free, key=lambda i: (self._active[i], (i - self._turn) % count))
                self._turn = (index + 1) % count
                self._active[index] += 1
                return index
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)

    def _release(self, index: int) -> None:
        """Free a slot and wake every waiting call to look again (health may have
        changed too); synchronous, so a cancelled call still frees its slot."""
        self._active[index] -= 1
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


def every_server_failed(method: str, path: str,
                        failures: Sequence[BackendHTTPError]) -> BackendHTTPError:
    """The error of a call that every server failed: the server's own when there is one,
    else one that names every server's failure."""
    if len(failures) == 1:
        return failures[0]
    reasons = "; ".join(str(failure) for failure in failures)
    last = failures[-1]
    return BackendHTTPError(f"{method} {path} failed on every server ({len(failures)}): "
                            f"{reasons}", url=last.url, status=last.status)


@asynccontextmanager
async def open_pool(urls: Sequence[str], policy: RetryPolicy, limits: Sequence[int],
                    api_key: str | None, health: ServerHealth,
                    tls: ssl.SSLContext | None = None) -> AsyncIterator[ServerPool]:
    """A :class:`ServerPool` over ``urls`` for one batch of calls; the connections close
    on exit. ``tls`` is reused across batches: building a context costs more than a
    small batch; ``health`` outlives the batch."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    verify = tls or httpx.create_ssl_context()
    async with AsyncExitStack() as stack:
        clients = []
        for url, limit in zip(urls, limits, strict=True):
            connections = httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
            client = await stack.enter_async_context(httpx.AsyncClient(
                base_url=url.rstrip("/") + "/", headers=headers, limits=connections,
                timeout=httpx.Timeout(policy.timeout_s), verify=verify,
            ))
            clients.append(JSONClient(client, policy, api_key))
        yield ServerPool(clients, limits, health)


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


