"""Group commit: calls made close together share one round trip.

Ticks due at the same moment run as concurrent tasks in one worker. Each asks for its request,
stores its briefing and announces it; a :class:`Coalescer` gathers the items submitted within a
short window (or until `max_items`) and hands them to one batch function, so N ticks cost one read,
one insert and one Redis round trip instead of N of each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Coalescer(Generic[T, R]):
    """Gathers submitted items for `window` seconds and resolves each with its batch result.

    `flush` receives the items in submission order and returns one result per item. If it raises,
    every item of that batch gets the exception. A caller that is cancelled does not cancel the
    batch it joined: the others still get their results.
    """

    def __init__(
        self,
        *,
        flush: Callable[[list[T]], Awaitable[Sequence[R]]],
        window: float,
        max_items: int = 500,
        max_in_flight: int | None = None,
    ) -> None:
        self._flush = flush
        self._window = window
        self._max_items = max_items
        # With a bound, a batch whose window ends while that many are running waits for one to
        # finish and then goes at once, so the busier the store the larger the batches (group commit).
        self._max_in_flight = max_in_flight
        self._items: list[tuple[T, asyncio.Future[R]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._running: set[asyncio.Task[None]] = set()

    async def submit(self, item: T) -> R:
        """Add `item` to the next batch and wait for its result."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        future.add_done_callback(_retrieve)  # a caller that left must not leave "never retrieved" noise
        self._items.append((item, future))
        if len(self._items) >= self._max_items:
            self._start()
        elif self._timer is None:
            self._timer = loop.call_later(self._window, self._start)
        return await asyncio.shield(future)

    def _start(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._max_in_flight is not None and len(self._running) >= self._max_in_flight:
            return  # the next batch to finish starts this one
        batch, self._items = self._items[: self._max_items], self._items[self._max_items :]
        if batch:
            task = asyncio.get_running_loop().create_task(self._run(batch))
            self._running.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if self._items and self._timer is None:
            self._start()

    async def _run(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._flush([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"batch function returned {len(results)} results for {len(batch)} items")
        except Exception as error:
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
