"""The tick: one caption of one request, stored once however often it runs.

A tick re-reads its request, ends it at its end time, skips forward when it fell more than one
interval behind (counting what it skipped), observes the camera through the batcher, writes the
caption, upserts `Briefing(request, seq)`, announces it, and queues the next tick. Jobs run at
least once, so each step tolerates having been done before.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from arq.connections import ArqRedis
from beanie import PydanticObjectId

from briefings.lifecycle import expire_request
from briefings.schedule import current_slot, due_at
from briefings.tickstore import Finish, TickStore
from briefings.watch import (
    Movement,
    Totals,
    WatchReader,
    WatchState,
    movement_since,
    watchable,
)
from core import logs, metrics
from core.background import Background
from core.settings import Settings
from core.time import as_utc, utcnow
from documents import (
    Briefing,
    BriefingRequest,
    CaptionSource,
    ClassCount,
    RequestStatus,
    StoredDetection,
    User,
    ZoneCount,
    briefing_key,
    doc_id,
    get_by_id,
)
from inference.batching import ObservationBatcher
from inference.cameras import CameraConfig, CameraRegistry
from inference.detection import Detection
from inference.service import Observation
from language.captions import Movement as CaptionMovement
from language.captions import failure_caption, write_caption
from language.llm import LLMClient

log = logging.getLogger("briefing.tick")
RECHECK_AFTER = timedelta(seconds=1)
CUSTOM_TTL_SECONDS = 5.0
CUSTOM_STALE_SECONDS = 15.0
WANT_WATCH_SECONDS = 15.0


@dataclass
class TickEngine:
    """What a worker builds once (`on_startup`) and every tick uses."""

    settings: Settings
    arq: ArqRedis
    cameras: CameraRegistry
    batcher: ObservationBatcher
    store: TickStore
    llm: LLMClient | None
    watch: WatchReader | None = None
    """The camera watchers' latest frames; None when watching is off (`BRIEFING_WATCH_FPS=0`)."""
    want_watch: Callable[[str, float], None] | None = None
    """Asks for a camera to be watched until a Unix time (the worker's watcher supervisor)."""
    _customs: dict[PydanticObjectId, tuple[float, list[str]]] = field(default_factory=dict)
    _background: Background[PydanticObjectId] = field(default_factory=Background)

    async def run(self, *, request_id: str, seq: int, started: datetime | None = None, first_try: bool = True) -> str:
        """Run tick `seq` of the request; returns what happened (for logs and tests).

        `first_try` is False when arq runs the job again (its worker died, or it timed out): only
        then can the briefing already be stored, so only then is it looked up first.
        """
        now = started or utcnow()
        loaded = await self.store.load(request_id)
        request = loaded.request
        if request is None or loaded.ended:
            return "inactive"
        logs.bind(user_id=str(request.owner_id))
        if now >= as_utc(request.ends_at):
            await expire_request(redis=self.arq, request=request)
            self.store.forget_request(request_id)
            return "expired"
        if loaded.expected is not None and loaded.expected > seq:
            return "stale"  # a re-run of a tick whose chain already moved on (e.g. after a timeout)
        seq, skipped = self._catch_up(request=request, seq=seq, now=now)
        if self.want_watch is not None and watchable(self.cameras.get(request.camera_id)):
            self.want_watch(request.camera_id, time.time() + max(3.0 * request.interval, WANT_WATCH_SECONDS))
        stored = None if first_try else await Briefing.get(briefing_key(request_id=doc_id(request), seq=seq))
        totals: Totals | None = None
        if stored is None:
            stored, totals = await self._produce(
                request=request, seq=seq, skipped=skipped, started=now, previous=loaded.totals
            )
        await self.store.finish(Finish(request=request, stored=stored, next_seq=seq + 1, totals=totals))
        return "stored" if stored is not None else "inactive"

    def _catch_up(self, *, request: BriefingRequest, seq: int, now: datetime) -> tuple[int, int]:
        """The slot to run and how many slots before it are skipped: more than one interval late,
        a tick jumps to the current slot. The count is stored with the briefing (`skipped_before`),
        not as a write of its own, so an overloaded worker does not add store traffic by skipping."""
        late = now - due_at(request=request, seq=seq)
        metrics.TICK_LATENESS.observe(max(0.0, late.total_seconds()))
        if late <= timedelta(seconds=request.interval):
            return seq, 0
        slot = current_slot(request=request, now=now)
        skipped = max(0, slot - seq)
        if skipped:
            metrics.TICKS_SKIPPED.inc(skipped)
            log.debug("request %s: tick %d was %.1f s late; skipped %d", request.id, seq, late.total_seconds(), skipped)
        return max(seq, slot), skipped

    async def _produce(
        self, *, request: BriefingRequest, seq: int, skipped: int, started: datetime, previous: Totals | None
    ) -> tuple[Briefing | None, Totals | None]:
        """The tick's briefing, stored, and the watcher's counters it was counted against (None when
        it was not counted from the watcher): the next briefing of the request counts from them."""
        camera = self.cameras.get(request.camera_id)
        camera_name = camera.name if camera is not None else request.camera_id
        watched = await self._watched(camera_id=request.camera_id)
        observation = watched_observation(watched) if watched is not None else None
        if observation is None:
            observation = await self.batcher.observe(request.camera_id)
        custom = await self._custom(owner_id=request.owner_id)
        movement: Movement | None = None
        said: CaptionMovement | None = None
        if watched is not None:
            movement, said = _movement(previous=previous, watched=watched, camera=camera)
        briefing = await self._compose(
            request=request, seq=seq, observation=observation, camera_name=camera_name, custom=custom, movement=said
        )
        briefing.skipped_before = skipped
        if watched is not None and movement is not None:
            _add_tracking(briefing, watched=watched, movement=movement)
        if utcnow() - started > RECHECK_AFTER:
            # A slow tick (an LLM caption) re-reads the status, so that a briefing ended meanwhile
            # gets nothing after its end; a fast one relies on the state it started with.
            fresh = await BriefingRequest.get(doc_id(request))
            if fresh is None or fresh.status != RequestStatus.ACTIVE:
                self.store.forget_request(str(request.id))
                return None, None
        stored = await self.store.insert(briefing)
        if stored is None or watched is None or movement is None:
            return stored, None
        increments = _visitor_increments(movement)
        if increments:
            await self.store.count_visitors(request_id=doc_id(request), increments=increments)
        return stored, Totals.of(watched)

    async def _watched(self, *, camera_id: str) -> WatchState | None:
        """The camera watcher's latest frame when it is fresh enough to stand for this tick."""
        if self.watch is None:
            return None
        state = await self.watch.state(camera_id)
        return state if state is not None and state.fresh_at(utcnow()) else None

    async def _custom(self, *, owner_id: PydanticObjectId) -> list[str]:
        """The owner's caption instructions, read at most every CUSTOM_TTL seconds per worker.

        Up to CUSTOM_STALE_SECONDS old they are used as they are and re-read off the tick's path
        (a store read that takes a moment under load must not make the tick late); older, or never
        read, they are read before the caption is written."""
        clock = time.monotonic()
        cached = self._customs.get(owner_id)
        age = clock - cached[0] if cached is not None else float("inf")
        if cached is not None and age < CUSTOM_TTL_SECONDS:
            return cached[1]
        if cached is not None and age < CUSTOM_STALE_SECONDS:
            self._refresh_custom_later(owner_id)
            return cached[1]
        return await self._read_custom(owner_id)

    async def _read_custom(self, owner_id: PydanticObjectId) -> list[str]:
        clock = time.monotonic()
        owner = await get_by_id(User, owner_id)  # batched with the other ticks due now
        custom = list(owner.custom) if owner is not None else []
        self._customs[owner_id] = (clock, custom)
        return custom

    def _refresh_custom_later(self, owner_id: PydanticObjectId) -> None:
        async def refresh(owners: list[PydanticObjectId]) -> None:
            for owner in owners:
                await self._read_custom(owner)

        self._background.run([owner_id], refresh, what="re-reading an owner's instructions")

    async def _compose(
        self,
        *,
        request: BriefingRequest,
        seq: int,
        observation: Observation,
        camera_name: str,
        custom: list[str],
        movement: CaptionMovement | None = None,
    ) -> Briefing:
        if observation.error is not None:
            return Briefing(
                id=briefing_key(request_id=doc_id(request), seq=seq),
                request_id=doc_id(request),
                seq=seq,
                captured_at=observation.captured_at,
                caption=failure_caption(custom=custom, camera_name=camera_name),
                caption_source=CaptionSource.TEMPLATE,
                error=observation.error,
            )
        caption = await write_caption(
            counts=observation.counts,
            camera_name=camera_name,
            local_time=as_utc(observation.captured_at).astimezone(self.settings.tz),
            custom=custom,
            llm=self.llm,
            user_id=str(request.owner_id),
            movement=movement,
        )
        return Briefing(
            id=briefing_key(request_id=doc_id(request), seq=seq),
            request_id=doc_id(request),
            seq=seq,
            captured_at=observation.captured_at,
            caption=caption.text,
            counts=[ClassCount(label=label, count=count) for label, count in observation.counts.items()],
            caption_source=CaptionSource(caption.source),
            detections=[
                StoredDetection(
                    label=d.label,
                    score=float(d.score),
                    box=(float(d.box[0]), float(d.box[1]), float(d.box[2]), float(d.box[3])),
                )
                for d in observation.detections
            ],
        )


