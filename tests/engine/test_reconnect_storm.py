"""Reconnect storm drill: the API process dies under 100 live subscribers, a new one starts on the same
port, and every subscriber reconnects within one second with `reloadBriefing(after: <last seq seen>)`.

Runs on a private stack of its own (tests/engine/stack.py): its own Redis, a private database, one API
process and one worker, with `BRIEFING_MAX_SUBSCRIPTIONS_PER_USER` raised so that one owner may hold
50 subscriptions -- and 50 more while the killed process's leases are still in Redis (they expire on
their own, up to two minutes later). The clients are real websockets in one asyncio loop
(`devtools.aiows`). This is a correctness drill, not a timing benchmark (`bench/reconnect.py` is
that): the bound on `connection_ack` is generous.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from devtools.aiows import RELOAD, START, AioSocket
from devtools.services import Service
from tests.engine.conftest import in_seconds
from tests.engine.stack import Stack, assert_once_each, private_stack

OWNERS = 2
SOCKETS = 100
RECONNECT_SPREAD_SECONDS = 1.0
ACK_BOUND_SECONDS = 10.0


@dataclass
class Subscriber:
    """One subscriber socket of one owner: its connection before the restart and after it."""

    owner: int
    before: AioSocket | None = None
    after: AioSocket | None = None
    reconnect_began: float = 0.0
    seen_before: list[int] = field(default_factory=list)

    def seqs(self) -> list[int]:
        return [*(self.before.seqs("r") if self.before else []), *(self.after.seqs("r") if self.after else [])]


@pytest.fixture
def stack(backing: tuple[Service, Service]) -> Iterator[Stack]:
    with private_stack(
        backing[0].url, prefix="storm", BRIEFING_MAX_SUBSCRIPTIONS_PER_USER=str(2 * SOCKETS + 10)
    ) as private:
        private.spawn_server()
        private.spawn_worker()
        private.ready(*private.servers, *private.workers)
        yield private


async def _poll(check: Callable[[], bool], *, within: float, what: str) -> None:
    """Until `check()` holds; fails naming `what` after `within` seconds."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within:g} s waiting for {what}")
        await asyncio.sleep(0.05)


async def _start_briefing(ws_url: str, token: str) -> str:
    """Start a 1-second briefing on its own socket; the request id. The socket closes, the briefing runs on."""
    sock = await AioSocket.open(ws_url, token)
    try:
        await sock.subscribe("b", START, {"i": 1, "e": in_seconds(300), "c": "demo"})
        await _poll(lambda: bool(sock.events("b")) or sock.closed, within=30, what="BriefingStarted")
        first = sock.events("b")[0][1]
        assert first["__typename"] == "BriefingStarted", (first, sock.errors("b"))
        return str(first["request"]["id"])
    finally:
        await sock.close()


def _ended(sock: AioSocket | None) -> bool:
    return sock is not None and any(e.get("__typename") == "BriefingEnded" for _, e in sock.events("r"))


def test_given_100_subscribers_when_the_api_is_killed_and_restarted_then_all_reconnect_and_resume_without_gap(
    stack: Stack,
) -> None:
    # given two running 1-second briefings and 100 subscriber sockets (50 per owner) receiving them live
    api = stack.server
    tokens = [stack.login(f"storm-owner-{i}") for i in range(OWNERS)]
    subs = [Subscriber(owner=i % OWNERS) for i in range(SOCKETS)]

    async def scenario() -> tuple[list[str], float]:
        requests = [await _start_briefing(api.ws_url, token) for token in tokens]
        for sub in subs:
            sub.before = await AioSocket.open(api.ws_url, tokens[sub.owner])
            await sub.before.subscribe("r", RELOAD, {"a": 0})
        await _poll(
            lambda: all(len(s.before.seqs("r")) >= 2 for s in subs if s.before),
            within=60,
            what="every subscriber to receive two briefings",
        )

        # when the API process is killed (no goodbye) and a new one starts on the same port
        api.kill()
        replacement = stack.spawn_server(port=api.port)
        await asyncio.to_thread(stack.ready, replacement)
        await _poll(lambda: all(s.before is not None and s.before.closed for s in subs), within=10, what="drops")
        for sub in subs:
            sub.seen_before = sub.seqs()

        # and every subscriber reconnects within one second, resuming after the last seq it saw
        async def reconnect(sub: Subscriber) -> None:
            await asyncio.sleep(random.uniform(0.0, RECONNECT_SPREAD_SECONDS))
            sub.reconnect_began = time.time()
            sub.after = await AioSocket.open(replacement.ws_url, tokens[sub.owner], within=ACK_BOUND_SECONDS)
            await sub.after.subscribe("r", RELOAD, {"a": max(sub.seen_before)})

        await asyncio.gather(*(reconnect(sub) for sub in subs))
        slowest_ack = max(s.after.acked - s.reconnect_began for s in subs if s.after)
        stored_at_storm = max(max(stack.stored_seqs(r)) for r in requests)
        await _poll(
            lambda: all(s.after is not None and max(s.seqs()) > stored_at_storm for s in subs),
            within=60,
            what="every subscriber to receive a briefing stored after the storm",
        )

        # (then the briefings end, so that every stream runs to its BriefingEnded)
        for token in tokens:
            body = await asyncio.to_thread(stack.end_briefing, token)
            assert body.get("data") == {"endBriefing": {"message": "브리핑 성공적으로 종료"}}, body
        await _poll(lambda: all(_ended(s.after) for s in subs), within=30, what="BriefingEnded on every subscriber")
        for sub in subs:
            for sock in (sub.before, sub.after):
                if sock is not None:
                    await sock.close()
        return requests, slowest_ack

    try:
        requests, slowest_ack = asyncio.run(scenario())
    finally:
        for token in tokens:
            stack.end_quietly(token)

    # then all 100 were acknowledged (within a generous bound) and none received an error
    assert all(s.after is not None for s in subs)
    assert slowest_ack <= ACK_BOUND_SECONDS, f"slowest connection_ack {slowest_ack:.1f} s after reconnecting"
    errors = [e for s in subs for sock in (s.before, s.after) if sock for e in sock.errors("r")]
    assert not errors, errors[:3]
    # and each subscriber's seqs, before and after the restart together, are exactly the store's:
    # no gap, no duplicate, in order
    stored = {r: stack.stored_seqs(r) for r in requests}
    for request_id, seqs in stored.items():
        assert_once_each(seqs)
        skipped = stack.skipped_ticks(request_id)
        assert len(seqs) + skipped == seqs[-1], f"seqs missing without being counted as skipped: {seqs}"
    for sub in subs:
        received = sub.seqs()
        assert sub.after is not None
        resumed = sub.after.seqs("r")
        assert resumed and resumed[0] > max(sub.seen_before), (sub.seen_before, resumed)
        assert received == stored[requests[sub.owner]], (
            f"subscriber of owner {sub.owner}: received {received}, stored {stored[requests[sub.owner]]}"
        )
