"""Puts lost ticks back: every active request must have its next tick queued or running.

Redis carries only jobs; MongoDB knows which requests are active and which tick comes next (the
one after the last stored `seq`). After a Redis wipe, a lost job or a crash between two steps of a tick, this restores
the chain; a restored tick that is late skips forward to the current slot by itself.
"""

from __future__ import annotations

import logging

from arq.connections import ArqRedis
from beanie import PydanticObjectId

from briefings.lifecycle import expire_request
from briefings.schedule import enqueue_tick, expected_tick, tick_pending
from core.time import as_utc, utcnow
from documents import Briefing, BriefingRequest, RequestStatus, doc_id

log = logging.getLogger("briefing.reconcile")


async def reconcile(*, arq: ArqRedis) -> int:
    """Re-enqueue the next tick of every active request that has none; returns how many."""
    restored = 0
    now = utcnow()
    async for request in BriefingRequest.find(BriefingRequest.status == RequestStatus.ACTIVE):
        if as_utc(request.ends_at) <= now:
            await expire_request(redis=arq, request=request)
            continue
        following = await expected_tick(arq=arq, request_id=str(request.id))
        if following is None:  # Redis lost it: the tick after the last stored one
            following = await _next_seq(request_id=doc_id(request))
        if await tick_pending(arq=arq, request_id=str(request.id), seq=following):
            continue
        if await enqueue_tick(arq=arq, request=request, seq=following):
            restored += 1
    if restored:
        log.warning("reconciler restored %d tick(s)", restored)
    return restored


async def _next_seq(*, request_id: PydanticObjectId) -> int:
    last = await Briefing.find(Briefing.request_id == request_id).sort("-seq").limit(1).to_list()
    return last[0].seq + 1 if last else 1
