"""Beanie documents: what the service persists in MongoDB, the source of truth."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from beanie import Document, PydanticObjectId
from pydantic import BaseModel, Field, field_validator
from pymongo import ASCENDING, DESCENDING, IndexModel

from core.time import utcnow


class RequestStatus(StrEnum):
    """Lifecycle of a briefing request."""

    ACTIVE = "ACTIVE"
    ENDED = "ENDED"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"


class EndReason(StrEnum):
    """Why a briefing request stopped."""

    ENDED_BY_USER = "ENDED_BY_USER"
    REACHED_ENDTIME = "REACHED_ENDTIME"
    REPLACED = "REPLACED"
    FAILED = "FAILED"


class CaptionSource(StrEnum):
    """Who wrote a caption or summary."""

    LLM = "LLM"
    TEMPLATE = "TEMPLATE"


class User(Document):
    """An account: a shop owner.

    An account the original app created (legacy `/login`) has no password (`password_hash` None) until
    the operator sets one; `legacy_access` lets the original app's routes reach the account.
    """

    username: str
    password_hash: str | None = None
    custom: list[str] = Field(default_factory=list)  # signup fills in language.style.DEFAULT_CUSTOM
    active_request_id: PydanticObjectId | None = None
    created_at: datetime = Field(default_factory=utcnow)
    legacy_access: bool = False

    class Settings:
        name = "users"
        indexes = [IndexModel([("username", ASCENDING)], unique=True, name="username_unique")]


class Session(Document):
    """An opaque bearer token, stored as its SHA-256 digest.

    Sessions issued since 2026-12-02 have `_id` = `token_hash`, so authenticating a request is a
    primary-key read (FerretDB's SQLite backend scans for any other filter; a reconnect storm made
    that a full scan of every session per socket). Older ones keep an ObjectId `_id`."""

    id: str | PydanticObjectId | None = None  # type: ignore[assignment]
    token_hash: str
    user_id: PydanticObjectId
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime

    class Settings:
        name = "sessions"
        indexes = [
            IndexModel([("token_hash", ASCENDING)], unique=True, name="token_hash_unique"),
            IndexModel([("user_id", ASCENDING)], name="user"),
        ]


class BriefingRequest(Document):
    """One started briefing: a camera watched every `interval` seconds until `ends_at`."""

    owner_id: PydanticObjectId
    name: str
    interval: int
    endtime: str
    starts_at: datetime
    ends_at: datetime
    camera_id: str
    status: RequestStatus = RequestStatus.ACTIVE
    ended_at: datetime | None = None
    end_reason: EndReason | None = None
    skipped_ticks: int = 0  # rows written before 2026-12: skips now live on briefings (skipped_before)
    visitors: dict[str, int] = Field(default_factory=dict)
    """Entries through the camera's entrance during the request, per label (tracked briefings only)."""
    dwell_seconds: float = 0.0
    """Summed stay of the visits whose entry and exit were both seen during the request."""
    dwell_visits: int = 0
    keyed: bool = False
    """Every briefing of this request has `_id` = `briefing_key` (set by `start_request`; rows written
    before 2026-11-25 lack it), so its briefings can be read by key instead of by a filter."""
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "requests"
        indexes = [
            IndexModel([("owner_id", ASCENDING), ("created_at", DESCENDING)], name="owner_newest"),
            IndexModel([("status", ASCENDING)], name="status"),
        ]


class ClassCount(BaseModel):
    """How many of one class the detector counted."""

    label: str
    count: int


class ZoneCount(BaseModel):
    """People of one label standing in one zone of the camera."""

    zone: str
    label: str
    count: int


class StoredDetection(BaseModel):
    """One detection as stored with its briefing."""

    label: str
    score: float
    box: tuple[float, float, float, float]


def briefing_key(*, request_id: PydanticObjectId, seq: int) -> str:
    """The `_id` of a request's briefing `seq`: the idempotency key of a tick.

    Looking a briefing up by `_id` is a primary-key read everywhere (FerretDB's SQLite backend
    scans for any other filter), and inserting the same tick twice fails on the key.
    """
    return f"{request_id}:{seq:08d}"


class Briefing(Document):
    """The outcome of one tick of a request: unique on (request_id, seq), `_id` = briefing_key."""

    id: str | None = None  # type: ignore[assignment]
    request_id: PydanticObjectId
    seq: int
    captured_at: datetime
    caption: str
    counts: list[ClassCount] = Field(default_factory=list)
    caption_source: CaptionSource = CaptionSource.TEMPLATE
    error: str | None = None
    detections: list[StoredDetection] = Field(default_factory=list)
    skipped_before: int = 0  # slots skipped (too late) just before this one
    tracked: bool = False
    """Counted from the camera watcher's tracked frame (entries, exits and zones are known)."""
    entered: list[ClassCount] = Field(default_factory=list)
    """People who crossed the entrance line inward since the request's previous briefing, per label."""
    exited: list[ClassCount] = Field(default_factory=list)
    zones: list[ZoneCount] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utcnow)

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: object) -> object:
        return None if value is None else str(value)  # rows written by hand may carry an ObjectId

    class Settings:
        name = "briefings"
        indexes = [IndexModel([("request_id", ASCENDING), ("seq", ASCENDING)], unique=True, name="request_seq_unique")]


class Summary(Document):
    """The AI summary of one request, regenerated only when asked or when new briefings arrived."""

    request_id: PydanticObjectId
    text: str
    source: CaptionSource
    model: str | None = None
    briefing_count: int
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "summaries"
        indexes = [IndexModel([("request_id", ASCENDING)], unique=True, name="request_unique")]


def doc_id(document: Document) -> PydanticObjectId:
    """The id of a stored document (inserted documents always have one)."""
    if document.id is None:
        raise ValueError(f"{type(document).__name__} has not been stored yet")
    return document.id


ALL_DOCUMENTS: list[type[Document]] = [User, Session, BriefingRequest, Briefing, Summary]
