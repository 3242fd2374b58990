"""Alert GraphQL types: rules, firings and the webhook — shapes only, built from documents."""

from __future__ import annotations

from datetime import datetime

import strawberry

from documents import Alert as AlertDoc
from documents import AlertKind
from documents import AlertRule as AlertRuleDoc
from documents import Webhook as WebhookDoc
from resolvers.alerts import RuleInput, WebhookChange

AlertKindGQL = strawberry.enum(
    AlertKind,
    name="AlertKind",
    description="OCCUPANCY: threshold or more people (of label) for seconds. ZONE_EMPTY: nobody in zoneId for "
    "seconds. ENTRIES: threshold or more entries within seconds. CAMERA_UNREADABLE: no readable frame for seconds.",
)


@strawberry.type(name="AlertRule")
class AlertRuleGQL:
    """One of the user's alert rules, evaluated on every camera it applies to while a briefing runs there."""

    id: strawberry.ID
    kind: AlertKindGQL  # type: ignore[valid-type]
    camera_id: strawberry.ID | None = strawberry.field(description="Null: every camera.")
    threshold: int | None = strawberry.field(description="N, for OCCUPANCY and ENTRIES.")
    seconds: int = strawberry.field(description="T: how long the condition must hold (ENTRIES: the window).")
    zone_id: str | None = strawberry.field(description="The zone, for ZONE_EMPTY.")
    label: str | None = strawberry.field(description="OCCUPANCY counts only this class when set.")
    enabled: bool
    created_at: datetime

    @classmethod
    def from_doc(cls, doc: AlertRuleDoc) -> AlertRuleGQL:
        """Expose a stored rule."""
        return cls(
            id=strawberry.ID(str(doc.id)),
            kind=doc.kind,
            camera_id=None if doc.camera_id is None else strawberry.ID(doc.camera_id),
            threshold=doc.threshold,
            seconds=doc.seconds,
            zone_id=doc.zone_id,
            label=doc.label,
            enabled=doc.enabled,
            created_at=doc.created_at,
        )


@strawberry.input(name="AlertRuleInput")
class AlertRuleInputGQL:
    """A rule to create, or (with `id`) the new settings of one of the user's rules."""

    id: strawberry.ID | None = strawberry.field(default=None, description="Set to change an existing rule.")
    kind: AlertKindGQL  # type: ignore[valid-type]
    seconds: int = strawberry.field(description="1-86400: how long the condition must hold (ENTRIES: the window).")
    camera_id: strawberry.ID | None = strawberry.field(default=None, description="Null: every camera.")
    threshold: int | None = strawberry.field(default=None, description="OCCUPANCY (1-1000) and ENTRIES (1-10000) only.")
    zone_id: str | None = strawberry.field(default=None, description="ZONE_EMPTY only: one of the camera's zones.")
    label: str | None = strawberry.field(default=None, description="OCCUPANCY only: count just this class.")
    enabled: bool = True

    def to_input(self) -> RuleInput:
        """The resolver's form."""
        return RuleInput(
            kind=AlertKind(self.kind),
            seconds=self.seconds,
            id=None if self.id is None else str(self.id),
            camera_id=None if self.camera_id is None else str(self.camera_id),
            threshold=self.threshold,
            zone_id=self.zone_id,
            label=self.label,
            enabled=self.enabled,
        )


@strawberry.type(name="Alert")
class AlertGQL:
    """A rule that fired during a briefing request."""

    id: strawberry.ID
    rule_id: strawberry.ID
    request_id: strawberry.ID
    camera_id: strawberry.ID
    kind: AlertKindGQL  # type: ignore[valid-type]
    since: datetime = strawberry.field(description="When the condition began.")
    fired_at: datetime
    message: str
    observed: int | None = strawberry.field(
        description="People (OCCUPANCY), people in the zone (ZONE_EMPTY) or entries in the window (ENTRIES)."
    )
    threshold: int | None
    seconds: int
    zone_id: str | None
    label: str | None

    @classmethod
    def from_doc(cls, doc: AlertDoc) -> AlertGQL:
        """Expose a stored (or announced) alert."""
        return cls(
            id=strawberry.ID(str(doc.id)),
            rule_id=strawberry.ID(str(doc.rule_id)),
            request_id=strawberry.ID(str(doc.request_id)),
            camera_id=strawberry.ID(doc.camera_id),
            kind=doc.kind,
            since=doc.since,
            fired_at=doc.fired_at,
            message=doc.message,
            observed=doc.details.observed,
            threshold=doc.details.threshold,
            seconds=doc.details.seconds,
            zone_id=doc.details.zone_id,
            label=doc.details.label,
        )


@strawberry.type(name="Webhook")
class WebhookGQL:
    """Where the user's alerts are POSTed (signed with a secret shown only when it is set)."""

    url: str
    created_at: datetime

    @classmethod
    def from_doc(cls, doc: WebhookDoc) -> WebhookGQL:
        """Expose a stored webhook (never its secret)."""
        return cls(url=doc.url, created_at=doc.created_at)


@strawberry.type(name="WebhookResult")
class WebhookResultGQL:
    """What `setWebhook` answers."""

    webhook: WebhookGQL | None = strawberry.field(description="Null once removed.")
    secret: str | None = strawberry.field(
        description="The new signing secret: shown this once. Verify `X-Briefing-Signature` with it."
    )

    @classmethod
    def of(cls, change: WebhookChange) -> WebhookResultGQL:
        """Expose a webhook change."""
        return cls(
            webhook=None if change.webhook is None else WebhookGQL.from_doc(change.webhook), secret=change.secret
        )
