"""uvicorn's WebSocket protocol, with the frames one socket sends within one event loop step written at once.

When a live event reaches a socket carrying ten subscriptions of it, the ten subscription tasks
each send a `next` frame in the same step of the event loop, and uvicorn writes each frame to the
socket as it is made: ten system calls, and ten wake-ups of the client. Profiled with 1000
subscribers, those per-frame writes were a fifth of the API's busy time. A corked transport
gathers the frames written during one step and writes them together at the end of it (one
`call_soon`), so a socket costs one write per event whatever number of subscriptions it carries.
The order of frames is kept, a close writes what is gathered first, and the real transport's flow
control (pausing the protocol when the client reads too slowly) works as before: at most
`FLUSH_BYTES` are gathered before they are written at once, so a burst (a long replay sent without
the sender ever waiting) meets the transport's high-water mark, and pauses its sender, as soon as
it would without the cork.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final, cast

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

FLUSH_BYTES: Final = 16 * 1024
"""Gathered bytes that are written at once (below asyncio's default high-water mark of 64 KiB)."""


class CorkedTransport:
    """A transport that writes what it is given during one event loop step in one call, at its end."""

    def __init__(self, transport: asyncio.Transport, *, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._pending_bytes = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Gather `data`; the first write of a step schedules the flush, and `FLUSH_BYTES` gathered
        are written at once (so that the real transport's flow control sees a burst as it comes)."""
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))
        self._pending_bytes += len(data)
        if self._pending_bytes >= FLUSH_BYTES:
            self.flush()

    def writelines(self, chunks: Any) -> None:
        """Gather each chunk in order."""
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        """Write what was gathered (dropped when the connection is already closing)."""
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        self._pending_bytes = 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        """Write what was gathered, then close."""
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        """Close at once, dropping what was gathered."""
        self._pending.clear()
        self._pending_bytes = 0
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        """Bytes not yet written: the real transport's buffer and what is gathered."""
        return self._transport.get_write_buffer_size() + self._pending_bytes

    def __getattr__(self, name: str) -> Any:  # everything else is the real transport's
        return getattr(self._transport, name)


class CorkedWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets (sans-I/O) protocol writing through a `CorkedTransport`."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Wrap the connection's transport before uvicorn's protocol keeps it."""
        corked = CorkedTransport(cast(asyncio.Transport, transport), loop=asyncio.get_running_loop())
        super().connection_made(cast(asyncio.Transport, corked))
