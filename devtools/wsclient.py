"""A small synchronous graphql-transport-ws client for tests (a real websocket to a real uvicorn)."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

EVENT_FIELDS = """
  __typename
  ... on BriefingStarted { request { id status interval endtime cameraId } }
  ... on Briefing { id requestId seq capturedAt caption captionSource counts { label count } error }
  ... on BriefingEnded { reason request { id status endReason active } }
"""
BRIEFING = (
    "subscription($i: Int!, $e: String!, $c: ID) "
    f"{{ briefing(interval: $i, endtime: $e, cameraId: $c) {{ {EVENT_FIELDS} }} }}"
)
RELOAD = f"subscription($a: Int) {{ reloadBriefing(after: $a) {{ {EVENT_FIELDS} }} }}"


class Closed(Exception):
    """The server closed the socket."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"closed {code}: {reason}")
        self.code = code
        self.reason = reason


class TransportWS:
    """One graphql-transport-ws connection, authenticated in connection_init."""

    def __init__(self, url: str, *, token: str) -> None:
        self.ws: ClientConnection = connect(url, subprotocols=["graphql-transport-ws"], open_timeout=10)  # type: ignore[list-item]
        self.ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        ack = json.loads(self.ws.recv(timeout=10))
        assert ack["type"] == "connection_ack", ack
        self._ids = itertools.count(1)
        self._pending: dict[str, list[dict[str, Any]]] = {}

    def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        op = str(next(self._ids))
        self.ws.send(
            json.dumps({"id": op, "type": "subscribe", "payload": {"query": query, "variables": variables or {}}})
        )
        return op

    def complete(self, op: str) -> None:
        self.ws.send(json.dumps({"id": op, "type": "complete"}))

    def recv(self, op: str, *, timeout: float = 30) -> dict[str, Any]:
        """The next message of one operation (messages of others are kept for them)."""
        queue = self._pending.setdefault(op, [])
        deadline = time.monotonic() + timeout
        while not queue:
            try:
                message: dict[str, Any] = json.loads(self.ws.recv(timeout=max(0.05, deadline - time.monotonic())))
            except ConnectionClosed as closed:
                code, reason = (closed.rcvd.code, closed.rcvd.reason) if closed.rcvd else (None, "")
                raise Closed(code, reason) from None
            self._pending.setdefault(str(message.get("id")), []).append(message)
        return queue.pop(0)

    def events(self, op: str, *, timeout: float = 30) -> Iterator[dict[str, Any]]:
        """Payload data of `next` messages of one operation until it completes (errors raise)."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.recv(op, timeout=max(0.1, deadline - time.monotonic()))
            if message["type"] == "complete":
                return
            if message["type"] == "error":
                raise AssertionError(f"operation error: {message['payload']}")
            payload = message["payload"]
            if payload.get("errors"):
                yield {"errors": payload["errors"]}
                continue
            yield next(iter(payload["data"].values()))

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> TransportWS:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
