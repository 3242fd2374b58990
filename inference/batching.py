"""Shares frames and forward passes between ticks that are due at the same moment."""

from __future__ import annotations

import asyncio

from inference.service import InferenceService, Observation


class ObservationBatcher:
    """Collects the cameras asked for within `window` seconds and observes them in one call.

    Ticks of several requests on one camera get the same frame and the same inference; ticks on
    different cameras that share a detector are batched into one forward pass by the service. An
    observation also serves the ticks that ask for its camera within `reuse` seconds after it was
    made: that is one "moment", so a hundred briefings on one camera started at scattered times
    cost one inference per moment, not one each, and no tick waits for a batch window to fill.
    """

    def __init__(self, *, service: InferenceService, window: float, reuse: float = 0.0) -> None:
        self._service = service
        self._window = window
        self._reuse = reuse
        self._recent: dict[str, tuple[float, Observation]] = {}
        self._pending: dict[str, asyncio.Future[Observation]] = {}
        self._flush: asyncio.TimerHandle | None = None
        self._running: set[asyncio.Task[None]] = set()

    async def observe(self, camera_id: str) -> Observation:
        """The observation of the camera for the moment this call falls into."""
        recent = self._recent.get(camera_id)
        loop = asyncio.get_running_loop()
        if recent is not None and loop.time() - recent[0] <= self._reuse:
            return recent[1]
        future = self._pending.get(camera_id)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._pending[camera_id] = future
            if self._flush is None:
                self._flush = asyncio.get_running_loop().call_later(self._window, self._start_batch)
        return await asyncio.shield(future)

    def _start_batch(self) -> None:
        batch, self._pending, self._flush = self._pending, {}, None
        task = asyncio.create_task(self._run(batch))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, batch: dict[str, asyncio.Future[Observation]]) -> None:
        try:
            results = await self._service.observe(list(batch))
        except Exception as error:  # the service never raises for a camera; this is a bug guard
            for future in batch.values():
                if not future.done():
                    future.set_exception(error)
            return
        made = asyncio.get_running_loop().time()
        for camera_id, future in batch.items():
            observation = results[camera_id]
            if observation.error is None:
                self._recent[camera_id] = (made, observation)
            if not future.done():
                future.set_result(observation)
