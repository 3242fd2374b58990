"""Briefings: start one, end it, and stream a request's events without gap or duplicate.

A stream registers with the process's event hub first, replays the store after the client's last
`seq`, then tails the live events, dropping any `seq` it has already sent. Anything announced
after registration reaches the queue; anything announced before is already stored.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from beanie import PydanticObjectId
from redis.exceptions import RedisError

from briefings.events import RESYNC, AlertAnnounced, BriefingAnnounced, EndAnnounced, Inbound
from briefings.lifecycle import end_request, start_request
from core import logs, metrics
from core.events import Overflow, Subscription
from core.leases import LeaseLimitReached
from core.quoting import quoted
from core.time import EndtimeError, parse_endtime, utcnow
from documents import Alert, Briefing, BriefingRequest, EndReason, RequestStatus, User, doc_id, get_by_id
from resolvers.context import Context
from resolvers.errors import CodedError, ErrorCode, bad_input, not_found, rate_limited
from resolvers.history import briefings_of

log = logging.getLogger("briefing.streams")

MAX_INTERVAL_SECONDS = 86_400
ENDED_MESSAGE = "브리핑 성공적으로 종료"
SLOW_CONSUMER_CLOSE = 4413
QUIET_JITTER_SECONDS = 5.0


@dataclass(frozen=True)
class Started:
    """The first event of `briefing`: the request that was created."""

    request: BriefingRequest


@dataclass(frozen=True)
class Ended:
    """The last event of a stream: the request in its final state and why it ended."""

    request: BriefingRequest
    reason: EndReason


Event = Started | Briefing | Alert | Ended
"""What a request's stream yields; alerts are live only (`alerts(requestId)` lists the stored ones)."""


def validate_start(*, ctx: Context, interval: int, endtime: str, camera_id: str) -> datetime:
    """Check a `briefing` call before anything is stored; returns the resolved end moment."""
    settings = ctx.services.settings
    if not settings.min_interval_seconds <= interval <= MAX_INTERVAL_SECONDS:
        raise bad_input(
            f"interval must be between {settings.min_interval_seconds} and {MAX_INTERVAL_SECONDS} seconds",
            field="interval",
        )
    if camera_id not in ctx.services.cameras:
        raise bad_input(f"Unknown camera {quoted(camera_id)}; the `cameras` query lists them", field="cameraId")
    try:
        return parse_endtime(
            text=endtime, now=utcnow(), tz=settings.tz, max_ahead=timedelta(hours=settings.max_duration_hours)
        )
    except EndtimeError as error:
        raise bad_input(str(error), field="endtime") from None


async def start_briefing(*, ctx: Context, user: User, interval: int, endtime: str, camera_id: str) -> BriefingRequest:
    """Validate, end the user's running request (REPLACED), store the new one and schedule it."""
    ends_at = validate_start(ctx=ctx, interval=interval, endtime=endtime, camera_id=camera_id)
    try:
        return await start_request(
            arq=ctx.services.redis,
            user=user,
            interval=interval,
            endtime=endtime.strip(),
            ends_at=ends_at,
            camera_id=camera_id,
            tz=ctx.services.settings.tz,
        )
    except (RedisError, OSError):
        raise CodedError("The scheduler is unavailable; try again shortly", code=ErrorCode.INTERNAL) from None


async def end_briefing(*, ctx: Context, user: User) -> str:
    """Stop the user's running briefing at once; NOT_FOUND when none runs."""
    fresh = await User.get(doc_id(user))
    active_id = fresh.active_request_id if fresh is not None else None
    ended = None
    if active_id is not None:
        ended = await end_request(
            redis=ctx.services.redis, request_id=active_id, status=RequestStatus.ENDED, reason=EndReason.ENDED_BY_USER
        )
    if ended is None:
        raise CodedError("No briefing is running", code=ErrorCode.NOT_FOUND)
    return ENDED_MESSAGE


async def latest_request(*, user: User) -> BriefingRequest:
    """The user's newest request (what `reloadBriefing` follows): the running one by its id when there
    is one (a primary-key read, cheap in a reconnect storm), else the newest by creation time."""
    if user.active_request_id is not None:
        running = await get_by_id(BriefingRequest, user.active_request_id)
        if running is not None and running.status == RequestStatus.ACTIVE:  # `user` may predate a newer one
            return running
    query = BriefingRequest.find(BriefingRequest.owner_id == user.id).sort(-BriefingRequest.created_at)  # type: ignore[operator]
    found = await query.limit(1).to_list()
    if not found:
        raise not_found("Briefing request")
    return found[0]


