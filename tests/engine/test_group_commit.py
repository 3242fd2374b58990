"""Group commit on the tick path and a worker that sleeps until work is due, against the session's
real FerretDB and Redis (in-process arq pool and worker)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from arq import create_pool, func
from arq.connections import ArqRedis, RedisSettings
from pymongo import AsyncMongoClient, monitoring

from briefings.lifecycle import end_request
from briefings.schedule import TICK_FUNCTION, enqueue_tick, enqueue_ticks, expected_ticks
from briefings.tickstore import TickStore
from core.settings import Settings
from core.time import utcnow
from devtools.services import start_redis
from documents import Briefing, BriefingRequest, EndReason, RequestStatus, User, briefing_key, connect_documents
from workers.runner import build_worker


@pytest_asyncio.fixture
async def arq(mongo_url: str, redis_url: str) -> AsyncIterator[ArqRedis]:
    """An arq pool on the test Redis, with Beanie initialised on the test store."""
    mongo: AsyncMongoClient[dict[str, object]] = await connect_documents(mongodb_uri=mongo_url)
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    yield pool
    await pool.aclose()
    await mongo.close()


async def _requests(count: int, *, interval: int = 1) -> list[BriefingRequest]:
    owner = User(username=f"group-{count}", password_hash="-")
    await owner.insert()
    now = utcnow()
    made = [
        BriefingRequest(
            owner_id=owner.id,
            name=f"r{i}",
            interval=interval,
            endtime="23:59",
            starts_at=now,
            ends_at=now + timedelta(hours=1),
            camera_id="demo",
        )
        for i in range(count)
    ]
    for request in made:
        await request.insert()
    return made


def _briefing(request: BriefingRequest, seq: int, caption: str) -> Briefing:
    return Briefing(
        id=briefing_key(request_id=request.id, seq=seq),  # type: ignore[arg-type]
        request_id=request.id,
        seq=seq,
        captured_at=utcnow(),
        caption=caption,
    )


@pytest.mark.asyncio
async def test_a_batch_of_inserts_keeps_a_retried_briefing_and_stores_the_others(arq: ArqRedis) -> None:
    # given three running requests, the first of which already stored tick 1 (its job runs again)
    first, second, third = await _requests(3)
    await _briefing(first, 1, "stored by the first run").insert()
    store = TickStore(arq=arq, window=0.05, ttl=10)
    # when the ticks of the same moment insert together
    results = await asyncio.gather(
        store.insert(_briefing(first, 1, "the re-run")),
        store.insert(_briefing(second, 1, "second")),
        store.insert(_briefing(third, 1, "third")),
    )
    # then the retry gets the briefing stored first, and the others are stored once each
    assert [r.caption if r else None for r in results] == ["stored by the first run", "second", "third"]
    assert await Briefing.find_all().count() == 3


@pytest.mark.asyncio
async def test_visitors_counted_together_go_out_in_one_write_and_add_up_per_request(
    arq: ArqRedis, mongo_url: str
) -> None:
    # given two requests watching the same camera, and a store client whose update commands are counted
    updates: list[int] = []

    class Updates(monitoring.CommandListener):
        def started(self, event: monitoring.CommandStartedEvent) -> None:
            if event.command_name == "update" and event.command.get("update") == "requests":
                updates.append(len(event.command.get("updates", ())))

        def succeeded(self, event: monitoring.CommandSucceededEvent) -> None: ...
        def failed(self, event: monitoring.CommandFailedEvent) -> None: ...

    client = await connect_documents(mongodb_uri=mongo_url, listeners=[Updates()])
    first, second = await _requests(2)
    store = TickStore(arq=arq, window=0.05, ttl=10)
    # when the ticks of one moment count a visitor each (and one also a finished stay)
    await asyncio.gather(
        store.count_visitors(request_id=first.id, increments={"visitors.male": 1}),  # type: ignore[arg-type]
        store.count_visitors(
            request_id=second.id,  # type: ignore[arg-type]
            increments={"visitors.female": 1, "dwell_seconds": 30.0, "dwell_visits": 1},
        ),
    )
    await store.count_visitors(request_id=first.id, increments={"visitors.male": 2})  # type: ignore[arg-type]
    # then the first moment was one command with both updates, and every count landed on its request
    assert updates[:2] == [2, 1]
    stored = {r.id: r for r in await BriefingRequest.find_all().to_list()}
    assert stored[first.id].visitors == {"male": 3}
    assert stored[second.id].visitors == {"female": 1}
    assert (stored[second.id].dwell_seconds, stored[second.id].dwell_visits) == (30.0, 1)
    await client.close()


@pytest.mark.asyncio
async def test_ticks_loaded_together_share_one_read_and_see_an_end_at_once(arq: ArqRedis) -> None:
    # given two running requests whose state a worker has cached
    running, ending = await _requests(2)
    store = TickStore(arq=arq, window=0.05, ttl=3600)
    loaded = await asyncio.gather(store.load(str(running.id)), store.load(str(ending.id)))
    assert [item.request is not None and not item.ended for item in loaded] == [True, True]
    # when the owner ends one of them (the cache would still say ACTIVE for an hour)
    await end_request(redis=arq, request_id=ending.id, status=RequestStatus.ENDED, reason=EndReason.ENDED_BY_USER)  # type: ignore[arg-type]
    # then the next load sees the end without waiting for the cache, and the other runs on
    again = await asyncio.gather(store.load(str(running.id)), store.load(str(ending.id)))
    assert not again[0].ended and again[0].request is not None
    assert again[1].ended


@pytest.mark.asyncio
async def test_a_cached_request_past_its_ttl_is_served_at_once_and_re_read_off_the_ticks_path(arq: ArqRedis) -> None:
    # given a request a worker has cached, with a cache that is always stale
    (request,) = await _requests(1)
    store = TickStore(arq=arq, window=0.01, ttl=0)
    assert (await store.load(str(request.id))).request is not None
    # when the store says it ended without the Redis flag (as a missed flag would leave it)
    await BriefingRequest.get_pymongo_collection().update_one(
        {"_id": request.id}, {"$set": {"status": RequestStatus.ENDED.value}}
    )
    # then the next tick still gets the cached request without waiting for the store ...
    assert (await store.load(str(request.id))).request is not None
    # ... and a tick after the background re-read no longer does
    for _ in range(100):
        await asyncio.sleep(0.02)
        if (await store.load(str(request.id))).request is None:
            break
    assert (await store.load(str(request.id))).request is None


@pytest.mark.asyncio
async def test_queueing_ticks_in_one_call_is_idempotent_and_remembers_the_chain(arq: ArqRedis) -> None:
    # given two requests
    first, second = await _requests(2)
    # when their next ticks are queued together, and then again (a re-run of the same ticks)
    added = await enqueue_ticks(arq=arq, ticks=[(first, 2), (second, 5)])
    again = await enqueue_ticks(arq=arq, ticks=[(first, 2), (second, 5)])
    # then each job exists once and each request's chain expects its tick
    assert added == [True, True] and again == [False, False]
    assert await arq.zcard("arq:queue") == 2
    assert await expected_ticks(arq=arq, request_ids=[str(first.id), str(second.id)]) == [2, 5]


@pytest.mark.asyncio
async def test_an_idle_worker_sleeps_and_wakes_for_a_tick_queued_sooner(arq: ArqRedis, mongo_url: str) -> None:
    # given a worker alone on its own Redis, with nothing to do, that may sleep 30 s between checks
    private = start_redis()
    pool = await create_pool(RedisSettings.from_dsn(private.url))
    ran: list[float] = []

    async def tick(ctx: dict[str, object], request_id: str, seq: int) -> str:
        ran.append(time.monotonic())
        return "ok"

    settings = Settings(_env_file=None, mongodb_uri=mongo_url, redis_url=private.url, worker_idle_check_seconds=30)
    worker = build_worker(settings, functions=[func(tick, name=TICK_FUNCTION)], handle_signals=False)
    worker.on_startup = None
    worker.on_shutdown = None
    main = asyncio.create_task(worker.main())
    try:
        await asyncio.sleep(1.5)
        info_before = await pool.info("commandstats")
        await asyncio.sleep(2.0)
        info_after = await pool.info("commandstats")
        # then it did not poll the queue while idle
        polls = _calls(info_after, "zrangebyscore") - _calls(info_before, "zrangebyscore")
        assert polls <= 1, polls
        # when a tick due now is queued, then it runs long before the 30 s sleep would end
        (request,) = await _requests(1)
        queued = time.monotonic()
        await enqueue_tick(arq=pool, request=request, seq=1)
        for _ in range(100):
            if ran:
                break
            await asyncio.sleep(0.05)
        assert ran and ran[0] - queued < 5.0
    finally:
        main.cancel()
        await worker.close()
        await pool.aclose()
        private.stop()


@pytest.mark.asyncio
async def test_a_job_that_fell_due_during_the_poll_is_not_slept_past(mongo_url: str) -> None:
    # given a worker alone on its own Redis, whose queue holds a job that fell due after its last
    # poll read the queue (the poll's own round trips), and the next job only 30 s later
    private = start_redis()
    pool = await create_pool(RedisSettings.from_dsn(private.url))
    settings = Settings(_env_file=None, mongodb_uri=mongo_url, redis_url=private.url, worker_idle_check_seconds=60)
    worker = build_worker(settings, handle_signals=False, redis_pool=pool)
    try:
        now = time.time()
        await pool.zadd(worker.queue_name, {"fell-due": int((now - 0.1) * 1000), "later": int((now + 30) * 1000)})
        # when it goes to sleep after a poll that began before that job was due
        sleeping = worker._sleep(polled_at=now - 0.3)  # type: ignore[attr-defined]
        # then it does not sleep at all: the next poll claims the job at once
        await asyncio.wait_for(sleeping, timeout=2)
    finally:
        await pool.aclose()
        private.stop()


def _calls(info: dict[str, object], command: str) -> int:
    stats = info.get(f"cmdstat_{command}")
    return int(stats["calls"]) if isinstance(stats, dict) else 0
