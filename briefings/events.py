"""The live events of a request, as typed models, and how they are announced.

Producers store first and announce second (see `core.events`). On the wire an event is one JSON
object whose `kind` picks its model; each API process parses it once (the hub's parser) and every
local subscriber of the request shares the parsed object, including the `Briefing` it describes.
`RESYNC` is not on the wire: the hub puts it in an inbox when events may have been lost, and the
subscriber answers it by re-reading the store.
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from typing import Annotated, Final, Literal

from beanie import PydanticObjectId
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from core.events import EventHub, publish, queue_publish
from core.time import as_utc
from documents import Alert, AlertDetails, AlertKind, Briefing, CaptionSource, ClassCount, EndReason, ZoneCount


class BriefingAnnounced(BaseModel):
    """A briefing was stored: everything a subscriber shows, so it needs no store read."""

    model_config = ConfigDict(frozen=True, ignored_types=(cached_property,))

    kind: Literal["briefing"] = "briefing"
    id: str
    request_id: str
    seq: int
    captured_at: datetime
    caption: str
    counts: list[ClassCount]
    caption_source: CaptionSource
    error: str | None = None
    tracked: bool = False
    entered: list[ClassCount] = Field(default_factory=list)
    exited: list[ClassCount] = Field(default_factory=list)
    zones: list[ZoneCount] = Field(default_factory=list)

    @classmethod
    def of(cls, briefing: Briefing) -> BriefingAnnounced:
        """The announcement of a stored briefing."""
        return cls(
            id=str(briefing.id),
            request_id=str(briefing.request_id),
            seq=briefing.seq,
            captured_at=as_utc(briefing.captured_at),
            caption=briefing.caption,
            counts=list(briefing.counts),
            caption_source=briefing.caption_source,
            error=briefing.error,
            tracked=briefing.tracked,
            entered=list(briefing.entered),
            exited=list(briefing.exited),
            zones=list(briefing.zones),
        )

    @cached_property
    def document(self) -> Briefing:
        """The briefing as the store holds it (built once, shared by every local subscriber)."""
        return Briefing(
            id=self.id,
            request_id=PydanticObjectId(self.request_id),
            seq=self.seq,
            captured_at=self.captured_at,
            caption=self.caption,
            counts=self.counts,
            caption_source=self.caption_source,
            error=self.error,
            tracked=self.tracked,
            entered=self.entered,
            exited=self.exited,
            zones=self.zones,
        )


class EndAnnounced(BaseModel):
    """The request ended (its final state is in the store)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["ended"] = "ended"
    reason: EndReason


class AlertAnnounced(BaseModel):
    """An alert was stored: on its request's stream and on its owner's alerts stream (`alerts_topic`)."""

    model_config = ConfigDict(frozen=True, ignored_types=(cached_property,))

    kind: Literal["alert"] = "alert"
    id: str
    owner_id: str
    rule_id: str
    request_id: str
    camera_id: str
    alert_kind: AlertKind
    since: datetime
    fired_at: datetime
    message: str
    details: AlertDetails

    @classmethod
    def of(cls, alert: Alert) -> AlertAnnounced:
        """The announcement of a stored alert."""
        return cls(
            id=str(alert.id),
            owner_id=str(alert.owner_id),
            rule_id=str(alert.rule_id),
            request_id=str(alert.request_id),
            camera_id=alert.camera_id,
            alert_kind=alert.kind,
            since=as_utc(alert.since),
            fired_at=as_utc(alert.fired_at),
            message=alert.message,
            details=alert.details,
        )

    @cached_property
    def document(self) -> Alert:
        """The alert as the store holds it (built once, shared by every local subscriber)."""
        return Alert(
            id=self.id,
            owner_id=PydanticObjectId(self.owner_id),
            rule_id=PydanticObjectId(self.rule_id),
            request_id=PydanticObjectId(self.request_id),
            camera_id=self.camera_id,
            kind=self.alert_kind,
            since=self.since,
            fired_at=self.fired_at,
            message=self.message,
            details=self.details,
            announced=True,
        )


def alerts_topic(*, user_id: str) -> str:
    """The hub topic (stream) carrying one user's alerts, for the `alerts` subscription."""
    return f"alerts:{user_id}"


AnyAnnounced = BriefingAnnounced | EndAnnounced | AlertAnnounced
LiveEvent = Annotated[AnyAnnounced, Field(discriminator="kind")]
_LIVE_EVENT: TypeAdapter[AnyAnnounced] = TypeAdapter(LiveEvent)


class Resync:
    """The type of `RESYNC`: events may have been lost, re-read the store."""

    def __repr__(self) -> str:
        return "RESYNC"


RESYNC: Final = Resync()
Inbound = BriefingAnnounced | EndAnnounced | AlertAnnounced | Resync
"""What a subscriber's inbox holds."""


def parse_event(payload: str) -> AnyAnnounced:
    """Parse one announced event; raises ValueError (pydantic's ValidationError) when malformed."""
    return _LIVE_EVENT.validate_json(payload)


async def announce(*, redis: Redis, request_id: str, event: AnyAnnounced) -> None:
    """Put an event on the request's stream (after the store has it)."""
    await publish(redis=redis, request_id=request_id, payload=event.model_dump_json())


def queue_announce(*, pipe: Pipeline, request_id: str, event: AnyAnnounced) -> None:
    """Add an announcement to a pipeline that the caller executes (after the store has the events)."""
    queue_publish(pipe=pipe, request_id=request_id, payload=event.model_dump_json())


def event_hub(*, redis_url: str, queue_size: int) -> EventHub[Inbound]:
    """The process's hub of live events, parsing each event once."""
    return EventHub[Inbound](redis_url=redis_url, queue_size=queue_size, parse=parse_event, resync=RESYNC)
