"""Alerts: deciding when a user's rule fires on a camera's samples, and firing it.

The camera watcher (`workers`) calls three things, in this order, for each camera it owns:

1. `await rules_for(owner_id=..., camera_id=...)` — the owner's enabled rules that apply to the camera
   (the watcher maps each running request on the camera to its owner; re-read them now and then).
2. `evaluate(rules=[RuleSpec.of(r) for r in rules], samples=[...], state=state)` — pure and
   synchronous: feeds the samples (`Sample.of_watch(watch_state, zones=...)` per watched frame)
   through every rule and returns the new state and the rules that fired. The state is a pydantic
   model: checkpoint it with `state.dumps()` and continue anywhere with `AlertState.loads(text)`;
   samples at or before the state's `last_at` are ignored, so replaying samples after a take-over
   cannot fire twice. Keep one state per camera (rule ids are unique across users).
3. `await fire_alert(arq=..., rule=..., request_id=..., camera_id=..., firing=...)` for each firing:
   stores the `Alert` (idempotent: `_id` = rule, request and the moment the condition began),
   announces it on the request's stream and on the owner's `alerts` stream, and queues the webhook
   delivery (an arq job) when the owner has a webhook. It does not wait for the webhook.

Rule semantics (`seconds` is T, `threshold` is N):

- OCCUPANCY: N or more people (of `label` when set) for at least T seconds.
- ZONE_EMPTY: nobody in zone `zone_id` for at least T seconds. A sample that does not report the
  zone says nothing about it (so report every zone of the camera, 0 included).
- ENTRIES: N or more entries within the last T seconds (from the cumulative `entries` counter; a
  counter that goes down is taken as restarted).
- CAMERA_UNREADABLE: no readable frame for at least T seconds.

A rule fires once when its condition has held long enough and re-arms only after the condition
clears, so a crowded afternoon is one alert, not one per frame. Unreadable samples say nothing about
people: rules other than CAMERA_UNREADABLE leave their state as it is on them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from arq.connections import ArqRedis
from arq.utils import timestamp_ms
from beanie import PydanticObjectId
from pydantic import BaseModel, Field
from pymongo.errors import DuplicateKeyError

from briefings.events import AlertAnnounced, alerts_topic, queue_announce
from briefings.schedule import WAKE_CHANNEL
from briefings.watch import WatchState
from core.time import as_utc
from documents import Alert, AlertDetails, AlertKind, AlertRule, Webhook, alert_key, doc_id
from documents.transient import retry_transient

log = logging.getLogger("briefing.alerts")

WEBHOOK_FUNCTION = "deliver_webhook"
"""The arq job that POSTs one alert to its owner's webhook (`workers.webhooks`)."""
SIGNATURE_HEADER = "X-Briefing-Signature"
TIMESTAMP_HEADER = "X-Briefing-Timestamp"
ALERT_ID_HEADER = "X-Briefing-Alert"
MAX_WEBHOOK_URL_CHARS = 2048


