"""Admission of stream openings: acknowledgements first, then replays, a few at a time.

When an API process restarts, every client reconnects within a second or so. Each reconnect is a
WebSocket handshake and `connection_init` (cheap: two key reads) followed by a subscription that
opens its stream (validation, its lease, its request, registration, the replay of what it missed:
the expensive part). On one event loop they interleave, so the subscriptions of the first sockets
delay the acknowledgements of the last ones by seconds. `Openings` orders them: a subscription
waits (`after_handshakes`) while any handshake of the process is pending, up to ``max_wait``
seconds so that a steady trickle of new connections cannot starve it; then its stream opens in one
of ``at_once`` slots (``async with openings``).
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType


class Handshake:
    """One pending WebSocket handshake; `done` (idempotent) when acknowledged, refused or closed."""

    __slots__ = ("_openings",)

    def __init__(self, openings: Openings) -> None:
        self._openings: Openings | None = openings

    def done(self) -> None:
        """The handshake is over, however it ended."""
        openings, self._openings = self._openings, None
        if openings is not None:
            openings._finished()


class Openings:
    """Pending handshakes first (`after_handshakes`); then, as an async context manager, at most
    ``at_once`` streams opening together."""

    def __init__(self, *, at_once: int, max_wait: float) -> None:
        self.max_wait = max_wait
        self._slots = asyncio.Semaphore(at_once)
        self._pending = 0
        self._clear = asyncio.Event()
        self._clear.set()

    @property
    def pending_handshakes(self) -> int:
        """Handshakes begun and not yet done."""
        return self._pending

    def handshake(self) -> Handshake:
        """Note a WebSocket connection that is not acknowledged yet."""
        self._pending += 1
        self._clear.clear()
        return Handshake(self)

    def _finished(self) -> None:
        self._pending -= 1
        if self._pending == 0:
            self._clear.set()

    async def after_handshakes(self) -> None:
        """Return when no handshake is pending, or after ``max_wait`` seconds."""
        if not self._clear.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.max_wait):
                    await self._clear.wait()

    async def __aenter__(self) -> None:
        await self._slots.acquire()

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._slots.release()
