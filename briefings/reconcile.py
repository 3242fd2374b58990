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
from briefings.schedule import enqueue_ticks, expected_ticks, ticks_pending
from core.time import as_utc, utcnow
from documents import Briefing, BriefingRequest, RequestStatus, doc_id

log = logging.getLogger("briefing.reconcile")


async def reconcile(*, arq: ArqRedis) -> int:
    """Re-enqueue the next tick of every active request that has none; returns how many.

    A few round trips whatever the number of requests (one read of the active requests, one MGET,
    one pipeline of EXISTS, one enqueue), so a worker running hundreds of briefings does not stall
    its ticks every reconcile period."""
    now = utcnow()
    live: list[BriefingRequest] = []
    async for request in BriefingRequest.find(BriefingRequest.status == RequestStatus.ACTIVE):
        if as_utc(request.ends_at) <= now:
            await expire_request(redis=arq, request=request)
        else:
            live.append(request)
    remembered = await expected_ticks(arq=arq, request_ids=[str(r.id) for r in live])
    following = [
        seq if seq is not None else await _next_seq(request_id=doc_id(r))  # Redis lost it: after the last stored
        for r, seq in zip(live, remembered, strict=True)
    ]
    pending = await ticks_pending(arq=arq, ticks=[(str(r.id), seq) for r, seq in zip(live, following, strict=True)])
    missing = [(r, seq) for r, seq, busy in zip(live, following, pending, strict=True) if not busy]
    restored = sum(await enqueue_ticks(arq=arq, ticks=missing))
    if restored:
        log.warning("reconciler restored %d tick(s)", restored)
    return restored


async def _next_seq(*, request_id: PydanticObjectId) -> int:
    last = await Briefing.find(Briefing.request_id == request_id).sort("-seq").limit(1).to_list()
    return last[0].seq + 1 if last else 1
