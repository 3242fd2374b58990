"""The camera watcher on the engine stack (two API processes, two workers): one worker watches a
camera with an entrance line while a briefing runs on it, the briefings carry its tracked counts,
and killing that worker moves the camera to the other one, whose counters continue."""

from __future__ import annotations

import json
import time
from typing import Any, cast

from briefings.watch import Movement, Totals, checkpoint_key, movement_since, owner_key, state_key
from devtools.wsclient import TransportWS
from inference.tracking import CameraTracker
from tests.engine.conftest import in_seconds
from tests.engine.stack import (
    SHOP_CAMERA,
    Engine,
    Stack,
    engine,  # noqa: F401 - the shared stack fixture
    seqs_of,
    take_briefings,
    wait_for,
)

SHOP_BRIEFING = """subscription($i: Int!, $e: String!, $c: ID) {
  briefing(interval: $i, endtime: $e, cameraId: $c) {
    __typename
    ... on BriefingStarted { request { id } }
    ... on Briefing { seq tracked counts { label count } entered { label count } exited { label count }
                      zones { zone label count } }
    ... on BriefingEnded { reason }
  }
}"""
EARLIER = {"male": 7, "female": 5}


def _state(stack: Stack) -> dict[str, Any] | None:
    raw = cast(bytes | None, stack.r().get(state_key(SHOP_CAMERA)))
    return None if raw is None else dict(json.loads(raw))


def _seed_checkpoint(stack: Stack) -> None:
    """Counters a previous watcher left: 7 men and 5 women came in before this briefing."""
    tracker = CameraTracker(fps=5.0, labels=["male", "female"])
    saved = tracker.state() | {"entered": dict(EARLIER), "exited": {"male": 7, "female": 5}}
    stack.r().set(checkpoint_key(SHOP_CAMERA), json.dumps({"tracker": saved, "extra": {}}))


def test_a_camera_with_a_door_is_watched_by_one_worker_and_its_counters_survive_that_workers_death(
    engine: Engine,  # noqa: F811
) -> None:
    stack = engine.stack
    engine.ensure(servers=1, workers=2)
    _seed_checkpoint(stack)
    token = stack.login("watch-owner")
    try:
        with TransportWS(stack.server.ws_url, token=token) as ws:
            # Given a 1-second briefing on the shop camera, which has an entrance line and a counter zone
            op = ws.subscribe(SHOP_BRIEFING, {"i": 1, "e": in_seconds(120), "c": SHOP_CAMERA})
            started = next(ws.events(op, timeout=30))
            assert started["__typename"] == "BriefingStarted", started

            # Then within a few ticks its briefings are counted from the watcher's tracked frames
            events = take_briefings(
                ws, op, until=lambda ev: any(e.get("tracked") for e in ev if e["__typename"] == "Briefing"), timeout=30
            )
            tracked = [e for e in events if e["__typename"] == "Briefing" and e["tracked"]]
            assert tracked, events
            assert {z["zone"] for z in tracked[-1]["zones"]} == {"counter"}
            assert {c["label"] for c in tracked[-1]["entered"]} == {"male", "female"}

            # and exactly one worker watches the camera, continuing the counters it found checkpointed
            owner = stack.r().get(owner_key(SHOP_CAMERA))
            assert owner is not None
            watching = [w for w in stack.alive_workers() if f"camera {SHOP_CAMERA}: watching" in w.output()]
            assert len(watching) == 1, [w.name for w in stack.alive_workers()]
            before = _state(stack)
            assert before is not None and all(before["entered"][k] >= v for k, v in EARLIER.items()), before

            # When that worker is killed
            watching[0].kill()
            killed_at = time.monotonic()

            # Then the other worker takes the camera over within the lease time (5 s) and a round,
            # and its counters continue from the checkpoint instead of starting from zero
            def taken_over() -> dict[str, Any] | None:
                new_owner = stack.r().get(owner_key(SHOP_CAMERA))
                state = _state(stack)
                if new_owner in (None, owner) or state is None or state["at"] <= before["at"]:
                    return None
                return state

            after = wait_for(taken_over, timeout=15, what="another worker to watch the shop camera")
            assert time.monotonic() - killed_at < 8.0
            assert all(after["entered"][k] >= before["entered"][k] for k in EARLIER), (before, after)

            # and the briefing goes on, tracked again once the new watcher's frames arrive
            more = take_briefings(
                ws, op, until=lambda ev: any(e.get("tracked") for e in ev if e["__typename"] == "Briefing"), timeout=30
            )
            assert seqs_of(more) == sorted(set(seqs_of(more))), more
    finally:
        stack.end_quietly(token)
        engine.ensure(servers=1, workers=2)


def test_a_requests_first_reading_of_the_counters_is_its_baseline() -> None:
    # given no earlier reading, when a briefing reads the watcher's counters, then nothing is counted
    now = Totals(entered={"male": 4}, exited={"male": 3}, dwell_seconds=90.0, dwell_visits=3)
    assert movement_since(previous=None, now=now) == Movement()


def test_movement_is_the_difference_between_two_readings() -> None:
    # given two readings of the counters
    before = Totals(entered={"male": 4, "female": 1}, exited={"male": 3}, dwell_seconds=90.0, dwell_visits=3)
    after = Totals(
        entered={"male": 6, "female": 1}, exited={"male": 4, "female": 1}, dwell_seconds=150.0, dwell_visits=4
    )
    # when the movement between them is taken, then it is what was added
    assert movement_since(previous=before, now=after) == Movement(
        entered={"male": 2, "female": 0}, exited={"male": 1, "female": 1}, dwell_seconds=60.0, dwell_visits=1
    )


def test_counters_that_went_back_to_zero_count_from_zero() -> None:
    # given a watcher whose checkpoint was lost: its counters restarted below the last reading
    before = Totals(entered={"male": 9}, exited={"male": 9}, dwell_seconds=300.0, dwell_visits=9)
    after = Totals(entered={"male": 1}, exited={"male": 0}, dwell_seconds=0.0, dwell_visits=0)
    # when the movement is taken, then what the new counters hold is what happened
    assert movement_since(previous=before, now=after) == Movement(
        entered={"male": 1}, exited={"male": 0}, dwell_seconds=0.0, dwell_visits=0
    )
