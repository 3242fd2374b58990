"""Which watched frame a tick may take its counts from (`WatchState.fresh_at`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from briefings.watch import FRESH_SECONDS, WatchState

AT = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)


def test_a_watcher_a_few_frames_behind_still_stands_for_the_tick() -> None:
    # given a frame of a 5 fps watcher that is 0.9 s old (four frames behind)
    state = WatchState(camera_id="demo", at=AT, fps=5)
    # then a tick uses it rather than running an inference of its own behind the watcher's
    assert state.fresh_at(AT + timedelta(seconds=0.9))
    assert not state.fresh_at(AT + timedelta(seconds=FRESH_SECONDS + 0.1))


def test_a_slow_watcher_frame_stays_usable_for_two_of_its_frames() -> None:
    # given a watcher at one frame every two seconds
    state = WatchState(camera_id="demo", at=AT, fps=0.5)
    # then its frame stands for up to two frames
    assert state.fresh_at(AT + timedelta(seconds=3.9))
    assert not state.fresh_at(AT + timedelta(seconds=4.2))


def test_an_unreadable_frame_never_stands_for_a_tick() -> None:
    state = WatchState(camera_id="demo", at=AT, fps=5, error="no frame")
    assert not state.fresh_at(AT)
