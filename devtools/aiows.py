"""An asyncio graphql-transport-ws client for many sockets in one process (benchmarks, storm drills).

Each `AioSocket` is one real websocket to a real server, authenticated in `connection_init` with
``{"authorization": "Bearer <token>"}``. It notes when it began connecting and when the server
acknowledged, then a background task stamps every frame with ``time.time()`` on receipt (before it
is parsed) and keeps it, answering pings. Readers look at the kept frames; nothing blocks on them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

PROTOCOL = [Subprotocol("graphql-transport-ws")]
LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { message userId token } }"
END = "mutation { endBriefing { message } }"

EVENT_FIELDS = """
  __typename
  ... on BriefingStarted { request { id startsAt interval } }
  ... on Briefing { seq capturedAt error }
  ... on BriefingEnded { reason }
"""
START = (
    "subscription($i: Int!, $e: String!, $c: ID) "
    f"{{ briefing(interval: $i, endtime: $e, cameraId: $c) {{ {EVENT_FIELDS} }} }}"
)
RELOAD = f"subscription($a: Int) {{ reloadBriefing(after: $a) {{ {EVENT_FIELDS} }} }}"


class Refused(Exception):
    """The server answered `connection_init` with something other than `connection_ack`, or closed."""


@dataclass(frozen=True)
class Frame:
    """One received frame: its receive time (``time.time()``) and the parsed message."""

    at: float
    message: dict[str, Any]


def parse_time(text: str) -> float:
    """A GraphQL DateTime (ISO 8601; naive means UTC) as a Unix timestamp."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


@dataclass
class AioSocket:
    """One acknowledged graphql-transport-ws connection and every frame it received."""

    ws: ClientConnection
    started: float
    acked: float
    frames: list[Frame] = field(default_factory=list)
    closed_code: int | None = None
    closed: bool = False
    _task: asyncio.Task[None] | None = None

    @property
    def ack_seconds(self) -> float:
        """From the start of the TCP connect to the receipt of `connection_ack`."""
        return self.acked - self.started

    @classmethod
    async def open(cls, url: str, token: str, *, within: float = 30.0) -> AioSocket:
        """Connect, send `connection_init` with the bearer token, wait for `connection_ack`."""
        started = time.time()
        ws = await connect(url, subprotocols=PROTOCOL, open_timeout=within, max_size=2**20, ping_interval=None)
        try:
            await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
            raw = await asyncio.wait_for(ws.recv(), timeout=within)
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else None
            raise Refused(f"closed {code} before connection_ack") from None
        except BaseException:
            await ws.close()
            raise
        acked = time.time()
        message = json.loads(raw)
        if message.get("type") != "connection_ack":
            await ws.close()
            raise Refused(f"expected connection_ack, got {message}")
        sock = cls(ws=ws, started=started, acked=acked)
        sock._task = asyncio.create_task(sock._pump())
        return sock

    async def _pump(self) -> None:
        try:
            async for raw in self.ws:
                stamp = time.time()
                message = json.loads(raw)
                self.frames.append(Frame(at=stamp, message=message))
                if message.get("type") == "ping":
                    await self.ws.send(json.dumps({"type": "pong"}))
        except ConnectionClosed:
            pass
        finally:
            self.closed = True
            self.closed_code = self.ws.close_code

    async def subscribe(self, op: str, query: str, variables: dict[str, Any]) -> None:
        """Start an operation with id `op`."""
        await self.ws.send(
            json.dumps({"id": op, "type": "subscribe", "payload": {"query": query, "variables": variables}})
        )

    def events(self, op: str) -> list[tuple[float, dict[str, Any]]]:
        """(receive time, event) of every `next` of `op` that carried data (the subscription field's value)."""
        found: list[tuple[float, dict[str, Any]]] = []
        for frame in self.frames:
            message = frame.message
            if message.get("type") != "next" or message.get("id") != op:
                continue
            data = (message.get("payload") or {}).get("data") or {}
            for value in data.values():
                if isinstance(value, dict):
                    found.append((frame.at, value))
        return found

    def briefings(self, op: str) -> list[tuple[float, dict[str, Any]]]:
        """(receive time, event) of every `Briefing` event of `op`, in the order received."""
        return [(at, event) for at, event in self.events(op) if event.get("__typename") == "Briefing"]

    def seqs(self, op: str) -> list[int]:
        """The seqs of the `Briefing` events of `op`, in the order received."""
        return [int(event["seq"]) for _, event in self.briefings(op)]

    def errors(self, op: str) -> list[Any]:
        """GraphQL errors of `op`: `error` messages and `next` payloads carrying `errors`."""
        found: list[Any] = []
        for frame in self.frames:
            message = frame.message
            if message.get("id") != op:
                continue
            if message.get("type") == "error":
                found.append(message.get("payload"))
            elif message.get("type") == "next" and (message.get("payload") or {}).get("errors"):
                found.extend(message["payload"]["errors"])
        return found

    def completed(self, op: str) -> bool:
        """Whether the server completed (or errored) the operation."""
        return any(f.message.get("id") == op and f.message.get("type") in ("complete", "error") for f in self.frames)

    async def close(self) -> None:
        """Close the socket and stop the reader."""
        with contextlib.suppress(Exception):
            await self.ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    def abort(self) -> None:
        """Drop the TCP connection without a closing handshake (what a dead peer leaves behind)."""
        self.ws.transport.abort()
        if self._task is not None:
            self._task.cancel()
