"""The camera watcher: while a briefing runs on a camera, one worker follows it continuously.

Every second the supervisor of each worker (1) tells Redis which cameras its ticks want watched,
(2) reads the cameras wanted by anyone, (3) takes the owner lease of wanted cameras nobody owns
(up to `BRIEFING_WATCH_MAX_CAMERAS` per worker), renews the leases it holds and gives up cameras no
longer wanted. A watched camera is read at `BRIEFING_WATCH_FPS` frames a second on a fixed time grid:
frame -> detector (the worker's shared inference service, down to the tracker's low threshold: weak
detections only keep tracks alive) -> tracker (ByteTrack) -> entrance line
and zone counters. Each frame's result is published as a `WatchState` for the ticks; the counters
are checkpointed every second, so a worker taking over a dead owner's camera (within
`OWNER_TTL_SECONDS`) continues them, losing at most the crossings of those seconds.

A frame that takes longer than its slot is not queued behind: the watcher skips to the next slot,
so a detector that cannot keep up yields states too old for the ticks, which then detect as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from briefings.watch import (
    CHECKPOINT_TTL_SECONDS,
    OWNER_TTL_SECONDS,
    STATE_TTL_SECONDS,
    WatchState,
    checkpoint_key,
    dump_checkpoint,
    load_checkpoint,
    owner_key,
    state_key,
    want_cameras,
    wanted_cameras,
)
from core import metrics
from inference.cameras import CameraConfig, CameraRegistry
from inference.service import InferenceService, Observation
from inference.tracking import LOW_CONFIDENCE, CameraTracker, TrackedFrame

log = logging.getLogger("briefing.watcher")

SUPERVISE_SECONDS = 1.0
CHECKPOINT_SECONDS = 1.0
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

FrameHook = Callable[[CameraConfig, WatchState, dict[str, Any]], Awaitable[dict[str, Any]]]
"""Called with every watched frame and its last state (alerts); returns the state to checkpoint."""


@dataclass
class _Watch:
    camera: CameraConfig
    task: asyncio.Task[None]
    frames: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class CameraWatchers:
    """One worker's camera watchers and their supervisor. `want` is fed by the worker's ticks."""

    def __init__(
        self,
        *,
        redis: Redis,
        service: InferenceService,
        cameras: CameraRegistry,
        fps: float,
        max_cameras: int,
        on_frame: FrameHook | None = None,
    ) -> None:
        self.worker_id = uuid.uuid4().hex
        self._redis = redis
        self._service = service
        self._cameras = cameras
        self._fps = fps
        self._max_cameras = max_cameras
        self._on_frame = on_frame
        self._wants: dict[str, float] = {}
        self._watches: dict[str, _Watch] = {}
        self._supervisor: asyncio.Task[None] | None = None

    @property
    def watching(self) -> list[str]:
        """The cameras this worker watches now."""
        return sorted(self._watches)

    def want(self, camera_id: str, *, until: float) -> None:
        """Ask for the camera to be watched until `until` (Unix seconds); sent at the next round."""
        if until > self._wants.get(camera_id, 0.0):
            self._wants[camera_id] = until

    def start(self) -> None:
        """Start the supervisor (idempotent)."""
        if self._supervisor is None or self._supervisor.done():
            self._supervisor = asyncio.create_task(self._supervise_forever(), name="watch-supervisor")

    async def aclose(self) -> None:
        """Stop every watch and hand their cameras back (another worker may take them at once)."""
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        for camera_id in list(self._watches):
            await self._stop(camera_id, release=True)

    async def _supervise_forever(self) -> None:
        while True:
            try:
                await self.supervise()
            except (RedisError, OSError) as error:
                log.warning("watch supervisor: Redis unavailable (%s); retrying", error)
            await asyncio.sleep(SUPERVISE_SECONDS)

    async def supervise(self) -> None:
        """One round: publish wants, renew or drop owned cameras, take wanted unowned ones."""
        wants, self._wants = self._wants, {}
        await want_cameras(redis=self._redis, until=wants)
        wanted = set(await wanted_cameras(redis=self._redis, now=time.time()))
        ttl_ms = int(OWNER_TTL_SECONDS * 1000)
        for camera_id in list(self._watches):
            watch = self._watches[camera_id]
            if camera_id not in wanted or watch.task.done():
                await self._stop(camera_id, release=True)
            elif not await self._redis.eval(_RENEW, 1, owner_key(camera_id), self.worker_id, str(ttl_ms)):  # type: ignore[misc]
                log.warning("camera %s: lost its watch lease; another worker watches it now", camera_id)
                await self._stop(camera_id, release=False)
        for camera_id in sorted(wanted - set(self._watches)):
            if len(self._watches) >= self._max_cameras:
                break
            camera = self._cameras.get(camera_id)
            if camera is None:
                continue
            if await self._redis.set(owner_key(camera_id), self.worker_id, nx=True, px=ttl_ms):
                await self._begin(camera)

    async def _begin(self, camera: CameraConfig) -> None:
        checkpoint = load_checkpoint(await self._redis.get(checkpoint_key(camera.id)))
        task = asyncio.create_task(self._watch(camera, checkpoint), name=f"watch:{camera.id}")
        self._watches[camera.id] = _Watch(camera=camera, task=task)
        metrics.WATCHED_CAMERAS.set(len(self._watches))
        log.info("camera %s: watching at %.3g fps%s", camera.id, self._fps, " (resumed)" if checkpoint else "")

    async def _stop(self, camera_id: str, *, release: bool) -> None:
        watch = self._watches.pop(camera_id, None)
        metrics.WATCHED_CAMERAS.set(len(self._watches))
        if watch is None:
            return
        watch.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await watch.task
        if release:
            with contextlib.suppress(RedisError, OSError):
                await self._redis.eval(_RELEASE, 1, owner_key(camera_id), self.worker_id)  # type: ignore[misc]
        log.info("camera %s: no longer watched by this worker", camera_id)

    async def _watch(self, camera: CameraConfig, checkpoint: dict[str, Any] | None) -> None:
        tracker: CameraTracker | None = None
        period = 1.0 / self._fps
        next_checkpoint = 0.0
        extra: dict[str, Any] = dict((checkpoint or {}).get("extra") or {})
        slot = time.time() // period + 1
        while True:
            await asyncio.sleep(max(0.0, slot * period - time.time()))
            at = slot * period
            when = datetime.fromtimestamp(at, UTC)
            observation = (await self._service.observe([camera.id], at=when, confidence=LOW_CONFIDENCE))[camera.id]
            if tracker is None and observation.error is None:
                tracker = CameraTracker(
                    camera.entrance,
                    camera.zones,
                    fps=self._fps,
                    labels=list(observation.counts),
                    confidence=camera.confidence,
                )
                if checkpoint and isinstance(checkpoint.get("tracker"), dict):
                    try:
                        tracker.restore(checkpoint["tracker"])
                    except ValueError as error:
                        log.warning("camera %s: checkpoint not restored (%s); counting from zero", camera.id, error)
            state = _state(camera=camera, observation=observation, tracker=tracker, fps=self._fps, at=at)
            if self._on_frame is not None:
                try:
                    extra = await self._on_frame(camera, state, extra)
                except Exception:  # a hook's bug must not stop the counting
                    log.exception("camera %s: frame hook failed", camera.id)
            now = time.time()
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.set(state_key(camera.id), state.model_dump_json(), px=int(STATE_TTL_SECONDS * 1000))
                if now >= next_checkpoint and tracker is not None:
                    saved = {"tracker": tracker.state(), "extra": extra, "at": at}
                    pipe.set(checkpoint_key(camera.id), dump_checkpoint(saved), ex=int(CHECKPOINT_TTL_SECONDS))
                    next_checkpoint = now + CHECKPOINT_SECONDS
                await pipe.execute()
            metrics.WATCH_FRAMES.inc()
            lag = now - at
            if lag > 2 * period:
                metrics.WATCH_FRAMES_SKIPPED.inc(int(lag // period))
            slot = max(slot + 1, now // period + 1)  # behind: skip to the next slot, never burst


def _state(
    *, camera: CameraConfig, observation: Observation, tracker: CameraTracker | None, fps: float, at: float
) -> WatchState:
    when = datetime.fromtimestamp(at, UTC)
    if observation.error is not None or tracker is None:
        return WatchState(camera_id=camera.id, at=when, fps=fps, error=observation.error or "no frame")
    frame: TrackedFrame = tracker.update(observation.detections, at, frame_size=observation.frame_size)
    return WatchState(
        camera_id=camera.id,
        at=when,
        fps=fps,
        counts=frame.counts,
        entered=frame.entered,
        exited=frame.exited,
        zones=frame.zones,
        dwell_seconds=frame.dwell_seconds,
        dwell_visits=frame.dwell_visits,
        detections=[(p.label, float(p.score), p.box) for p in frame.people],
    )
