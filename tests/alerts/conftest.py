"""Alert fixtures: a real HTTP webhook receiver on a loopback port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Receiver:
    """A webhook receiver: answers POSTs with `statuses` in turn (the last one from then on)."""

    url: str = ""
    statuses: list[int] = field(default_factory=lambda: [204])
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        self.received.append(({k.lower(): v for k, v in headers.items()}, body))
        status = self.statuses[min(len(self.answered), len(self.statuses) - 1)]
        self.answered.append(status)
        return status


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A started receiver; `receiver.url` is where to POST."""
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status = state.answer(dict(self.headers.items()), body)
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/briefing"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
