"""What a camera watcher shares with ticks, through Redis: who watches which camera, and what it saw.

A worker's watcher (`workers.watcher`) follows each camera that has a running briefing at
`BRIEFING_WATCH_FPS`, tracks people and counts who crosses the entrance line and who stands in each
zone (cameras with neither are not watched: see `watchable`). The cameras wanted are a sorted set
(camera -> until when, Unix seconds), refreshed by the ticks of every worker; exactly one worker
owns a camera, through a lease key that it renews every second and that lapses `OWNER_TTL_SECONDS`
after it stops. Its latest frame's counts are published as a :class:`WatchState`, and its counters
are checkpointed so that the next owner continues them.

A tick reads the state of its camera: when it is fresh (no older than two frames), the briefing
takes its counts and the crossings since the request's previous briefing from it instead of running
a detection of its own (:func:`movement_since`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from core.time import as_utc
from inference.cameras import CameraConfig

log = logging.getLogger("briefing.watch")

WANTED_KEY = "briefing:watch:wanted"
OWNER_TTL_SECONDS = 5.0
"""A dead watcher's camera is taken over by another worker within this many seconds."""
STATE_TTL_SECONDS = 10.0
CHECKPOINT_TTL_SECONDS = 24 * 3600.0
TOTALS_TTL_SECONDS = 24 * 3600.0


def watchable(camera: CameraConfig | None) -> bool:
    """Whether a camera is watched while a briefing runs on it: it has an entrance line or zones to
    count. Other cameras are observed by their ticks alone, as no tracking would add to them."""
    return camera is not None and (camera.entrance is not None or bool(camera.zones))


def owner_key(camera_id: str) -> str:
    """The lease of the worker watching the camera (value: that worker's id)."""
    return f"briefing:watch:owner:{camera_id}"


def state_key(camera_id: str) -> str:
    """The latest :class:`WatchState` of the camera."""
    return f"briefing:watch:state:{camera_id}"


def checkpoint_key(camera_id: str) -> str:
    """The watcher's counters (tracker and alert state) for the next owner."""
    return f"briefing:watch:checkpoint:{camera_id}"


def totals_key(request_id: str) -> str:
    """The camera's counters when the request's previous briefing was stored."""
    return f"briefing:watch:totals:{request_id}"


FRESH_SECONDS = 1.0
"""How old a watched frame a tick may take its counts from (its `capturedAt` says how old it is)."""


class WatchState(BaseModel):
    """One watched frame: people in view per label, counters since the watcher's checkpoint began,
    and people per zone and label. `error` is set (and the counts are empty) for an unreadable frame."""

    model_config = ConfigDict(frozen=True)

    camera_id: str
    at: datetime
    fps: float
    counts: dict[str, int] = Field(default_factory=dict)
    entered: dict[str, int] = Field(default_factory=dict)
    exited: dict[str, int] = Field(default_factory=dict)
    zones: dict[str, dict[str, int]] = Field(default_factory=dict)
    dwell_seconds: float = 0.0
    dwell_visits: int = 0
    detections: list[tuple[str, float, tuple[float, float, float, float]]] = Field(default_factory=list)
    error: str | None = None

    def fresh_at(self, now: datetime) -> bool:
        """Whether a tick at `now` may use this frame: at most `FRESH_SECONDS` (or two frames, at a
        rate slower than that) old.

        A watcher that falls a few frames behind under load still stands for the moment better than
        the alternative: the tick's own inference waits behind the watcher's on the one inference
        thread (up to a second at 200 briefings a second), and adds to what made the watcher late."""
        age = (as_utc(now) - as_utc(self.at)).total_seconds()
        return self.error is None and age <= max(FRESH_SECONDS, 2.0 / self.fps + 0.05)


class Totals(BaseModel):
    """The camera's counters at one moment: what a request's next briefing subtracts."""

    at: datetime | None = None
    entered: dict[str, int] = Field(default_factory=dict)
    exited: dict[str, int] = Field(default_factory=dict)
    dwell_seconds: float = 0.0
    dwell_visits: int = 0

    @classmethod
    def of(cls, state: WatchState) -> Totals:
        """The counters of a watched frame."""
        return cls(
            at=state.at,
            entered=dict(state.entered),
            exited=dict(state.exited),
            dwell_seconds=state.dwell_seconds,
            dwell_visits=state.dwell_visits,
        )


