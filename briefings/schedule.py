"""Where ticks sit in time, and how they are put on the arq queue.

Tick `k` of a request is due at `starts_at + (k-1)·interval`, computed from the start and never from
the last run, so a slow tick does not push every later one back. Its arq job id is
`tick:<request>:<k>`, which makes enqueueing idempotent: the chain, a re-run and the reconciler may
all ask for the same tick and arq keeps one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix, job_key_prefix

from core.time import as_utc, utcnow
from documents import BriefingRequest

TICK_FUNCTION = "tick"


def tick_job_id(*, request_id: str, seq: int) -> str:
    """The arq job id of one tick."""
    return f"tick:{request_id}:{seq}"


def due_at(*, request: BriefingRequest, seq: int) -> datetime:
    """When tick `seq` is due (aware UTC)."""
    return as_utc(request.starts_at) + timedelta(seconds=request.interval * (seq - 1))


def current_slot(*, request: BriefingRequest, now: datetime) -> int:
    """The tick whose slot contains `now` (1 before the start)."""
    elapsed = (now - as_utc(request.starts_at)).total_seconds()
    return max(1, int(elapsed // request.interval) + 1)


async def enqueue_tick(*, arq: ArqRedis, request: BriefingRequest, seq: int) -> bool:
    """Put tick `seq` on the queue at its due time (or at the end time, to close the request
    promptly). Returns False when that tick is already queued or running."""
    due = min(due_at(request=request, seq=seq), as_utc(request.ends_at))
    job = await arq.enqueue_job(
        TICK_FUNCTION, str(request.id), seq, _job_id=tick_job_id(request_id=str(request.id), seq=seq), _defer_until=due
    )
    ttl = max(60, int((as_utc(request.ends_at) - utcnow()).total_seconds()) + 3600)
    await arq.set(next_tick_key(request_id=str(request.id)), seq, ex=ttl)
    return job is not None


def next_tick_key(*, request_id: str) -> str:
    """Redis key remembering which tick a request's chain expects next (lost with Redis, then
    the reconciler falls back to the store)."""
    return f"briefing:next:{request_id}"


async def expected_tick(*, arq: ArqRedis, request_id: str) -> int | None:
    """The tick the chain expects next, if Redis still remembers it."""
    value = await arq.get(next_tick_key(request_id=request_id))
    return int(value) if value is not None else None


async def tick_pending(*, arq: ArqRedis, request_id: str, seq: int) -> bool:
    """Whether tick `seq` is queued or being run by some worker."""
    job_id = tick_job_id(request_id=request_id, seq=seq)
    return bool(await arq.exists(job_key_prefix + job_id, in_progress_key_prefix + job_id))
