"""Several API processes and several workers on one Redis and one database: a briefing is produced by
whichever worker takes each tick, reaches subscribers on every API process, and ends everywhere when
any process ends it.

Runs on the private engine stack of tests/engine/stack.py (shared with test_faults.py), never on the
session server, worker or Redis.
"""

from __future__ import annotations

import time
from typing import Any

from devtools.wsclient import BRIEFING, RELOAD, TransportWS
from tests.engine.conftest import in_seconds
from tests.engine.stack import (
    Engine,
    assert_once_each,
    engine,  # noqa: F401 - the shared stack fixture
    seqs_of,
    take_briefings,
)


def _rest(ws: TransportWS, op: str) -> list[dict[str, Any]]:
    events = list(ws.events(op, timeout=30))
    assert events and events[-1]["__typename"] == "BriefingEnded", events
    return events


def test_given_two_api_processes_and_two_workers_then_both_subscribers_see_the_same_seqs_and_an_end_on_b_ends_a(
    engine: Engine,  # noqa: F811
) -> None:
    stack = engine.stack
    engine.ensure(servers=2, workers=2)
    api_a, api_b = stack.alive_servers()[:2]
    workers = stack.alive_workers()
    token = stack.login("multi-owner", server=api_a)
    try:
        with TransportWS(api_a.ws_url, token=token) as ws_a, TransportWS(api_b.ws_url, token=token) as ws_b:
            op_a = ws_a.subscribe(BRIEFING, {"i": 1, "e": in_seconds(120)})
            started = next(ws_a.events(op_a, timeout=30))
            assert started["__typename"] == "BriefingStarted", started
            request_id = str(started["request"]["id"])
            events_a = take_briefings(ws_a, op_a, until=lambda ev: len(seqs_of(ev)) >= 2, timeout=40)
            op_b = ws_b.subscribe(RELOAD, {"a": 0})  # the same (latest) request, followed on process B

            def both_workers_ran(ev: list[dict[str, Any]]) -> bool:
                ran = [w.stored_ticks(request_id) for w in workers]
                return len(seqs_of(ev)) >= 6 and all(ran)

            # ticks go to whichever worker polls first; give both the chance to take some
            deadline = time.monotonic() + 25
            events_a += take_briefings(
                ws_a, op_a, until=lambda ev: both_workers_ran(events_a + ev) or time.monotonic() > deadline, timeout=40
            )
            body = stack.end_briefing(token, server=api_b)
            assert body.get("data") == {"endBriefing": {"message": "브리핑 성공적으로 종료"}}, body
            events_a += _rest(ws_a, op_a)
            events_b = _rest(ws_b, op_b)
    finally:
        stack.end_quietly(token)

    for events in (events_a, events_b):
        assert events[-1]["reason"] == "ENDED_BY_USER"
        assert events[-1]["request"]["id"] == request_id
        assert all(e["__typename"] == "Briefing" for e in events[:-1])
    stored = stack.stored_seqs(request_id)
    assert_once_each(stored)
    assert stored == list(range(1, len(stored) + 1))
    assert len(stored) >= 6
    assert seqs_of(events_a) == stored  # live on A: every tick, no gap, no duplicate
    assert seqs_of(events_b) == stored  # replay then live on B: the same seqs
    ran = {w.name: w.stored_ticks(request_id) for w in workers}
    assert set().union(*ran.values()) == set(stored), ran  # every stored seq was produced by one of them
    assert sum(len(r) for r in ran.values()) == len(stored), ran  # and by exactly one
    assert all(ran.values()), f"one worker ran no tick: {ran}"
