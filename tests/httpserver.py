"""A real HTTP server on 127.0.0.1 that answers like an OpenAI-compatible server.

Tests script its answers (a queue of :class:`Reply` per path, or a ``respond``
function) and read back what it received: bodies, headers, how many requests were in
flight at once. It is a real socket server in a thread, so the client under test runs
its real transport, timeouts and retries. Loaded by tests/conftest.py
(``load_httpserver``), since the tests are not a package.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BASE_MODEL = {"id": "tiny-base", "object": "model", "root": "/srv/models/tiny-base",
              "parent": None, "owned_by": "vllm", "max_model_len": 256}


@dataclass
class Reply:
    """One scripted answer: a JSON body with a status, after ``delay`` seconds; or a
    dropped connection (the socket closes without an answer)."""

    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


def word_tokens(text: str) -> list[str]:
    """The fake server's tokenizer: words with their leading whitespace."""
    return re.findall(r"\s*\S+|\s+", text)


def token_logprob(token: str) -> float:
    """The fake model's log-probability of a token: -len/10, easy to recompute."""
    return -len(token) / 10


def chat_reply(text: str, tokens: int = 3, finish: str = "stop") -> Reply:
    return Reply({"id": "chatcmpl-1", "object": "chat.completion", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}
    ], "usage": {"prompt_tokens": 5, "completion_tokens": tokens, "total_tokens": 5 + tokens}})


def completion_reply(text: str, tokens: int = 3, finish: str = "stop") -> Reply:
    return Reply({"id": "cmpl-1", "object": "text_completion", "choices": [
        {"index": 0, "text": text, "logprobs": None, "finish_reason": finish}
    ], "usage": {"prompt_tokens": 5, "completion_tokens": tokens, "total_tokens": 5 + tokens}})


def echo_reply(prompt: str, bos: str | None = None) -> Reply:
    """What vLLM answers to echo=true, logprobs=1, max_tokens=0: the prompt's tokens,
    their offsets and log-probabilities (None for the first)."""
    tokens = ([bos] if bos else []) + word_tokens(prompt)
    values: list[float | None] = [None] + [token_logprob(t) for t in tokens[1:]]
    offsets, position = [], 0
    for token in tokens:
        offsets.append(position)
        position += len(token)
    logprobs = {"tokens": tokens, "token_logprobs": values, "text_offset": offsets,
                "top_logprobs": [None] + [{t: v} for t, v in zip(tokens[1:], values[1:],
                                                                   strict=True)]}
    return Reply({"id": "cmpl-echo", "object": "text_completion", "choices": [
        {"index": 0, "text": prompt, "logprobs": logprobs, "finish_reason": "length"}
    ], "usage": {"prompt_tokens": len(tokens), "completion_tokens": 0}})


class OpenAIServer:
    """The server: scripted replies first, then a path's responder, then defaults."""

    def __init__(self) -> None:
        self.models: list[dict[str, Any]] = [dict(BASE_MODEL)]
        self.received: list[Received] = []
        self._responders: dict[str, Callable[[Received], Reply]] = {}
        self.bos: str | None = None
        self.active = 0
        self.max_active = 0
        self.stopping = threading.Event()
        self.on_request: Callable[[Received], None] = lambda request: None
        self._scripts: dict[str, deque[Reply]] = {}
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._httpd.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,),
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def script(self, path: str, *replies: Reply) -> None:
        """Answer the next requests to ``path`` (e.g. ``/v1/completions``) with these."""
        with self._lock:
            self._scripts.setdefault(path, deque()).extend(replies)

    def on(self, path: str, respond: Callable[[Received], Reply]) -> None:
        """Answer every unscripted request to ``path`` with ``respond(request)``."""
        self._responders[path] = respond

    def posts(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.method == "POST" and r.path == path]

    def start(self) -> OpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)

    def answer(self, request: Received) -> Reply:
        with self._lock:
            self.received.append(request)
            queue = self._scripts.get(request.path)
            scripted = queue.popleft() if queue else None
        self.on_request(request)
        if scripted is not None:
            return scripted
        respond = self._responders.get(request.path)
        return respond(request) if respond is not None else self._default(request)

    def _default(self, request: Received) -> Reply:
        if request.path == "/v1/models":
            return Reply({"object": "list", "data": self.models})
        if request.path == "/v1/chat/completions":
            return chat_reply("ok")
        if request.path == "/v1/completions":
            body = request.body or {}
            if body.get("echo"):
                return echo_reply(body["prompt"], self.bos)
            return completion_reply("ok")
        return Reply({"error": {"message": f"no route {request.path}"}}, status=404)

    def enter(self) -> None:
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)

    def leave(self) -> None:
        with self._lock:
            self.active -= 1


def _handler_for(server: OpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._serve(None)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            self._serve(json.loads(raw) if raw else None)

        def _serve(self, body: Any) -> None:
            request = Received(self.command, self.path, dict(self.headers.items()), body)
            server.enter()
            try:
                reply = server.answer(request)
                if reply.delay:
                    server.stopping.wait(reply.delay)
            finally:
                # before the answer goes out: once the client has it, it may send its next
                # request on a new connection before this thread would get to leave()
                server.leave()
            if reply.drop:
                self.close_connection = True
                return
            payload = json.dumps(reply.body).encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
