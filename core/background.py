"""Work done off the caller's path: cache refreshes and bookkeeping writes a request or a tick must
not wait for.

asyncio keeps only weak references to tasks, so a task nobody holds can vanish mid-flight;
`Background` holds each until it ends, runs at most one at a time per key (a refresh already under
way is not started twice), and logs a failure instead of raising it into nowhere (the next use tries
again).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Generic, TypeVar

log = logging.getLogger("briefing.background")

K = TypeVar("K", bound=Hashable)


class Background(Generic[K]):
    """Background work keyed by what it is about."""

    def __init__(self) -> None:
        self._busy: set[K] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def run(self, keys: Iterable[K], work: Callable[[list[K]], Awaitable[None]], *, what: str) -> None:
        """Start `work` for those of `keys` without work under way; return at once."""
        wanted = [key for key in dict.fromkeys(keys) if key not in self._busy]
        if not wanted:
            return
        self._busy.update(wanted)

        async def guarded() -> None:
            try:
                await work(wanted)
            except Exception as error:
                log.warning("%s failed: %s", what, error)
            finally:
                self._busy.difference_update(wanted)

        task = asyncio.create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
