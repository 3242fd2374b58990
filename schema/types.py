"""GraphQL object types and enums: shapes only, built from documents by `from_doc`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from documents import Briefing as BriefingDoc
from documents import BriefingRequest as RequestDoc
from documents import CaptionSource, EndReason, RequestStatus
from documents import User as UserDoc
from resolvers import history
from resolvers.context import Context
from schema.alerts import AlertGQL

RequestStatusGQL = strawberry.enum(RequestStatus, name="RequestStatus")
EndReasonGQL = strawberry.enum(EndReason, name="EndReason")
CaptionSourceGQL = strawberry.enum(CaptionSource, name="CaptionSource")


@strawberry.type(name="User")
class UserGQL:
    """A shop owner's account."""

    id: strawberry.ID
    username: str
    custom: list[str]
    created_at: datetime
    legacy_access: bool = strawberry.field(description="Whether the original phone app's routes reach the account.")

    @classmethod
    def from_doc(cls, doc: UserDoc) -> UserGQL:
        """Expose a stored user."""
        return cls(
            id=strawberry.ID(str(doc.id)),
            username=doc.username,
            custom=list(doc.custom),
            created_at=doc.created_at,
            legacy_access=doc.legacy_access,
        )


@strawberry.type(name="BriefingRequest")
class BriefingRequestGQL:
    """One started briefing and its state."""

    id: strawberry.ID
    name: str
    interval: int
    endtime: str
    starts_at: datetime
    ends_at: datetime
    camera_id: strawberry.ID
    status: RequestStatusGQL  # type: ignore[valid-type]
    end_reason: EndReasonGQL | None  # type: ignore[valid-type]
    stored_skipped_ticks: strawberry.Private[int]
    visitors_by_label: list[ClassCountGQL] = strawberry.field(
        description="Entries through the camera's entrance during the request, per label (tracked briefings only)."
    )
    mean_dwell_minutes: float | None = strawberry.field(
        description="Mean minutes between a visitor's entry and exit, over the visits seen whole; null if none."
    )

    @strawberry.field(description="Entries through the camera's entrance during the request (all labels).")
    def visitors(self) -> int:
        return sum(c.count for c in self.visitors_by_label)

    @strawberry.field(description="True while ticks are still being scheduled.")
    def active(self) -> bool:
        return bool(self.status == RequestStatus.ACTIVE)

    @strawberry.field(description="How many briefings this request has stored so far.")
    async def briefing_count(self, info: Info[Context, None]) -> int:
        return await history.count_briefings_batched(ctx=info.context, request_id=str(self.id))

    @strawberry.field
    async def skipped_ticks(self, info: Info[Context, None]) -> int:
        return await history.skipped_ticks_batched(
            ctx=info.context, request_id=str(self.id), stored=self.stored_skipped_ticks
        )

    @classmethod
    def from_doc(cls, doc: RequestDoc) -> BriefingRequestGQL:
        """Expose a stored request."""
        return cls(
            id=strawberry.ID(str(doc.id)),
            name=doc.name,
            interval=doc.interval,
            endtime=doc.endtime,
            starts_at=doc.starts_at,
            ends_at=doc.ends_at,
            camera_id=strawberry.ID(doc.camera_id),
            status=doc.status,
            end_reason=doc.end_reason,
            stored_skipped_ticks=doc.skipped_ticks,
            visitors_by_label=[ClassCountGQL(label=label, count=n) for label, n in doc.visitors.items()],
            mean_dwell_minutes=round(doc.dwell_seconds / doc.dwell_visits / 60.0, 2) if doc.dwell_visits else None,
        )


@strawberry.type(name="ClassCount")
class ClassCountGQL:
    """How many of one class the detector counted."""

    label: str
    count: int


@strawberry.type(name="ZoneCount")
class ZoneCountGQL:
    """People of one label standing in one zone of the camera (e.g. `counter`)."""

    zone: str
    label: str
    count: int


@strawberry.type(name="Briefing")
class BriefingGQL:
    """One caption of a request, with the counts it was written from."""

    id: strawberry.ID
    request_id: strawberry.ID
    seq: int
    captured_at: datetime
    caption: str
    counts: list[ClassCountGQL]
    caption_source: CaptionSourceGQL  # type: ignore[valid-type]
    error: str | None = strawberry.field(
        description="Null when the tick went well; otherwise what failed (e.g. the camera could not be read)."
    )
    tracked: bool = strawberry.field(
        description="Counted from the camera watcher's tracked frame: `entered`, `exited` and `zones` are known."
    )
    entered: list[ClassCountGQL] = strawberry.field(
        description="People who came in through the camera's entrance since the request's previous briefing."
    )
    exited: list[ClassCountGQL] = strawberry.field(
        description="People who left through the entrance since the request's previous briefing."
    )
    zones: list[ZoneCountGQL] = strawberry.field(description="People per zone and label at this briefing.")

    @classmethod
    def from_doc(cls, doc: BriefingDoc) -> BriefingGQL:
        """Expose a stored briefing."""
        return cls(
            id=strawberry.ID(str(doc.id)),
            request_id=strawberry.ID(str(doc.request_id)),
            seq=doc.seq,
            captured_at=doc.captured_at,
            caption=doc.caption,
            counts=[ClassCountGQL(label=c.label, count=c.count) for c in doc.counts],
            caption_source=doc.caption_source,
            error=doc.error,
            tracked=doc.tracked,
            entered=[ClassCountGQL(label=c.label, count=c.count) for c in doc.entered],
            exited=[ClassCountGQL(label=c.label, count=c.count) for c in doc.exited],
            zones=[ZoneCountGQL(zone=z.zone, label=z.label, count=z.count) for z in doc.zones],
        )


@strawberry.type(name="LoginResult")
class LoginResultGQL:
    """`message` is "signup" for a new account and "login" for a known one."""

    message: str
    user_id: strawberry.ID
    token: str


@strawberry.type(name="MessageResult")
class MessageResultGQL:
    """A plain confirmation message."""

    message: str


@strawberry.type(name="Camera")
class CameraGQL:
    """A camera the operator configured; clients choose it by id."""

    id: strawberry.ID
    name: str


@strawberry.type(name="BriefingStarted")
class BriefingStartedGQL:
    """First event of `briefing`: the request that was just created."""

    request: BriefingRequestGQL

    @strawberry.field(description='`"<request id>:started"`: one per request, so caches (Apollo) can normalise it.')
    def id(self) -> strawberry.ID:
        return strawberry.ID(f"{self.request.id}:started")


@strawberry.type(name="BriefingEnded")
class BriefingEndedGQL:
    """Last event of a stream: the request in its final state and why it ended."""

    request: BriefingRequestGQL
    reason: EndReasonGQL  # type: ignore[valid-type]

    @strawberry.field(description='`"<request id>:ended"`: one per request, so caches (Apollo) can normalise it.')
    def id(self) -> strawberry.ID:
        return strawberry.ID(f"{self.request.id}:ended")


BriefingEvent = Annotated[
    BriefingStartedGQL | BriefingGQL | BriefingEndedGQL | AlertGQL, strawberry.union("BriefingEvent")
]