# --- the evaluator --------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """What the watcher saw on one frame.

    `occupancy` is everyone in view, `by_label` the same per class, `zones` the people per zone id,
    `entries` the cumulative entries through the entrance line. When `readable` is False the frame
    could not be read and the counts mean nothing."""

    at: datetime
    readable: bool = True
    occupancy: int = 0
    by_label: Mapping[str, int] = field(default_factory=dict)
    zones: Mapping[str, int] = field(default_factory=dict)
    entries: int = 0

    @classmethod
    def of_watch(cls, state: WatchState, *, zones: Iterable[str] = ()) -> Sample:
        """The sample of a watched frame. `zones` are the camera's zone ids: each is reported, as 0
        when nobody stands in it (the watcher's state lists occupied zones only)."""
        if state.error is not None:
            return cls(at=state.at, readable=False)
        people_in = {zone: 0 for zone in zones}
        people_in.update({zone: sum(labels.values()) for zone, labels in state.zones.items()})
        return cls(
            at=state.at,
            occupancy=sum(state.counts.values()),
            by_label=dict(state.counts),
            zones=people_in,
            entries=sum(state.entered.values()),
        )


@dataclass(frozen=True)
class RuleSpec:
    """The part of an `AlertRule` the evaluator reads."""

    id: str
    kind: AlertKind
    seconds: int
    threshold: int | None = None
    zone_id: str | None = None
    label: str | None = None

    @classmethod
    def of(cls, rule: AlertRule) -> RuleSpec:
        """The spec of a stored rule."""
        return cls(
            id=str(doc_id(rule)),
            kind=rule.kind,
            seconds=rule.seconds,
            threshold=rule.threshold,
            zone_id=rule.zone_id,
            label=rule.label,
        )

    @property
    def fingerprint(self) -> str:
        """Changes whenever the rule's meaning does: its state then starts afresh."""
        return f"{self.kind}|{self.seconds}|{self.threshold}|{self.zone_id}|{self.label}"


class RuleState(BaseModel):
    """Where one rule stands: since when its condition holds, whether it fired for that, and (ENTRIES)
    the moments the entry counter rose, oldest first, with the counter's value then."""

    fingerprint: str
    since: datetime | None = None
    fired: bool = False
    marks: list[tuple[datetime, int]] = Field(default_factory=list)


class AlertState(BaseModel):
    """The evaluator's state for one camera: every rule's state and the last sample taken in."""

    rules: dict[str, RuleState] = Field(default_factory=dict)
    last_at: datetime | None = None

    def dumps(self) -> str:
        """JSON text, for a checkpoint in Redis."""
        return self.model_dump_json()

    @classmethod
    def loads(cls, text: str | bytes) -> AlertState:
        """The state a checkpoint holds (raises ValueError when it is not one)."""
        return cls.model_validate_json(text)


@dataclass(frozen=True)
class Firing:
    """A rule whose condition has held long enough: `since` it began, fired `at` the sample that
    completed it, with what was `observed` then (people, people in the zone, entries in the window)."""

    rule_id: str
    kind: AlertKind
    since: datetime
    at: datetime
    observed: int | None


@dataclass(frozen=True)
class Evaluation:
    """What `evaluate` returns: the state to keep and the rules that fired, in sample order."""

    state: AlertState
    firings: list[Firing]


def evaluate(*, rules: Sequence[RuleSpec], samples: Sequence[Sample], state: AlertState) -> Evaluation:
    """Feed `samples` (oldest first) through `rules`, starting from `state` (which is not changed).

    Rules that are no longer given lose their state; a rule whose settings changed starts afresh."""
    states = {rule.id: _carried(state.rules.get(rule.id), rule) for rule in rules}  # copies: `state` stays as is
    last_at = state.last_at
    firings: list[Firing] = []
    for sample in sorted(samples, key=lambda s: as_utc(s.at)):
        at = as_utc(sample.at)
        if last_at is not None and at <= last_at:
            continue
        last_at = at
        for rule in rules:
            fired = _STEPS[rule.kind](rule, states[rule.id], sample, at)
            if fired is not None:
                firings.append(fired)
    return Evaluation(state=AlertState(rules=states, last_at=last_at), firings=firings)


def _carried(previous: RuleState | None, rule: RuleSpec) -> RuleState:
    if previous is None or previous.fingerprint != rule.fingerprint:
        return RuleState(fingerprint=rule.fingerprint)
    return previous.model_copy(deep=True)


def _held(rule: RuleSpec, state: RuleState, *, holds: bool, at: datetime, observed: int | None) -> Firing | None:
    """The common rule: fire once when `holds` has been true for `rule.seconds`; re-arm when it is false."""
    if not holds:
        state.since, state.fired = None, False
        return None
    if state.since is None:
        state.since = at
    if state.fired or at - state.since < timedelta(seconds=rule.seconds):
        return None
    state.fired = True
    return Firing(rule_id=rule.id, kind=rule.kind, since=state.since, at=at, observed=observed)


def _occupancy(rule: RuleSpec, state: RuleState, sample: Sample, at: datetime) -> Firing | None:
    if not sample.readable:
        return None
    people = sample.occupancy if rule.label is None else sample.by_label.get(rule.label, 0)
    return _held(rule, state, holds=people >= (rule.threshold or 1), at=at, observed=people)


def _zone_empty(rule: RuleSpec, state: RuleState, sample: Sample, at: datetime) -> Firing | None:
    if not sample.readable or rule.zone_id is None or rule.zone_id not in sample.zones:
        return None
    people = sample.zones[rule.zone_id]
    return _held(rule, state, holds=people == 0, at=at, observed=people)


def _unreadable(rule: RuleSpec, state: RuleState, sample: Sample, at: datetime) -> Firing | None:
    return _held(rule, state, holds=not sample.readable, at=at, observed=None)


def _entries(rule: RuleSpec, state: RuleState, sample: Sample, at: datetime) -> Firing | None:
    if not sample.readable:
        return None
    threshold = rule.threshold or 1
    marks = state.marks
    if not marks or sample.entries < marks[-1][1]:
        marks[:] = [(at, sample.entries)]  # the first sample, or a counter that restarted: a baseline
    elif sample.entries > marks[-1][1]:
        marks.append((at, sample.entries))
    window_start = at - timedelta(seconds=rule.seconds)
    while len(marks) >= 2 and marks[1][0] <= window_start:
        del marks[0]  # the newest mark at or before the window's start stays: it is the baseline
    if len(marks) > threshold + 2:
        del marks[: len(marks) - threshold - 2]  # N+1 rises within the window already make N entries
    entered = sample.entries - marks[0][1]
    if entered < threshold:
        state.since, state.fired = None, False
        return None
    if state.fired:
        return None
    state.since, state.fired = at, True
    return Firing(rule_id=rule.id, kind=rule.kind, since=at, at=at, observed=entered)


_STEPS = {
    AlertKind.OCCUPANCY: _occupancy,
    AlertKind.ZONE_EMPTY: _zone_empty,
    AlertKind.ENTRIES: _entries,
    AlertKind.CAMERA_UNREADABLE: _unreadable,
}


# --- rules and messages ---------------------------------------------------------------------


async def rules_for(*, owner_id: PydanticObjectId, camera_id: str) -> list[AlertRule]:
    """The owner's enabled rules that apply to the camera (its own and those for every camera)."""
    rules = await AlertRule.find(AlertRule.owner_id == owner_id).to_list()
    return [rule for rule in rules if rule.enabled and rule.camera_id in (None, camera_id)]


def duration_text(seconds: int) -> str:
    """`90` → `1분 30초`, `3600` → `1시간`: a duration as a caption says it."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{value}{unit}" for value, unit in ((hours, "시간"), (minutes, "분"), (secs, "초")) if value]
    return " ".join(parts) or "0초"


def alert_message(*, rule: AlertRule, camera_id: str, observed: int | None) -> str:
    """What the alert says (Korean, like the captions)."""
    span = duration_text(rule.seconds)
    who = "사람" if rule.label is None else rule.label
    messages = {
        AlertKind.OCCUPANCY: f"[{camera_id}] {who} {observed}명: {rule.threshold}명 이상이 {span} 동안 계속되었습니다.",
        AlertKind.ZONE_EMPTY: f"[{camera_id}] {rule.zone_id} 구역이 {span} 동안 비어 있습니다.",
        AlertKind.ENTRIES: f"[{camera_id}] 최근 {span} 동안 {observed}명이 들어왔습니다 (기준 {rule.threshold}명).",
        AlertKind.CAMERA_UNREADABLE: f"[{camera_id}] 카메라 영상을 {span} 동안 읽지 못했습니다.",
    }
    return messages[rule.kind]


# --- firing ---------------------------------------------------------------------------------


async def fire_alert(
    *, arq: ArqRedis, rule: AlertRule, request_id: PydanticObjectId, camera_id: str, firing: Firing
) -> Alert:
    """Store the firing as an `Alert`, announce it, queue its webhook delivery; returns the alert.

    Idempotent: the same firing (rule, request, `firing.since`) is stored once, and announced once
    it is stored; calling again after a failure (store or Redis, which raise) finishes the job.
    The webhook is only queued (arq job `deliver_webhook`), never awaited."""
    alert = Alert(
        id=alert_key(rule_id=firing.rule_id, request_id=str(request_id), since=firing.since),
        owner_id=rule.owner_id,
        rule_id=doc_id(rule),
        request_id=request_id,
        camera_id=camera_id,
        kind=rule.kind,
        since=as_utc(firing.since),
        fired_at=as_utc(firing.at),
        message=alert_message(rule=rule, camera_id=camera_id, observed=firing.observed),
        details=AlertDetails(
            observed=firing.observed,
            threshold=rule.threshold,
            seconds=rule.seconds,
            zone_id=rule.zone_id,
            label=rule.label,
        ),
    )
    stored = await _store_once(alert)
    if not stored.announced:
        await _announce(arq=arq, alert=stored)
    return stored


async def _store_once(alert: Alert) -> Alert:
    try:
        await retry_transient(alert.insert, what="store an alert")
    except DuplicateKeyError:
        existing = await Alert.get(str(alert.id))
        if existing is not None:
            return existing
        raise
    return alert


async def _announce(*, arq: ArqRedis, alert: Alert) -> None:
    """Put the stored alert on both streams and queue its webhook delivery, in one round trip."""
    key = str(alert.id)
    has_webhook = await Webhook.get(alert.owner_id) is not None
    event = AlertAnnounced.of(alert)
    async with arq.pipeline(transaction=False) as pipe:
        queue_announce(pipe=pipe, request_id=str(alert.request_id), event=event)
        queue_announce(pipe=pipe, request_id=alerts_topic(user_id=str(alert.owner_id)), event=event)
        await pipe.execute()
    if has_webhook:
        await arq.enqueue_job(WEBHOOK_FUNCTION, key, _job_id=webhook_job_id(alert_id=key))
        await arq.publish(WAKE_CHANNEL, str(timestamp_ms()))  # a sleeping worker picks it up now
    await retry_transient(
        lambda: Alert.find_one(Alert.id == key).update({"$set": {"announced": True}}), what="mark an alert announced"
    )
    alert.announced = True
    log.info("alert %s fired (%s, camera %s)", key, alert.kind, alert.camera_id)


def webhook_job_id(*, alert_id: str) -> str:
    """The arq job id of an alert's webhook delivery (one queued per alert at a time)."""
    return f"webhook:{alert_id}"


# --- webhooks -------------------------------------------------------------------------------


class WebhookUrlError(ValueError):
    """A webhook URL that is refused; the message says why (and never repeats credentials)."""


def check_webhook_url(url: str) -> str:
    """The URL, trimmed, if it can be a webhook: http(s), a host, no user info, at most 2048 characters."""
    cleaned = url.strip()
    if not cleaned:
        raise WebhookUrlError("The webhook URL is empty")
    if len(cleaned) > MAX_WEBHOOK_URL_CHARS:
        raise WebhookUrlError(f"The webhook URL is longer than {MAX_WEBHOOK_URL_CHARS} characters")
    if any(char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F for char in cleaned):
        raise WebhookUrlError("The webhook URL contains spaces or control characters")
    try:
        parts = urlsplit(cleaned)
        port = parts.port
    except ValueError:
        raise WebhookUrlError("The webhook URL is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise WebhookUrlError("The webhook URL must start with http:// or https://")
    if "@" in parts.netloc:
        raise WebhookUrlError("The webhook URL must not contain a user name or password")
    if not parts.hostname or (port is not None and port == 0):
        raise WebhookUrlError("The webhook URL has no host")
    return cleaned


def redacted_url(url: str) -> str:
    """`scheme://host[:port]` of a URL: what logs may show of a webhook (paths and queries may hold tokens)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid url>"
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    return f"{parts.scheme}://{host}{port}"


def webhook_body(alert: Alert) -> bytes:
    """The JSON body POSTed for an alert (compact, UTF-8, keys in camelCase like the API)."""
    payload = {
        "type": "alert",
        "alert": {
            "id": str(alert.id),
            "kind": alert.kind.value,
            "ruleId": str(alert.rule_id),
            "requestId": str(alert.request_id),
            "cameraId": alert.camera_id,
            "since": as_utc(alert.since).isoformat(),
            "firedAt": as_utc(alert.fired_at).isoformat(),
            "message": alert.message,
            "observed": alert.details.observed,
            "threshold": alert.details.threshold,
            "seconds": alert.details.seconds,
            "zoneId": alert.details.zone_id,
            "label": alert.details.label,
        },
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 with the user's secret over `<timestamp>.` followed by the body."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"
