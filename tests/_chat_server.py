"""A real HTTP server on 127.0.0.1 that speaks the chat completions wire format, for tests.

It answers ``POST /v1/chat/completions`` from a queue of scripted responses (status, JSON body,
headers; optionally a delay, or a dropped connection) and records every request body it
received, so tests assert on what the client actually sent. When the queue is empty it answers
418 and counts the miss: ``assert_done()`` fails on misses and on leftover responses.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "ChatServer",
    "Scripted",
    "completion",
    "error_response",
    "text_reply",
    "tool_reply",
]


class _Server(ThreadingHTTPServer):
    """Room for many connections at once (the default backlog of 5 drops some)."""

    daemon_threads = True
    request_queue_size = 128


@dataclass
class Scripted:
    """One scripted answer.

    Attributes:
        status: The HTTP status code.
        body: The JSON body.
        headers: Extra response headers (``Retry-After``...).
        delay: Seconds to wait before answering (to provoke a client timeout).
        drop: Close the connection without answering (a connection error).
    """

    status: int = 200
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False


def completion(
    message: dict[str, Any],
    *,
    model: str = "gpt-4o-mini-2024-07-18",
    prompt_tokens: int = 100,
    completion_tokens: int = 20,
    finish_reason: str = "stop",
) -> Scripted:
    """A 200 chat completion whose one choice is ``message``."""
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
    return Scripted(status=200, body=body)


def text_reply(text: str, **options: Any) -> Scripted:
    """A completion with plain assistant content."""
    return completion({"role": "assistant", "content": text}, **options)


def tool_reply(
    *calls: tuple[str, str] | tuple[str, str, str], content: str | None = None, **options: Any
) -> Scripted:
    """A completion with tool calls: ``(name, arguments_json[, call_id])`` each.

    The arguments are sent as given (a string), so a test can script malformed JSON.
    """
    tool_calls = []
    for index, call in enumerate(calls):
        name, arguments = call[0], call[1]
        call_id = call[2] if len(call) == 3 else f"call_{index}_{name}"
        tool_calls.append(
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
        )
    message = {"role": "assistant", "content": content, "tool_calls": tool_calls}
    return completion(message, finish_reason="tool_calls", **options)


def error_response(
    status: int, message: str = "scripted error", headers: dict[str, str] | None = None
) -> Scripted:
    """An OpenAI-style error body with the given status."""
    body = {"error": {"message": message, "type": "scripted", "param": None, "code": None}}
    return Scripted(status=status, body=body, headers=dict(headers or {}))


class ChatServer:
    """A threaded chat completions server on an ephemeral loopback port.

    Use it as a context manager; ``base_url`` is what a client needs.
    """

    def __init__(self, *responses: Scripted) -> None:
        self.queue: deque[Scripted] = deque(responses)
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []
        self.misses = 0
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL (ending in ``/v1``)."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def add(self, *responses: Scripted) -> None:
        """Queue more scripted responses."""
        with self._lock:
            self.queue.extend(responses)

    def assert_done(self) -> None:
        """Fail when a request found the queue empty, or when responses were left over."""
        assert self.misses == 0, f"{self.misses} request(s) found no scripted response"
        assert not self.queue, f"{len(self.queue)} scripted response(s) left over"

    def __enter__(self) -> ChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def _next(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> Scripted:
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            self.paths.append(path)
            if self.queue:
                return self.queue.popleft()
            self.misses += 1
        return error_response(418, "the test server has no scripted response left")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once, no 40 ms ACK wait

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                body = json.loads(raw or b"{}")
                headers = {k.lower(): v for k, v in self.headers.items()}
                scripted = server._next(self.path, body, headers)
                if scripted.delay:
                    time.sleep(scripted.delay)  # on purpose: provokes the client's timeout
                if scripted.drop:
                    self.close_connection = True
                    self.connection.close()
                    return
                if self.path.rstrip("/") != "/v1/chat/completions":
                    scripted = error_response(404, f"no route {self.path}")
                payload = json.dumps(scripted.body).encode()
                try:
                    self.send_response(scripted.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in scripted.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to answer

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        return Handler
