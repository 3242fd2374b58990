"""Alert rules, stored alerts, the webhook, and the user's live alerts.

Every rule and alert belongs to one user: another user's id is NOT_FOUND, exactly like an unknown
one. Rules are validated here (BAD_USER_INPUT with the offending `field`); the camera watcher
evaluates them (`briefings.alerts`).
"""

from __future__ import annotations

import re
import secrets
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from beanie import PydanticObjectId

from briefings.alerts import WebhookUrlError, check_webhook_url
from briefings.events import RESYNC, AlertAnnounced, Inbound, alerts_topic
from core.events import Overflow, Subscription
from core.quoting import quoted
from core.time import utcnow
from documents import Alert, AlertKind, AlertRule, User, Webhook, doc_id
from documents.alerts import stored_now
from documents.transient import retry_transient
from resolvers.briefings import subscription_slot
from resolvers.context import Context
from resolvers.errors import bad_input, not_found
from resolvers.history import owned_request, parse_id

MAX_RULES_PER_USER = 20
MAX_SECONDS = 86_400
MAX_THRESHOLD = {AlertKind.OCCUPANCY: 1_000, AlertKind.ENTRIES: 10_000}
"""The kinds that take a threshold (N), and its upper bound."""
MAX_ALERTS_PER_READ = 200
DEFAULT_ALERTS_PER_READ = 50
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_QUIET_SECONDS = 30.0
_SEEN_PER_STREAM = 256


@dataclass(frozen=True)
class RuleInput:
    """A rule as the client sends it (`id` set: change that rule, else create one)."""

    kind: AlertKind
    seconds: int
    id: str | None = None
    camera_id: str | None = None
    threshold: int | None = None
    zone_id: str | None = None
    label: str | None = None
    enabled: bool = True


@dataclass(frozen=True)
class WebhookChange:
    """What `setWebhook` answers: the webhook now set (None once removed) and, once, its new secret."""

    webhook: Webhook | None
    secret: str | None


# --- rules ----------------------------------------------------------------------------------


async def list_rules(*, user: User) -> list[AlertRule]:
    """The user's rules, oldest first."""
    return await AlertRule.find(AlertRule.owner_id == doc_id(user)).sort("created_at").to_list()


async def set_rule(*, ctx: Context, user: User, rule: RuleInput) -> AlertRule:
    """Create a rule, or change one of the user's (when `rule.id` is set); validated first."""
    _validate(ctx=ctx, rule=rule)
    if rule.id is not None:
        stored = await _owned_rule(user=user, rule_id=rule.id)
        _apply(stored, rule)
        stored.updated_at = stored_now()
        await retry_transient(stored.save, what="change an alert rule")
        return stored
    created = AlertRule(owner_id=doc_id(user), kind=rule.kind, seconds=rule.seconds)
    _apply(created, rule)
    if await _count_rules(user=user) >= MAX_RULES_PER_USER:
        raise _too_many()
    await retry_transient(created.insert, what="store an alert rule")
    if await _count_rules(user=user) > MAX_RULES_PER_USER:  # another request created one meanwhile
        await created.delete()
        raise _too_many()
    return created


async def delete_rule(*, user: User, rule_id: str) -> bool:
    """Delete one of the user's rules (its stored alerts stay)."""
    rule = await _owned_rule(user=user, rule_id=rule_id)
    await retry_transient(rule.delete, what="delete an alert rule")
    return True


async def _owned_rule(*, user: User, rule_id: str) -> AlertRule:
    oid = parse_id(raw=rule_id, what="Alert rule")
    rule = await AlertRule.find_one(AlertRule.id == oid, AlertRule.owner_id == doc_id(user))
    if rule is None:
        raise not_found("Alert rule")
    return rule


async def _count_rules(*, user: User) -> int:
    return await AlertRule.find(AlertRule.owner_id == doc_id(user)).count()


def _too_many() -> Exception:
    return bad_input(f"At most {MAX_RULES_PER_USER} alert rules per user; delete one first", field="id")


def _apply(stored: AlertRule, rule: RuleInput) -> None:
    stored.kind = rule.kind
    stored.seconds = rule.seconds
    stored.camera_id = rule.camera_id
    stored.threshold = rule.threshold
    stored.zone_id = rule.zone_id
    stored.label = rule.label
    stored.enabled = rule.enabled


def _validate(*, ctx: Context, rule: RuleInput) -> None:
    """Refuse a rule that cannot mean anything; the error names the field."""
    if not 1 <= rule.seconds <= MAX_SECONDS:
        raise bad_input(f"seconds must be between 1 and {MAX_SECONDS}", field="seconds")
    _validate_threshold(rule)
    camera = None
    if rule.camera_id is not None:
        camera = ctx.services.cameras.get(rule.camera_id)
        if camera is None:
            raise bad_input(
                f"Unknown camera {quoted(rule.camera_id)}; the `cameras` query lists them", field="cameraId"
            )
    _validate_zone(rule, zones=None if camera is None else [zone.id for zone in getattr(camera, "zones", ())])
    if rule.label is not None:
        if rule.kind != AlertKind.OCCUPANCY:
            raise bad_input("label applies to OCCUPANCY rules only", field="label")
        if not _NAME.match(rule.label):
            raise bad_input("label must be 1-64 letters, digits, '_', '.' or '-'", field="label")


