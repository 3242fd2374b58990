"""Fault tolerance of the briefing engine, against real processes: a worker killed mid-tick, Redis
restarted or flushed, an API process lost, the LLM down, a camera unreadable.

Every test here runs on the private engine stack of tests/engine/stack.py, never on the session
server, worker or Redis: its own redis-server (restarted on the same port, or flushed), a private
database on the session FerretDB, two API processes and two workers, shortened through the
environment (reconcile every second, a 4 s tick timeout so that arq re-runs a dead worker's job 14 s
after it started). Each test uses its own user and request and ends its briefing; a test that kills a
process starts its replacement.

After each fault the invariants of DESIGN.md are checked: exactly one Briefing per seq in MongoDB,
seqs strictly increasing, every seq the store lacks counted as skipped, and what the subscriber
received equals what is stored (no gap, no duplicate).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from devtools.wsclient import BRIEFING, RELOAD, Closed, TransportWS
from tests.conftest import ROOT
from tests.engine.conftest import in_seconds
from tests.engine.stack import (
    RECONCILE_SECONDS,
    RERUN_AFTER_SECONDS,
    Engine,
    Stack,
    assert_once_each,
    engine,  # noqa: F401 - the shared stack fixture
    seqs_of,
    take_briefings,
    wait_for,
)
from tests.language.fake_openai import Reply

DEMO_WEIGHTS = ROOT / "inference" / "demo" / "demo.pt"


@pytest.fixture
def stack(engine: Engine) -> Stack:  # noqa: F811
    return engine.stack


def _started(ws: TransportWS, op: str) -> str:
    """The request id announced by BriefingStarted, the first event of `briefing`."""
    first = next(ws.events(op, timeout=30))
    assert first.get("__typename") == "BriefingStarted", first
    return str(first["request"]["id"])


def _end_and_drain(stack: Stack, token: str, ws: TransportWS, op: str) -> list[dict[str, Any]]:
    """End the briefing and read the stream to its BriefingEnded (which must be last)."""
    body = stack.end_briefing(token)
    assert body.get("data") == {"endBriefing": {"message": "브리핑 성공적으로 종료"}}, body
    rest = list(ws.events(op, timeout=30))
    assert rest, "the stream completed without BriefingEnded"
    assert rest[-1]["__typename"] == "BriefingEnded", rest
    assert rest[-1]["reason"] == "ENDED_BY_USER", rest
    return rest


def _assert_store_matches(stack: Stack, request_id: str, received: list[int]) -> list[int]:
    """One Briefing per seq, every missing seq counted as skipped, and the subscriber got exactly the store."""
    stored = stack.stored_seqs(request_id)
    assert_once_each(stored)
    assert stored, "nothing was stored"
    skipped = stack.skipped_ticks(request_id)
    assert stored[0] == 1
    assert len(stored) + skipped == stored[-1], f"seqs missing without being counted as skipped: {stored}, {skipped}"
    assert received == stored, f"received {received} but the store has {stored}"
    return stored


def test_given_a_worker_killed_mid_tick_when_arq_reruns_the_job_on_another_worker_then_that_seq_is_stored_once(
    engine: Engine,  # noqa: F811
) -> None:
    # "In the middle of a tick": tick 1 of the `till` camera is stuck in its frame read (the camera
    # accepts the GET and never answers) when the worker running it gets SIGKILL. (A hanging LLM would
    # do too, but the LLM is asked only after a successful detection, so that would depend on the
    # demo detector's weights; the camera does not.)
    # The interval (20 s) is longer than arq's re-run delay (tick timeout + 10 s = 14 s after the job
    # started), so the re-run is less than one interval late and produces seq 1 itself instead of
    # skipping forward to a later slot (the documented behaviour for ticks more than one interval late).
    stack = engine.stack
    interval = 20
    assert interval > RERUN_AFTER_SECONDS + 2
    engine.camera.arm()
    token = stack.login("fault-kill")
    try:
        with TransportWS(stack.server.ws_url, token=token) as ws:
            op = ws.subscribe(BRIEFING, {"i": interval, "e": in_seconds(120), "c": "till"})
            request_id = _started(ws, op)
            wait_for(engine.camera.hung.is_set, timeout=30, what="tick 1 to ask the camera for a frame", every=0.02)
            victim = wait_for(
                lambda: next((w for w in stack.alive_workers() if 1 in w.started_ticks(request_id)), None),
                timeout=5,
                what="the worker running tick 1",
                every=0.02,
            )
            victim.kill()
            killed_at = time.monotonic()
            assert stack.stored_seqs(request_id) == [], "tick 1 finished before the kill"
            survivors = stack.alive_workers()
            assert survivors, "no worker left to re-run the tick"

            events = take_briefings(ws, op, until=lambda ev: 2 in seqs_of(ev), timeout=interval + 30)
            rerun_after = time.monotonic() - killed_at
            stack.spawn_worker()  # the replacement, for the tests that follow (not waited for here)
            events += _end_and_drain(stack, token, ws, op)
    finally:
        stack.end_quietly(token)

    stored = _assert_store_matches(stack, request_id, seqs_of(events))
    assert stored[:2] == [1, 2]
    assert stack.skipped_ticks(request_id) == 0
    # seq 1 was produced by a survivor once arq gave up on the dead worker, and the chain went on
    assert victim.stored_ticks(request_id) == set()
    by_survivors = set().union(*(w.stored_ticks(request_id) for w in survivors))
    assert {1, 2} <= by_survivors, stack.logs()
    assert rerun_after > RERUN_AFTER_SECONDS - 5, f"tick 1 came {rerun_after:.1f} s after the kill"
    assert engine.camera.gets >= 2  # the dead worker's hung read, then the re-run's own
    first = stack.briefings(request_id)[0]
    assert first["error"] and first["caption"]  # the camera answers 503 now: a failed frame, recorded


def test_given_a_live_subscriber_when_redis_restarts_empty_then_briefings_keep_coming_without_duplicates(
    stack: Stack,
) -> None:
    token = stack.login("fault-redis-restart")
    try:
        with TransportWS(stack.server.ws_url, token=token) as ws:
            op = ws.subscribe(BRIEFING, {"i": 2, "e": in_seconds(180)})
            request_id = _started(ws, op)
            events = take_briefings(ws, op, until=lambda ev: len(seqs_of(ev)) >= 2, timeout=40)
            # the workers polling Redis now (a replacement still importing torch would connect later)
            workers = [w for w in stack.alive_workers() if "Starting worker for" in w.output()]
            servers = stack.alive_servers()
            stack.restart_redis(down_for=1.0)
            stored_at_restart = max(stack.stored_seqs(request_id))
            events += take_briefings(
                ws, op, until=lambda ev: len([s for s in seqs_of(ev) if s > stored_at_restart]) >= 3, timeout=90
            )
            assert all(s.alive for s in servers), f"an API process died with Redis\n{stack.logs()}"
            assert all(w.alive for w in workers), f"a worker died with Redis\n{stack.logs()}"
            events += _end_and_drain(stack, token, ws, op)
    finally:
        stack.end_quietly(token)
    received = seqs_of(events)
    stored = _assert_store_matches(stack, request_id, received)
    assert len([s for s in stored if s > stored_at_restart]) >= 3


def test_given_a_running_briefing_when_redis_is_flushed_then_the_reconciler_restores_the_schedule_in_time(
    stack: Stack,
) -> None:
    interval = 3
    token = stack.login("fault-flush")
    try:
        with TransportWS(stack.server.ws_url, token=token) as ws:
            op = ws.subscribe(BRIEFING, {"i": interval, "e": in_seconds(120)})
            request_id = _started(ws, op)
            events = take_briefings(ws, op, until=lambda ev: len(seqs_of(ev)) >= 2, timeout=40)
            stack.flush_redis()
            flushed_at = time.monotonic()
            before = stack.stored_seqs(request_id)
            # a new briefing within one interval plus one reconcile period (plus a tick's own time)
            wait_for(
                lambda: len(stack.stored_seqs(request_id)) > len(before),
                timeout=interval + RECONCILE_SECONDS + 2.5,
                what="a briefing stored after the flush",
                every=0.05,
            )
            restored_in = time.monotonic() - flushed_at
            events += take_briefings(
                ws, op, until=lambda ev: max(seqs_of(ev)) >= max(before) + 2, timeout=2 * interval + 10
            )
            events += _end_and_drain(stack, token, ws, op)
    finally:
        stack.end_quietly(token)
    stored = _assert_store_matches(stack, request_id, seqs_of(events))
    # the reconciler ran within the interval, so nothing had to be skipped: the seqs are consecutive
    assert stored == list(range(1, len(stored) + 1))
    assert stack.skipped_ticks(request_id) == 0
    assert restored_in <= interval + RECONCILE_SECONDS + 2.5


def test_given_a_client_that_saw_seq_n_when_its_api_process_dies_then_reload_after_n_on_another_has_no_gap(
    stack: Stack,
) -> None:
    first_api = stack.server
    token = stack.login("fault-api-restart", server=first_api)
    try:
        with TransportWS(first_api.ws_url, token=token) as ws:
            op = ws.subscribe(BRIEFING, {"i": 1, "e": in_seconds(120)})
            request_id = _started(ws, op)
            before = seqs_of(take_briefings(ws, op, until=lambda ev: len(seqs_of(ev)) >= 2, timeout=40))
            first_api.kill()  # a crash: no goodbye to the client
            stack.spawn_server()  # the replacement, for the tests that follow (not waited for here)
            with pytest.raises((Closed, TimeoutError)):
                for _ in ws.events(op, timeout=5):
                    pass
        seen = max(before)
        time.sleep(2.0)  # briefings go on while the client has no connection
        second_api = stack.server
        assert second_api is not first_api
        missed = [s for s in stack.stored_seqs(request_id) if s > seen]
        assert missed, "nothing was stored while the client was away"
        with TransportWS(second_api.ws_url, token=token) as ws:
            op = ws.subscribe(RELOAD, {"a": seen})
            after = take_briefings(ws, op, until=lambda ev: len(seqs_of(ev)) >= len(missed) + 2, timeout=30)
            after += _end_and_drain(stack, token, ws, op)
    finally:
        stack.end_quietly(token)
    assert seqs_of(after)[0] == seen + 1
    assert not set(before) & set(seqs_of(after)), "a seq was delivered twice"
    _assert_store_matches(stack, request_id, before + seqs_of(after))


@pytest.mark.skipif(
    not DEMO_WEIGHTS.exists(),
    reason="the demo detector has no weights (make train-demo): without a detection the LLM is never asked",
)
def test_given_the_llm_answering_500_when_ticks_run_then_captions_are_template_and_no_tick_is_lost(
    engine: Engine,  # noqa: F811
) -> None:
    stack, fake_llm = engine.stack, engine.fake_llm
    fake_llm.set_default(Reply.status(500))
    asked_before = len([r for r in fake_llm.requests if "Demo store" in r.prompt])
    token = stack.login("fault-llm-down")
    try:
        with TransportWS(stack.server.ws_url, token=token) as ws:
            op = ws.subscribe(BRIEFING, {"i": 1, "e": in_seconds(120)})
            request_id = _started(ws, op)
            events = take_briefings(ws, op, until=lambda ev: len(seqs_of(ev)) >= 4, timeout=40)
            events += _end_and_drain(stack, token, ws, op)
    finally:
        stack.end_quietly(token)
    stored = _assert_store_matches(stack, request_id, seqs_of(events))
    assert stored == list(range(1, len(stored) + 1))
    assert stack.skipped_ticks(request_id) == 0
    for briefing in stack.briefings(request_id):
        assert briefing["caption_source"] == "TEMPLATE"
        assert briefing["caption"].strip()
        assert briefing["error"] is None
    for event in events:
        if event["__typename"] == "Briefing":
            assert event["captionSource"] == "TEMPLATE"
    asked = len([r for r in fake_llm.requests if "Demo store" in r.prompt]) - asked_before
    assert asked >= len(stored), "the LLM was not even asked: this is not the LLM-down path"


def test_given_an_unreachable_snapshot_camera_when_ticks_run_then_each_is_stored_with_an_error_and_the_chain_goes_on(
    stack: Stack,
) -> None:
    token = stack.login("fault-camera")
    try:
        with TransportWS(stack.server.ws_url, token=token) as ws:
            op = ws.subscribe(BRIEFING, {"i": 1, "e": in_seconds(120), "c": "door"})
            request_id = _started(ws, op)
            events = take_briefings(ws, op, until=lambda ev: len(seqs_of(ev)) >= 3, timeout=40)
            events += _end_and_drain(stack, token, ws, op)
    finally:
        stack.end_quietly(token)
    stored = _assert_store_matches(stack, request_id, seqs_of(events))
    assert len(stored) >= 3
    assert stored == list(range(1, len(stored) + 1))
    for briefing in stack.briefings(request_id):
        assert briefing["error"], briefing
        assert briefing["counts"] == []
        assert briefing["caption"].strip()
        assert briefing["caption_source"] == "TEMPLATE"
    for event in events:
        if event["__typename"] == "Briefing":
            assert event["error"] and event["counts"] == []
