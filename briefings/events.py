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
from documents import Briefing, CaptionSource, ClassCount, EndReason


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
        )


class EndAnnounced(BaseModel):
    """The request ended (its final state is in the store)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["ended"] = "ended"
    reason: EndReason


LiveEvent = Annotated[BriefingAnnounced | EndAnnounced, Field(discriminator="kind")]
_LIVE_EVENT: TypeAdapter[BriefingAnnounced | EndAnnounced] = TypeAdapter(LiveEvent)


class Resync:
    """The type of `RESYNC`: events may have been lost, re-read the store."""

    def __repr__(self) -> str:
        return "RESYNC"


RESYNC: Final = Resync()
Inbound = BriefingAnnounced | EndAnnounced | Resync
"""What a subscriber's inbox holds."""


def parse_event(payload: str) -> BriefingAnnounced | EndAnnounced:
    """Parse one announced event; raises ValueError (pydantic's ValidationError) when malformed."""
    return _LIVE_EVENT.validate_json(payload)


async def announce(*, redis: Redis, request_id: str, event: BriefingAnnounced | EndAnnounced) -> None:
    """Put an event on the request's stream (after the store has it)."""
    await publish(redis=redis, request_id=request_id, payload=event.model_dump_json())


def queue_announce(*, pipe: Pipeline, request_id: str, event: BriefingAnnounced | EndAnnounced) -> None:
    """Add an announcement to a pipeline that the caller executes (after the store has the events)."""
    queue_publish(pipe=pipe, request_id=request_id, payload=event.model_dump_json())


def event_hub(*, redis_url: str, queue_size: int) -> EventHub[Inbound]:
    """The process's hub of live events, parsing each event once."""
    return EventHub[Inbound](redis_url=redis_url, queue_size=queue_size, parse=parse_event, resync=RESYNC)
