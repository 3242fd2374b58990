"""A local OpenAI-compatible HTTP server for tests: the one stand-in for OpenAI.

The real ``openai`` client talks to it over HTTP (``POST /v1/chat/completions``). It records every
request and answers from a queue of scripted replies, then from a default (or a ``responder``
callable that sees the request body, for tests that need answers computed from the prompt)::

    with FakeOpenAI() as server:
        server.script(Reply.text("현재 매장에는 남자 2명이 있습니다."), Reply.status(429))
        settings = Settings(openai_api_key="test", openai_base_url=server.base_url)
        ...
        assert server.requests[0].body["temperature"] == 0.7

It runs a threaded ``http.server`` on a free 127.0.0.1 port in a daemon thread, so it serves sync
and async tests alike; a delayed reply sleeps in its own thread and :meth:`FakeOpenAI.close` cuts
every sleep short.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

__all__ = ["FakeOpenAI", "RecordedRequest", "Reply"]


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a completion text, or an HTTP error status, after ``delay`` seconds."""

    content: str | None = None
    status_code: int = 200
    delay: float = 0.0
    model: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def text(cls, content: str, *, delay: float = 0.0, model: str | None = None) -> Reply:
        """A successful chat completion whose message is ``content``."""
        return cls(content=content, delay=delay, model=model)

    @classmethod
    def status(cls, status_code: int, *, delay: float = 0.0) -> Reply:
        """An error answer (429, 500 …) that tells the client to retry at once."""
        return cls(status_code=status_code, delay=delay, headers={"retry-after-ms": "1"})

    @classmethod
    def hang(cls, seconds: float) -> Reply:
        """An answer that comes only after ``seconds`` — longer than the client's timeout."""
        return cls(content="(too late)", delay=seconds)


@dataclass(frozen=True)
class RecordedRequest:
    """What the client sent: path, headers (lower-case names) and the JSON body."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The chat messages of a chat-completions request."""
        return list(self.body.get("messages", []))

    @property
    def prompt(self) -> str:
        """Every message's content joined, for ``in`` assertions."""
        return "\n".join(str(m.get("content", "")) for m in self.messages)


Responder = Callable[[RecordedRequest], Reply]


class FakeOpenAI:
    """A scripted OpenAI-compatible server on a free local port (see the module docstring)."""

    def __init__(self, *, default: Reply | Responder | None = None) -> None:
        self._default: Reply | Responder = default or Reply.status(500)
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self.requests: list[RecordedRequest] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        """The ``OPENAI_BASE_URL`` that reaches this server (ends in ``/v1``)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def script(self, *replies: Reply) -> None:
        """Queue ``replies``; each request takes the next one, then the default."""
        with self._lock:
            self._queue.extend(replies)

    def set_default(self, default: Reply | Responder) -> None:
        """What to answer once the queue is empty: a fixed reply or a function of the request."""
        with self._lock:
            self._default = default

    def reset(self) -> None:
        """Forget the recorded requests and the queued replies."""
        with self._lock:
            self._queue.clear()
            self.requests.clear()

    def close(self) -> None:
        """Stop serving; sleeping replies return at once."""
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _next_reply(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            if self._queue:
                return self._queue.popleft()
            default = self._default
        return default if isinstance(default, Reply) else default(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(length) if length else b"{}"
                request = RecordedRequest(
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=json.loads(raw or b"{}"),
                )
                reply = fake._next_reply(request)
                if reply.delay and fake._closing.wait(reply.delay):
                    return
                try:
                    self._send(reply, request)
                except (BrokenPipeError, ConnectionResetError):
                    return  # the client gave up (timeout): nothing to answer

            def _send(self, reply: Reply, request: RecordedRequest) -> None:
                if reply.status_code != 200:
                    payload: dict[str, Any] = {"error": {"message": f"scripted {reply.status_code}", "type": "fake"}}
                else:
                    payload = _completion(reply, request)
                data = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(reply.status_code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _completion(reply: Reply, request: RecordedRequest) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-fake-{len(request.body)}-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": reply.model or request.body.get("model", "fake-model"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
