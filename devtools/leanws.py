"""A lean graphql-transport-ws client for a thousand sockets in one process (the reconnect storm).

`devtools.aiows` drives each socket with the ``websockets`` library: a task per socket, a future and a
queue per frame, a handshake built per connection. Under a storm of 1000 reconnects within a second
that client needed most of a core and issued reconnects meant for one second over almost four, so
the bench measured its own queueing as much as the server. `LeanSocket` is the same client in an
`asyncio.Protocol`: the upgrade request is prebuilt text, frames are parsed in ``data_received`` as
they arrive (no task per socket), and the events of each operation are kept as they are parsed, so
readers never walk the frames again. It speaks only what a graphql-transport-ws client needs: text
frames (masked, as RFC 6455 requires of a client), answers to pings of both kinds, and the close
handshake. Its interface is `AioSocket`'s.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import struct
import time
from typing import Any
from urllib.parse import urlsplit

from devtools.aiows import Refused

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_TEXT, _CLOSE, _PING, _PONG = 0x1, 0x8, 0x9, 0xA


def _mask(payload: bytes, key: bytes) -> bytes:
    """XOR ``payload`` with the repeated 4-byte ``key`` (one big-integer XOR, not a byte loop)."""
    if not payload:
        return payload
    size = len(payload)
    stream = (key * (size // 4 + 1))[:size]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(size, "big")


def client_frame(opcode: int, payload: bytes) -> bytes:
    """One final client frame, masked with a fresh key."""
    key = os.urandom(4)
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
    elif size < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
    return head + key + _mask(payload, key)


class _Protocol(asyncio.Protocol):
    def __init__(self, owner: LeanSocket, request: bytes, accept: str) -> None:
        self.owner = owner
        self.request = request
        self.accept = accept
        self.transport: asyncio.Transport | None = None
        self.upgraded: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.buffer = bytearray()
        self.shook = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        stamp = time.time()
        self.buffer += data
        if not self.shook and not self._handshake():
            return
        self._frames(stamp)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.upgraded.done():
            self.upgraded.set_exception(ConnectionError("connection closed during the upgrade"))
        self.owner._closed()

    def _handshake(self) -> bool:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = bytes(self.buffer[:end]).decode("latin-1")
        del self.buffer[: end + 4]
        status, *lines = head.split("\r\n")
        headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
        if status.split(" ")[1:2] != ["101"] or headers.get("sec-websocket-accept") != self.accept:
            self.upgraded.set_exception(Refused(f"upgrade refused: {status}"))
            assert self.transport is not None
            self.transport.close()
            return False
        self.shook = True
        self.upgraded.set_result(None)
        return True

    def _frames(self, stamp: float) -> None:
        buffer = self.buffer
        while len(buffer) >= 2:
            first, second = buffer[0], buffer[1]
            size, at = second & 0x7F, 2
            if size == 126:
                if len(buffer) < 4:
                    return
                (size,) = struct.unpack_from("!H", buffer, 2)
                at = 4
            elif size == 127:
                if len(buffer) < 10:
                    return
                (size,) = struct.unpack_from("!Q", buffer, 2)
                at = 10
            if len(buffer) < at + size:
                return
            payload = bytes(buffer[at : at + size])
            del buffer[: at + size]
            self._frame(first & 0x0F, payload, stamp)

    def _frame(self, opcode: int, payload: bytes, stamp: float) -> None:
        assert self.transport is not None
        if opcode == _TEXT:
            self.owner._message(stamp, json.loads(payload))
        elif opcode == _PING:
            self.transport.write(client_frame(_PONG, payload))
        elif opcode == _CLOSE:
            code = struct.unpack_from("!H", payload)[0] if len(payload) >= 2 else 1005
            self.owner.closed_code = code
            if not self.transport.is_closing():
                self.transport.write(client_frame(_CLOSE, payload[:2]))
                self.transport.close()


class LeanSocket:
    """One acknowledged graphql-transport-ws connection and the events of its operations."""

    def __init__(self) -> None:
        self.started = time.time()
        self.acked = float("nan")
        self.closed = False
        self.closed_code: int | None = None
        self._events: dict[str, list[tuple[float, dict[str, Any]]]] = {}
        self._errors: dict[str, list[Any]] = {}
        self._completed: set[str] = set()
        self._ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._protocol: _Protocol | None = None

    @property
    def ack_seconds(self) -> float:
        """From the start of the TCP connect to the receipt of `connection_ack`."""
        return self.acked - self.started

    @classmethod
    async def open(cls, url: str, token: str, *, within: float = 30.0) -> LeanSocket:
        """Connect, upgrade, send `connection_init` with the bearer token, wait for `connection_ack`."""
        sock = cls()
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        key = base64.b64encode(os.urandom(16)).decode()
        accept = base64.b64encode(hashlib.sha1(key.encode() + _GUID, usedforsecurity=False).digest()).decode()
        request = (
            f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
        ).encode()
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(within):
            _, protocol = await loop.create_connection(lambda: _Protocol(sock, request, accept), host, port)
            sock._protocol = protocol
            try:
                await protocol.upgraded
                init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
                sock._send(init)
                await sock._ack
            except BaseException:
                sock.abort()
                raise
        return sock

    def _send(self, message: dict[str, Any]) -> None:
        assert self._protocol is not None
        assert self._protocol.transport is not None
        self._protocol.transport.write(client_frame(_TEXT, json.dumps(message).encode()))

    def _message(self, stamp: float, message: dict[str, Any]) -> None:
        kind, op = message.get("type"), message.get("id")
        if kind == "connection_ack":
            self.acked = stamp
            if not self._ack.done():
                self._ack.set_result(None)
        elif kind == "ping":
            self._send({"type": "pong"})
        elif kind == "next" and isinstance(op, str):
            payload = message.get("payload") or {}
            if payload.get("errors"):
                self._errors.setdefault(op, []).extend(payload["errors"])
            found = self._events.setdefault(op, [])
            found.extend((stamp, value) for value in (payload.get("data") or {}).values() if isinstance(value, dict))
        elif kind in ("error", "complete") and isinstance(op, str):
            self._completed.add(op)
            if kind == "error":
                self._errors.setdefault(op, []).append(message.get("payload"))

    def _closed(self) -> None:
        self.closed = True
        upgraded = self._protocol is not None and self._protocol.shook
        if upgraded and not self._ack.done():
            self._ack.set_exception(Refused(f"closed {self.closed_code} before connection_ack"))

    async def subscribe(self, op: str, query: str, variables: dict[str, Any]) -> None:
        """Start an operation with id `op`."""
        self._send({"id": op, "type": "subscribe", "payload": {"query": query, "variables": variables}})

    def events(self, op: str) -> list[tuple[float, dict[str, Any]]]:
        """(receive time, event) of every `next` of `op` that carried data."""
        return list(self._events.get(op, ()))

    def briefings(self, op: str) -> list[tuple[float, dict[str, Any]]]:
        """(receive time, event) of every `Briefing` event of `op`, in the order received."""
        return [(at, event) for at, event in self._events.get(op, ()) if event.get("__typename") == "Briefing"]

    def seqs(self, op: str) -> list[int]:
        """The seqs of the `Briefing` events of `op`, in the order received."""
        return [int(event["seq"]) for _, event in self.briefings(op)]

    def errors(self, op: str) -> list[Any]:
        """GraphQL errors of `op`: `error` payloads and the `errors` of `next` payloads."""
        return list(self._errors.get(op, ()))

    def completed(self, op: str) -> bool:
        """Whether the server completed (or errored) the operation."""
        return op in self._completed

    async def close(self) -> None:
        """Start the close handshake and drop the connection."""
        protocol = self._protocol
        if protocol is None or protocol.transport is None or protocol.transport.is_closing():
            return
        protocol.transport.write(client_frame(_CLOSE, struct.pack("!H", 1000)))
        protocol.transport.close()

    def abort(self) -> None:
        """Drop the TCP connection without a closing handshake (what a dead peer leaves behind)."""
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.abort()
