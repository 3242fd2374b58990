"""Alert documents: the user's rules, every firing of them, and the user's webhook.

An `Alert` is keyed by `alert_key` (rule, request and the moment its condition began), so a camera
watcher that evaluates the same samples twice (a retry, or another worker taking over from a
checkpoint) stores it once. A `Webhook` is keyed by its owner's id: one per user.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from beanie import Document, PydanticObjectId
from pydantic import BaseModel, Field, field_validator
from pymongo import ASCENDING, DESCENDING, IndexModel

from core.time import as_utc, utcnow


def stored_now() -> datetime:
    """Now, to the millisecond: what the store keeps of a moment (so a fresh document equals its stored self)."""
    moment = utcnow()
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


class AlertKind(StrEnum):
    """What an alert rule watches."""

    OCCUPANCY = "OCCUPANCY"
    """`threshold` or more people (of `label`, when set) in view for `seconds`."""
    ZONE_EMPTY = "ZONE_EMPTY"
    """Nobody in zone `zone_id` for `seconds` (an unattended counter)."""
    ENTRIES = "ENTRIES"
    """`threshold` or more entries through the entrance within a window of `seconds`."""
    CAMERA_UNREADABLE = "CAMERA_UNREADABLE"
    """No readable frame for `seconds`."""


class AlertRule(Document):
    """One of a user's alert rules; `camera_id` None applies it to every camera."""

    owner_id: PydanticObjectId
    kind: AlertKind
    camera_id: str | None = None
    threshold: int | None = None
    seconds: int
    zone_id: str | None = None
    label: str | None = None
    enabled: bool = True
    created_at: datetime = Field(default_factory=stored_now)
    updated_at: datetime = Field(default_factory=stored_now)

    class Settings:
        name = "alert_rules"
        indexes = [IndexModel([("owner_id", ASCENDING), ("created_at", ASCENDING)], name="owner_oldest")]


class AlertDetails(BaseModel):
    """What was observed when a rule fired, and the rule's settings at that moment."""

    observed: int | None = None
    """Occupancy (OCCUPANCY), people in the zone (ZONE_EMPTY: 0) or entries in the window (ENTRIES)."""
    threshold: int | None = None
    seconds: int
    zone_id: str | None = None
    label: str | None = None


def alert_key(*, rule_id: str, request_id: str, since: datetime) -> str:
    """The `_id` of a firing: rule, request and the moment (ms) its condition began."""
    return f"{rule_id}:{request_id}:{int(as_utc(since).timestamp() * 1000)}"


class Alert(Document):
    """One firing of a rule during a request, `_id` = `alert_key`."""

    id: str | None = None  # type: ignore[assignment]
    owner_id: PydanticObjectId
    rule_id: PydanticObjectId
    request_id: PydanticObjectId
    camera_id: str
    kind: AlertKind
    since: datetime
    fired_at: datetime
    message: str
    details: AlertDetails
    announced: bool = False
    """Set once the alert was put on the live streams and its webhook delivery queued."""
    webhook_attempts: int = 0
    webhook_delivered_at: datetime | None = None
    webhook_error: str | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: object) -> object:
        return None if value is None else str(value)

    class Settings:
        name = "alerts"
        indexes = [
            IndexModel([("request_id", ASCENDING), ("fired_at", DESCENDING)], name="request_newest"),
            IndexModel([("owner_id", ASCENDING), ("fired_at", DESCENDING)], name="owner_newest"),
        ]


class Webhook(Document):
    """A user's webhook, `_id` = the owner's id: where alerts are POSTed and the secret that signs them."""

    url: str
    secret: str
    created_at: datetime = Field(default_factory=stored_now)

    class Settings:
        name = "webhooks"


ALERT_DOCUMENTS: list[type[Document]] = [AlertRule, Alert, Webhook]
