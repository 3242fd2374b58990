"""Starting and ending briefing requests: the only code that changes a request's status.

A user has at most one running request: `User.active_request_id` is swapped atomically when a
request starts, and whatever it pointed to before is ended as REPLACED. Every end is a conditional
update from ACTIVE, so two enders (the user, the end time, a replacement) never both win, and the
`ended` event is announced once, after the store says so.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from arq.connections import ArqRedis
from beanie import PydanticObjectId
from pymongo import ReturnDocument
from redis.exceptions import RedisError

from briefings.events import EndAnnounced, queue_announce
from briefings.schedule import enqueue_tick
from core.time import as_utc, local_name, utcnow
from documents import BriefingRequest, EndReason, RequestStatus, User, doc_id
from documents.transient import retry_transient

log = logging.getLogger("briefing.lifecycle")


def ended_key(*, request_id: str) -> str:
    """Redis key set when a request ends (its value is the reason)."""
    return f"briefing:ended:{request_id}"


async def start_request(
    *, arq: ArqRedis, user: User, interval: int, endtime: str, ends_at: datetime, camera_id: str, tz: ZoneInfo
) -> BriefingRequest:
    """Store a new ACTIVE request, end the user's previous one (REPLACED) and schedule tick 1."""
    now = utcnow()
    request = BriefingRequest(
        owner_id=doc_id(user),
        name=local_name(moment=now, tz=tz),
        interval=interval,
        endtime=endtime,
        starts_at=now,
        ends_at=ends_at,
        camera_id=camera_id,
        keyed=True,
    )
    await retry_transient(request.insert, what="store a request")
    before = await retry_transient(
        lambda: User.get_pymongo_collection().find_one_and_update(
            {"_id": user.id}, {"$set": {"active_request_id": request.id}}, return_document=ReturnDocument.BEFORE
        ),
        what="swap the active request",
    )
    previous = (before or {}).get("active_request_id")
    if previous is not None and previous != request.id:
        await end_request(
            redis=arq, request_id=PydanticObjectId(previous), status=RequestStatus.ENDED, reason=EndReason.REPLACED
        )
    try:
        await enqueue_tick(arq=arq, request=request, seq=1)
    except (RedisError, OSError):
        await end_request(
            redis=arq,
            request_id=doc_id(request),
            status=RequestStatus.FAILED,
            reason=EndReason.FAILED,
        )
        raise
    return request


async def end_request(
    *, redis: ArqRedis, request_id: PydanticObjectId, status: RequestStatus, reason: EndReason
) -> BriefingRequest | None:
    """End an ACTIVE request; None when it had already ended (someone else won)."""
    raw = await retry_transient(
        lambda: BriefingRequest.get_pymongo_collection().find_one_and_update(
            {"_id": request_id, "status": RequestStatus.ACTIVE.value},
            {"$set": {"status": status.value, "end_reason": reason.value, "ended_at": utcnow()}},
            return_document=ReturnDocument.AFTER,
        ),
        what="end a request",
    )
    if raw is None:
        return None
    ended: BriefingRequest = BriefingRequest.model_validate(raw)
    await retry_transient(
        lambda: User.get_pymongo_collection().update_one(
            {"_id": ended.owner_id, "active_request_id": request_id}, {"$set": {"active_request_id": None}}
        ),
        what="clear the active request",
    )
    try:
        async with redis.pipeline(transaction=False) as pipe:
            # The flag lets workers, which cache running requests, stop ticking without a store read.
            # It outlives every tick still queued (none is due after the end time).
            flag_ttl = max(3600, int((as_utc(ended.ends_at) - utcnow()).total_seconds()) + 3600)
            pipe.set(ended_key(request_id=str(request_id)), reason.value, ex=flag_ttl)
            queue_announce(pipe=pipe, request_id=str(request_id), event=EndAnnounced(reason=reason))
            await pipe.execute()
    except (RedisError, OSError) as error:
        # Subscribers re-read the store when their stream resumes, so the end still reaches them.
        log.warning("could not announce the end of %s: %s", request_id, error)
    return ended


async def expire_request(*, redis: ArqRedis, request: BriefingRequest) -> BriefingRequest | None:
    """End an ACTIVE request whose end time has come (REACHED_ENDTIME)."""
    return await end_request(
        redis=redis, request_id=doc_id(request), status=RequestStatus.EXPIRED, reason=EndReason.REACHED_ENDTIME
    )