def _validate_threshold(rule: RuleInput) -> None:
    bound = MAX_THRESHOLD.get(rule.kind)
    if bound is None:
        if rule.threshold is not None:
            raise bad_input(f"{rule.kind} rules take no threshold", field="threshold")
        return
    if rule.threshold is None:
        raise bad_input(f"{rule.kind} rules need a threshold", field="threshold")
    if not 1 <= rule.threshold <= bound:
        raise bad_input(f"threshold must be between 1 and {bound}", field="threshold")


def _validate_zone(rule: RuleInput, *, zones: list[str] | None) -> None:
    """ZONE_EMPTY needs a camera and one of its zones (any well-formed id while the camera lists none)."""
    if rule.kind != AlertKind.ZONE_EMPTY:
        if rule.zone_id is not None:
            raise bad_input("zoneId applies to ZONE_EMPTY rules only", field="zoneId")
        return
    if rule.camera_id is None:
        raise bad_input("ZONE_EMPTY rules need a cameraId (zones belong to a camera)", field="cameraId")
    if rule.zone_id is None or not _NAME.match(rule.zone_id):
        raise bad_input("ZONE_EMPTY rules need the id of one of the camera's zones", field="zoneId")
    if zones and rule.zone_id not in zones:
        listed = ", ".join(quoted(zone) for zone in zones)
        raise bad_input(
            f"Camera {quoted(rule.camera_id)} has no zone {quoted(rule.zone_id)} ({listed})", field="zoneId"
        )


# --- alerts ---------------------------------------------------------------------------------


async def list_alerts(*, user: User, request_id: str, limit: int | None) -> list[Alert]:
    """The alerts of one of the user's requests, newest first, at most `limit` (1-200, default 50)."""
    count = DEFAULT_ALERTS_PER_READ if limit is None else limit
    if not 1 <= count <= MAX_ALERTS_PER_READ:
        raise bad_input(f"limit must be between 1 and {MAX_ALERTS_PER_READ}", field="limit")
    request = await owned_request(user=user, request_id=request_id)
    query = Alert.find(Alert.request_id == request.id).sort(-Alert.fired_at, -Alert.id)  # type: ignore[operator]
    return await query.limit(count).to_list()


async def follow_alerts(*, ctx: Context, user: User) -> AsyncIterator[Alert]:
    """Every alert of the user from now on, as it fires, on any of their requests.

    Holds one of the user's subscription slots. When live events may have been lost (Redis, or a
    subscriber that fell behind), the alerts stored since the stream began are re-read, so none is
    missed and none sent twice."""
    hub = ctx.services.hub
    topic = alerts_topic(user_id=str(doc_id(user)))
    async with subscription_slot(ctx=ctx, user=user):
        opened = utcnow()
        seen: deque[str] = deque(maxlen=_SEEN_PER_STREAM)
        sub = await hub.subscribe(topic)
        try:
            while True:
                try:
                    async for alert in _live(sub=sub, user=user, opened=opened, seen=seen):
                        yield alert
                except Overflow:
                    hub.unsubscribe(sub)
                    sub = await hub.subscribe(topic)
                    for alert in await _stored_since(user=user, since=opened, seen=seen):
                        yield alert
        finally:
            hub.unsubscribe(sub)


async def _live(*, sub: Subscription[Inbound], user: User, opened: datetime, seen: deque[str]) -> AsyncIterator[Alert]:
    while True:
        event = await sub.get(wait=_QUIET_SECONDS)
        if event is RESYNC:
            for alert in await _stored_since(user=user, since=opened, seen=seen):
                yield alert
        elif isinstance(event, AlertAnnounced) and event.id not in seen:
            seen.append(event.id)
            yield event.document


async def _stored_since(*, user: User, since: datetime, seen: deque[str]) -> list[Alert]:
    query = Alert.find(Alert.owner_id == doc_id(user), Alert.fired_at >= since).sort("fired_at")
    fresh = [alert for alert in await query.limit(_SEEN_PER_STREAM).to_list() if str(alert.id) not in seen]
    seen.extend(str(alert.id) for alert in fresh)
    return fresh


# --- the webhook ----------------------------------------------------------------------------


async def get_webhook(*, user: User) -> Webhook | None:
    """The user's webhook, if set."""
    return await Webhook.get(doc_id(user))


async def set_webhook(*, user: User, url: str | None) -> WebhookChange:
    """Set the user's webhook with a new secret (returned here, and never again), or remove it (None)."""
    owner = doc_id(user)
    if url is None:
        existing = await Webhook.get(owner)
        if existing is not None:
            await retry_transient(existing.delete, what="remove a webhook")
        return WebhookChange(webhook=None, secret=None)
    try:
        cleaned = check_webhook_url(url)
    except WebhookUrlError as refused:
        raise bad_input(str(refused), field="url") from None
    secret = f"whsec_{secrets.token_urlsafe(32)}"
    webhook = Webhook(id=PydanticObjectId(owner), url=cleaned, secret=secret, created_at=stored_now())
    await retry_transient(webhook.save, what="set a webhook")
    return WebhookChange(webhook=webhook, secret=secret)