@contextlib.asynccontextmanager
async def subscription_slot(*, ctx: Context, user: User) -> AsyncIterator[None]:
    """Hold one of the user's subscription leases for the duration of a stream."""
    leases = ctx.services.leases
    try:
        member = await leases.acquire(user_id=str(user.id))
    except LeaseLimitReached as refused:
        raise rate_limited(f"At most {refused.limit} open subscriptions per user", retry_after=1) from None
    metrics.OPEN_SUBSCRIPTIONS.inc()
    try:
        yield
    finally:
        metrics.OPEN_SUBSCRIPTIONS.dec()
        await leases.release(user_id=str(user.id), member=member)


def start_and_follow(*, ctx: Context, user: User, interval: int, endtime: str, camera_id: str) -> AsyncIterator[Event]:
    """`briefing`: take one of the user's subscription slots, then start a briefing and follow it.

    The slot comes first: a user who already holds `max_subscriptions_per_user` is refused
    (RATE_LIMITED) before anything is stored, so the running request is not ended and no tick queued."""

    async def start() -> BriefingRequest:
        return await start_briefing(ctx=ctx, user=user, interval=interval, endtime=endtime, camera_id=camera_id)

    return _stream(ctx=ctx, user=user, open_request=start, after=0, started=True)


def follow_request(
    *, ctx: Context, user: User, request: BriefingRequest, after: int, started: bool
) -> AsyncIterator[Event]:
    """Every event of a request after `after`: (Started,) stored briefings, live ones, then Ended."""

    async def given() -> BriefingRequest:
        return request

    return _stream(ctx=ctx, user=user, open_request=given, after=after, started=started)


async def _stream(
    *,
    ctx: Context,
    user: User,
    open_request: Callable[[], Awaitable[BriefingRequest]],
    after: int,
    started: bool,
) -> AsyncIterator[Event]:
    """With one of the user's subscription slots held: open the request, register with the hub, then
    (Started,) stored briefings, live ones and Ended."""
    services = ctx.services
    async with subscription_slot(ctx=ctx, user=user):
        async with services.openings:  # a few streams open at once; the others wait their turn
            request = await open_request()
            logs.bind(briefing_request_id=str(request.id))
            sub = await services.hub.subscribe(str(request.id))
            try:
                replayed = await briefings_of(request=request, after_seq=after)
            except BaseException:
                services.hub.unsubscribe(sub)
                raise
        try:
            if started:
                yield Started(request=request)
                metrics.DELIVERED["started"].inc()
            async for event in _events(sub=sub, request=request, after=after, replayed=replayed):
                yield event
                metrics.DELIVERED[type(event).__name__.lower()].inc()  # briefing, ended
        except Overflow:
            await _close_slow_consumer(ctx)
        finally:
            services.hub.unsubscribe(sub)


async def _events(
    *, sub: Subscription[Inbound], request: BriefingRequest, after: int, replayed: list[Briefing]
) -> AsyncIterator[Event]:
    """`replayed` (the stored briefings after `after`, read once registered), then live events,
    re-reading the store after silence or a lost connection, then Ended."""
    last = after
    stored: list[Briefing] | None = replayed
    request_id: PydanticObjectId = request.id  # type: ignore[assignment]
    # silence this long re-reads the store; jittered so that the subscribers of a request whose worker
    # died do not all re-read at the same moment
    quiet = float(request.interval) + 5.0 + random.uniform(0.0, QUIET_JITTER_SECONDS)
    while True:
        for briefing in stored if stored is not None else await briefings_of(request=request, after_seq=last):
            yield briefing
            last = briefing.seq
        stored = None
        current = await get_by_id(BriefingRequest, request_id)
        if current is None or current.status != RequestStatus.ACTIVE:
            async for tail in _finish(last=last, current=current or request):
                yield tail
            return
        del current  # not held while the stream waits: an idle subscription keeps as little as it can
        while True:
            event = await sub.get(wait=quiet)
            if event is None or event is RESYNC:
                break  # silence or a lost connection: re-read the store, then carry on
            if isinstance(event, BriefingAnnounced) and event.seq > last:
                yield event.document
                last = event.seq
            elif isinstance(event, AlertAnnounced):
                yield event.document
            elif isinstance(event, EndAnnounced):
                current = await get_by_id(BriefingRequest, request_id)
                async for tail in _finish(last=last, current=current or request):
                    yield tail
                return


async def _finish(*, last: int, current: BriefingRequest) -> AsyncIterator[Event]:
    for briefing in await briefings_of(request=current, after_seq=last):
        yield briefing
    yield Ended(request=current, reason=current.end_reason or EndReason.FAILED)


async def _close_slow_consumer(ctx: Context) -> None:
    socket = ctx.request
    reason = "Subscriber too slow: events were not read in time; resubscribe with reloadBriefing(after)"
    log.warning("closing a slow subscriber")
    metrics.SLOW_CONSUMER_CLOSES.inc()
    with contextlib.suppress(Exception):
        await socket.close(code=SLOW_CONSUMER_CLOSE, reason=reason)
