"""Where ticks sit in time, and how they are put on the arq queue.

Tick `k` of a request is due at `starts_at + (k-1)·interval`, computed from the start and never from
the last run, so a slow tick does not push every later one back. Its arq job id is
`tick:<request>:<k>`, which makes enqueueing idempotent: the chain, a re-run and the reconciler may
all ask for the same tick and arq keeps one.

Ticks are queued in batches with one Redis call (a script that does, per tick, what arq's
`enqueue_job` does: skip a job id that exists or has a result, else store the job and add it to the
queue), which also remembers each request's next tick and tells sleeping workers on `WAKE_CHANNEL`
when the earliest new job is due.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from arq.connections import ArqRedis
from arq.constants import (
    default_queue_name,
    health_check_key_suffix,
    in_progress_key_prefix,
    job_key_prefix,
    result_key_prefix,
)
from arq.jobs import serialize_job
from arq.utils import timestamp_ms, to_unix_ms
from redis.asyncio.client import Pipeline

from core.time import as_utc, utcnow
from documents import BriefingRequest

TICK_FUNCTION = "tick"
WAKE_CHANNEL = "briefing:wake"
"""Pub/sub channel: the due time (Unix ms) of the earliest job just queued."""
WORKER_HEALTH_KEY = default_queue_name + health_check_key_suffix
"""arq's heartbeat key: every worker rewrites it every `WORKER_HEALTH_INTERVAL_SECONDS`, for
`WORKER_HEALTH_TTL_SECONDS` (`workers.runner`), and deletes it when it stops."""
WORKER_HEALTH_INTERVAL_SECONDS = 5.0
WORKER_HEALTH_TTL_SECONDS = 15.0

_FIELDS_PER_JOB = 6
_ENQUEUE_SCRIPT = """
local queue, channel, job_prefix, result_prefix = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local added, earliest, earliest_text = {}, nil, nil
for i = 5, #ARGV, 6 do
  local job_id, job, score, expires, next_key, next_ttl =
    ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
  redis.call('SET', next_key, string.match(job_id, ':(%d+)$'), 'EX', next_ttl)
  if redis.call('EXISTS', job_prefix .. job_id, result_prefix .. job_id) == 0 then
    redis.call('PSETEX', job_prefix .. job_id, expires, job)
    redis.call('ZADD', queue, score, job_id)
    added[#added + 1] = 1
    if earliest == nil or score < earliest then earliest, earliest_text = score, ARGV[i + 2] end
  else
    added[#added + 1] = 0
  end
end
if earliest ~= nil then redis.call('PUBLISH', channel, earliest_text) end
return added
"""


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
    return (await enqueue_ticks(arq=arq, ticks=[(request, seq)]))[0]


async def enqueue_ticks(
    *, arq: ArqRedis, ticks: Sequence[tuple[BriefingRequest, int]], pipe: Pipeline | None = None
) -> list[bool]:
    """Queue many ticks in one Redis call; True for each tick that was not queued yet.

    With `pipe`, the call is only added to that pipeline (its result is then the pipeline's) and
    an empty list is returned."""
    if not ticks:
        return []
    now_ms = timestamp_ms()
    now = utcnow()
    args: list[str | bytes | int] = [default_queue_name, WAKE_CHANNEL, job_key_prefix, result_key_prefix]
    for request, seq in ticks:
        request_id = str(request.id)
        score = to_unix_ms(min(due_at(request=request, seq=seq), as_utc(request.ends_at)))
        job = serialize_job(TICK_FUNCTION, (request_id, seq), {}, None, now_ms, serializer=arq.job_serializer)
        next_ttl = max(60, int((as_utc(request.ends_at) - now).total_seconds()) + 3600)
        args += [
            tick_job_id(request_id=request_id, seq=seq),
            job,
            score,
            max(1, score - now_ms) + arq.expires_extra_ms,
            next_tick_key(request_id=request_id),
            next_ttl,
        ]
    if pipe is not None:
        pipe.eval(_ENQUEUE_SCRIPT, 0, *args)  # type: ignore[arg-type]  # redis-py encodes bytes and ints too
        return []
    added = await arq.eval(_ENQUEUE_SCRIPT, 0, *args)  # type: ignore[arg-type,misc]
    return [bool(flag) for flag in added]


def next_tick_key(*, request_id: str) -> str:
    """Redis key remembering which tick a request's chain expects next (lost with Redis, then
    the reconciler falls back to the store)."""
    return f"briefing:next:{request_id}"


async def expected_ticks(*, arq: ArqRedis, request_ids: Sequence[str]) -> list[int | None]:
    """The tick each request's chain expects next, where Redis still remembers it (one round trip)."""
    if not request_ids:
        return []
    values = await arq.mget([next_tick_key(request_id=request_id) for request_id in request_ids])
    return [int(value) if value is not None else None for value in values]


async def ticks_pending(*, arq: ArqRedis, ticks: Sequence[tuple[str, int]]) -> list[bool]:
    """For each (request id, seq): whether that tick is queued or being run by some worker."""
    if not ticks:
        return []
    async with arq.pipeline(transaction=False) as pipe:
        for request_id, seq in ticks:
            job_id = tick_job_id(request_id=request_id, seq=seq)
            pipe.exists(job_key_prefix + job_id, in_progress_key_prefix + job_id)
        found = await pipe.execute()
    return [bool(count) for count in found]


async def worker_alive(*, arq: ArqRedis) -> bool:
    """Whether some worker's heartbeat is fresh (one that stopped cleanly is gone at once, one that died
    at most `WORKER_HEALTH_TTL_SECONDS` later)."""
    return bool(await arq.exists(WORKER_HEALTH_KEY))
