"""The process's event hub against the session's real Redis: one tail per request, however its
subscribers arrive."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from core.events import EventHub, stream_key


@pytest.mark.asyncio
async def test_subscribers_arriving_together_share_one_tail_that_stops_when_they_leave(redis_url: str) -> None:
    # given a hub, and twenty subscribers of one request arriving at once (sockets back after a restart)
    hub = EventHub[str](redis_url=redis_url, queue_size=10, parse=lambda payload: payload, resync="resync")
    writer: Redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        subs = await asyncio.gather(*(hub.subscribe("r1") for _ in range(20)))
        tails = [t for t in asyncio.all_tasks() if t.get_name() == "tail:r1"]
        # then one tail reads the stream for all of them
        assert len(tails) == 1
        # when an event is announced, then every subscriber gets it once
        await writer.xadd(stream_key("r1"), {"event": "briefing 1"})
        got = await asyncio.gather(*(sub.get(wait=5) for sub in subs))
        assert got == ["briefing 1"] * 20
        # when they all leave, then no tail is left reading the stream
        for sub in subs:
            hub.unsubscribe(sub)
        await asyncio.sleep(0.05)
        assert all(t.done() for t in tails)
        assert not [t for t in asyncio.all_tasks() if t.get_name() == "tail:r1" and not t.done()]
    finally:
        await hub.aclose()
        await writer.aclose()