class Movement(BaseModel):
    """Crossings since a request's previous briefing."""

    entered: dict[str, int] = Field(default_factory=dict)
    exited: dict[str, int] = Field(default_factory=dict)
    dwell_seconds: float = 0.0
    dwell_visits: int = 0


def movement_since(*, previous: Totals | None, now: Totals) -> Movement:
    """What happened between two readings of a camera's counters.

    Without a previous reading (a request's first briefing, or Redis lost it) nothing is counted:
    the reading becomes the baseline. A counter that went down (the watcher's checkpoint was lost
    and it started from zero) counts from zero."""
    if previous is None:
        return Movement()

    def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
        return {
            label: after[label] - before.get(label, 0) if after[label] >= before.get(label, 0) else after[label]
            for label in after
        }

    reset = now.dwell_visits < previous.dwell_visits
    return Movement(
        entered=delta(previous.entered, now.entered),
        exited=delta(previous.exited, now.exited),
        dwell_seconds=now.dwell_seconds if reset else max(0.0, now.dwell_seconds - previous.dwell_seconds),
        dwell_visits=now.dwell_visits if reset else now.dwell_visits - previous.dwell_visits,
    )


async def want_cameras(*, redis: Redis, until: dict[str, float]) -> None:
    """Ask for the cameras to be watched until the given Unix times (later times win)."""
    if until:
        await redis.zadd(WANTED_KEY, until, gt=True)


async def wanted_cameras(*, redis: Redis, now: float) -> list[str]:
    """The cameras some running briefing wants watched now; drops the lapsed ones."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zremrangebyscore(WANTED_KEY, "-inf", now)
        pipe.zrange(WANTED_KEY, 0, -1)
        _, members = await pipe.execute()
    return [m.decode() if isinstance(m, bytes) else str(m) for m in members]


async def read_states(*, redis: Redis, camera_ids: list[str]) -> dict[str, WatchState]:
    """The latest watched frame of each camera that has one."""
    if not camera_ids:
        return {}
    raw = await redis.mget([state_key(c) for c in camera_ids])
    return {c: WatchState.model_validate_json(v) for c, v in zip(camera_ids, raw, strict=True) if v is not None}


def queue_totals(*, pipe: Pipeline, request_id: str, totals: Totals) -> None:
    """Remember, in a tick's closing pipeline, the counters the request's briefing was counted against."""
    pipe.set(totals_key(request_id), totals.model_dump_json(), ex=int(TOTALS_TTL_SECONDS))


def dump_checkpoint(checkpoint: dict[str, Any]) -> str:
    """A watcher checkpoint as stored."""
    return json.dumps(checkpoint, separators=(",", ":"))


def load_checkpoint(raw: bytes | str | None) -> dict[str, Any] | None:
    """A stored watcher checkpoint, or None when there is none or it does not parse."""
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class WatchReader:
    """The tick side: the latest watched frame of a camera, read at most once per half frame.

    Ticks due together on one camera share one Redis read. `wants` collects the cameras the ticks
    of this worker ran on, for the worker's watcher supervisor to publish."""

    def __init__(self, *, redis: Redis, fps: float) -> None:
        self._redis = redis
        self._max_age = 0.5 / fps
        self._cache: dict[str, tuple[float, WatchState | None]] = {}
        self._pending: dict[str, asyncio.Future[WatchState | None]] = {}

    async def state(self, camera_id: str) -> WatchState | None:
        """The camera's latest watched frame, or None when nobody watches it."""
        loop = asyncio.get_running_loop()
        cached = self._cache.get(camera_id)
        if cached is not None and loop.time() - cached[0] <= self._max_age:
            return cached[1]
        pending = self._pending.get(camera_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[WatchState | None] = loop.create_future()
        self._pending[camera_id] = future
        state: WatchState | None = None
        try:
            raw = await self._redis.get(state_key(camera_id))
            state = WatchState.model_validate_json(raw) if raw is not None else None
        except (RedisError, OSError, ValueError) as error:
            log.warning("camera %s: watch state unreadable (%s); ticks detect on their own", camera_id, error)
        finally:  # whatever happened (a cancelled tick included), the ticks waiting on this read go on
            del self._pending[camera_id]
            self._cache[camera_id] = (loop.time(), state)
            future.set_result(state)
        return state
