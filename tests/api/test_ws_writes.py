"""The corked transport under the WebSocket protocol, over a real TCP connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from server.wsprotocol import FLUSH_BYTES, CorkedTransport


class _Peer:
    """A real TCP server that keeps what it receives."""

    def __init__(self) -> None:
        self.received = bytearray()
        self.closed = asyncio.Event()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while chunk := await reader.read(65536):
            self.received += chunk
        self.closed.set()
        writer.close()


@pytest_asyncio.fixture
async def connection() -> AsyncIterator[tuple[_Peer, CorkedTransport, list[bytes]]]:
    """A corked client transport connected to a real peer, with every real write it makes recorded."""
    peer = _Peer()
    server = await asyncio.start_server(peer.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
    writes: list[bytes] = []
    real_write = transport.write

    def recorded(data: Any) -> None:
        writes.append(bytes(data))
        real_write(data)

    transport.write = recorded  # type: ignore[method-assign]
    yield peer, CorkedTransport(transport, loop=loop), writes
    transport.close()
    server.close()
    await server.wait_closed()


@pytest.mark.asyncio
async def test_frames_written_in_one_loop_step_go_out_in_one_write_in_order(
    connection: tuple[_Peer, CorkedTransport, list[bytes]],
) -> None:
    peer, corked, writes = connection
    # when ten frames are written in one step of the event loop
    for index in range(10):
        corked.write(f"frame{index};".encode())
    assert writes == []  # nothing is written before the step ends
    await asyncio.sleep(0)
    # then they went out as one write, in order, and the peer got them all
    assert writes == [b"".join(f"frame{index};".encode() for index in range(10))]
    corked.close()
    await asyncio.wait_for(peer.closed.wait(), 5)
    assert bytes(peer.received) == writes[0]


@pytest.mark.asyncio
async def test_close_writes_what_was_gathered_before_closing(
    connection: tuple[_Peer, CorkedTransport, list[bytes]],
) -> None:
    peer, corked, _ = connection
    # when a frame is written and the connection closed in the same step
    corked.write(b"last words")
    corked.close()
    # then the peer still receives the frame before the connection ends
    await asyncio.wait_for(peer.closed.wait(), 5)
    assert bytes(peer.received) == b"last words"


@pytest.mark.asyncio
async def test_writes_of_separate_steps_go_out_separately(
    connection: tuple[_Peer, CorkedTransport, list[bytes]],
) -> None:
    _, corked, writes = connection
    # when frames are written in two steps of the event loop
    corked.write(b"one")
    await asyncio.sleep(0)
    corked.write(b"two")
    await asyncio.sleep(0)
    # then each step wrote once: a frame never waits for a later step
    assert writes == [b"one", b"two"]


@pytest.mark.asyncio
async def test_a_burst_larger_than_the_flush_size_reaches_the_transport_at_once(
    connection: tuple[_Peer, CorkedTransport, list[bytes]],
) -> None:
    _, corked, writes = connection
    # when one step writes more than FLUSH_BYTES (a long replay sent without waiting)
    chunk = b"x" * 4096
    for _ in range(FLUSH_BYTES // len(chunk)):
        corked.write(chunk)
    # then the transport already has it, so its flow control can pause the sender within the step
    assert sum(len(write) for write in writes) == FLUSH_BYTES