def watched_observation(state: WatchState) -> Observation:
    """A watcher's frame as the tick's observation: its counts and the people it tracked."""
    return Observation(
        camera_id=state.camera_id,
        captured_at=state.at,
        counts=dict(state.counts),
        detections=[Detection(label=label, score=score, box=box) for label, score, box in state.detections],
    )


def _add_tracking(briefing: Briefing, *, watched: WatchState, movement: Movement) -> None:
    briefing.tracked = True
    labels = [c.label for c in briefing.counts] or list(watched.counts)
    briefing.entered = [ClassCount(label=label, count=movement.entered.get(label, 0)) for label in labels]
    briefing.exited = [ClassCount(label=label, count=movement.exited.get(label, 0)) for label in labels]
    briefing.zones = [
        ZoneCount(zone=zone, label=label, count=count)
        for zone, per_label in watched.zones.items()
        for label, count in per_label.items()
    ]


def _movement(
    *, previous: Totals | None, watched: WatchState, camera: CameraConfig | None
) -> tuple[Movement, CaptionMovement | None]:
    """The crossings since the request's previous briefing, and what its caption says of them
    (nothing for a request's first briefing, or on a camera without an entrance line)."""
    movement = movement_since(previous=previous, now=Totals.of(watched))
    if previous is None or previous.at is None or camera is None or camera.entrance is None:
        return movement, None
    span = max(1.0, (as_utc(watched.at) - as_utc(previous.at)).total_seconds())
    said = CaptionMovement(entered=sum(movement.entered.values()), exited=sum(movement.exited.values()), seconds=span)
    return movement, said


def _visitor_increments(movement: Movement) -> dict[str, float]:
    """What a stored briefing adds to its request: entries per label and completed stays (`$inc`
    fields; empty, so no write, unless someone came in or left)."""
    increments: dict[str, float] = {f"visitors.{label}": n for label, n in movement.entered.items() if n > 0}
    if movement.dwell_visits > 0:
        increments["dwell_seconds"] = movement.dwell_seconds
        increments["dwell_visits"] = movement.dwell_visits
    return increments
