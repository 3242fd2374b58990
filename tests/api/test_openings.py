"""Acknowledgements before replays: subscriptions wait for the process's pending handshakes (`core.openings`)."""

from __future__ import annotations

import asyncio

import pytest

from core.openings import Openings


@pytest.mark.asyncio
async def test_a_subscription_waits_until_the_pending_handshakes_are_answered() -> None:
    # given two connection_inits being answered
    openings = Openings(at_once=4, max_wait=30)
    first, second = openings.handshake(), openings.handshake()
    waiting = asyncio.create_task(openings.after_handshakes())
    await asyncio.sleep(0.01)
    # when one is answered, the subscription still waits; when both are, it goes on
    first.done()
    await asyncio.sleep(0.01)
    assert not waiting.done()
    second.done()
    await asyncio.wait_for(waiting, timeout=5)
    assert openings.pending_handshakes == 0


@pytest.mark.asyncio
async def test_a_handshake_that_is_never_answered_holds_subscriptions_back_only_max_wait() -> None:
    # given a handshake that never ends
    openings = Openings(at_once=4, max_wait=0.05)
    openings.handshake()
    # when a subscription asks, then it goes on after max_wait
    await asyncio.wait_for(openings.after_handshakes(), timeout=5)
    assert openings.pending_handshakes == 1


@pytest.mark.asyncio
async def test_a_handshake_counts_once_however_often_it_is_done() -> None:
    # given one pending handshake and another answered twice (acknowledged, then the socket closed)
    openings = Openings(at_once=4, max_wait=30)
    openings.handshake()
    twice = openings.handshake()
    twice.done()
    twice.done()
    # then the first one still counts
    assert openings.pending_handshakes == 1


@pytest.mark.asyncio
async def test_at_most_at_once_streams_open_together() -> None:
    # given two slots and three streams opening
    openings = Openings(at_once=2, max_wait=30)
    inside = 0
    most = 0
    release = asyncio.Event()

    async def open_stream() -> None:
        nonlocal inside, most
        async with openings:
            inside += 1
            most = max(most, inside)
            await release.wait()
            inside -= 1

    tasks = [asyncio.create_task(open_stream()) for _ in range(3)]
    await asyncio.sleep(0.01)
    # then two are inside and the third waits for a slot
    assert inside == 2
    release.set()
    await asyncio.gather(*tasks)
    assert most == 2
