"""Tracking and counting: line crossings, zone occupancy, checkpoints, and accuracy on the synthetic shop."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import pytest

from inference.detection import Detection
from inference.tracking import CameraTracker, TrackedFrame, frames_between
from inference.zones import Entrance, Zone

FPS = 5.0
T0 = 1_760_000_000.0
DOOR = Entrance(line=((100.0, 100.0), (200.0, 100.0)), inside="right")  # the shop is below the line
COUNTER = Zone(id="counter", polygon=((20.0, 180.0), (90.0, 180.0), (90.0, 230.0), (20.0, 230.0)))
LABELS = ("male", "female")


def person(label: str, foot_x: float, foot_y: float, score: float = 0.9) -> Detection:
    return Detection(label=label, score=score, box=(foot_x - 10, foot_y - 50, foot_x + 10, foot_y))


def walk(label: str, start: tuple[float, float], end: tuple[float, float], frames: int) -> list[Detection]:
    (x0, y0), (x1, y1) = start, end
    return [person(label, x0 + (x1 - x0) * k / (frames - 1), y0 + (y1 - y0) * k / (frames - 1)) for k in range(frames)]


def feed(tracker: CameraTracker, frames: Sequence[Sequence[Detection]], *, start: float = T0) -> list[TrackedFrame]:
    return [tracker.update(list(f), start + k / FPS) for k, f in enumerate(frames)]


def new_tracker(entrance: Entrance | None = DOOR, zones: Sequence[Zone] = (COUNTER,)) -> CameraTracker:
    return CameraTracker(entrance, zones, fps=FPS, labels=LABELS)


def test_given_a_person_walking_in_across_the_line_then_one_entry_is_counted_under_their_label() -> None:
    tracker = new_tracker()
    frames = feed(tracker, [[d] for d in walk("female", (150, 70), (150, 160), 12)])
    assert frames[-1].entered == {"male": 0, "female": 1} and frames[-1].exited == {"male": 0, "female": 0}
    [crossing] = [c for f in frames for c in f.crossings]
    assert (crossing.kind, crossing.label) == ("entry", "female")
    assert frames[-1].people[0].inside is True and frames[-1].people[0].entered_at == crossing.t


def test_given_a_person_who_came_in_and_went_out_then_an_exit_with_their_dwell_is_counted() -> None:
    tracker = new_tracker()
    path = (
        walk("male", (150, 70), (150, 160), 10)
        + [person("male", 150, 160)] * 10
        + walk("male", (150, 160), (150, 70), 10)
    )
    frames = feed(tracker, [[d] for d in path])
    last = frames[-1]
    assert last.entered == {"male": 1, "female": 0} and last.exited == {"male": 1, "female": 0}
    entry, exit_ = [c for f in frames for c in f.crossings]
    assert exit_.kind == "exit" and exit_.dwell == pytest.approx(exit_.t - entry.t)
    assert last.dwell_visits == 1 and last.mean_dwell == pytest.approx(exit_.dwell)


def test_given_a_person_first_seen_inside_when_they_leave_then_it_is_an_exit_but_never_an_entry() -> None:
    tracker = new_tracker()
    frames = feed(tracker, [[d] for d in walk("male", (150, 170), (150, 60), 14)])
    assert frames[-1].entered == {"male": 0, "female": 0}
    assert frames[-1].exited == {"male": 1, "female": 0}
    assert [c.dwell for f in frames for c in f.crossings] == [None]


def test_given_a_person_standing_on_the_line_when_their_feet_jitter_within_the_margin_then_nothing_is_counted() -> None:
    tracker = new_tracker()
    frames = feed(tracker, [[person("male", 150, 100 + (2 if k % 2 else -2))] for k in range(20)])
    assert sum(frames[-1].entered.values()) == 0 and sum(frames[-1].exited.values()) == 0


def test_given_a_person_crossing_the_lines_extension_beyond_its_ends_then_nothing_is_counted() -> None:
    tracker = new_tracker()
    frames = feed(tracker, [[d] for d in walk("male", (260, 70), (260, 160), 12)])
    assert sum(frames[-1].entered.values()) == 0


def test_given_an_entrance_in_fractions_when_frames_have_a_size_then_the_line_is_scaled_to_pixels() -> None:
    tracker = new_tracker(Entrance(line=((0.25, 0.5), (0.75, 0.5)), inside="right"), ())
    frames = [
        tracker.update([d], T0 + k / FPS, frame_size=(400, 200))
        for k, d in enumerate(walk("male", (200, 70), (200, 170), 12))
    ]
    assert frames[-1].entered["male"] == 1


def test_given_an_entrance_in_fractions_when_no_frame_size_is_given_then_update_refuses() -> None:
    tracker = new_tracker(Entrance(line=((0.25, 0.5), (0.75, 0.5)), inside="right"), ())
    with pytest.raises(ValueError, match="frame_size"):
        tracker.update([person("male", 10, 10)], T0)


def test_given_people_in_and_out_of_a_zone_then_only_those_whose_feet_stand_in_it_are_counted() -> None:
    tracker = new_tracker()
    frame = feed(tracker, [[person("male", 50, 200), person("female", 150, 200), person("female", 50, 170)]] * 3)[-1]
    assert frame.zones == {"counter": {"male": 1, "female": 0}}
    assert frame.counts == {"male": 1, "female": 2}


def test_given_two_classes_firing_on_one_person_then_they_are_one_person() -> None:
    tracker = new_tracker()
    frame = feed(tracker, [[person("male", 50, 200, 0.9), person("female", 51, 200, 0.6)]] * 3)[-1]
    assert frame.counts == {"male": 1, "female": 0} and len(frame.people) == 1


def test_given_a_label_that_flickers_for_a_frame_then_the_entry_counts_once_under_the_majority_label() -> None:
    tracker = new_tracker()
    path = walk("female", (150, 70), (150, 160), 12)
    path[4] = Detection("male", 0.55, path[4].box)
    frames = feed(tracker, [[d] for d in path])
    assert frames[-1].entered == {"male": 0, "female": 1}


def test_given_a_checkpoint_when_restored_into_a_new_tracker_then_counting_continues_from_it() -> None:
    first = new_tracker()
    feed(first, [[d] for d in walk("female", (150, 70), (150, 160), 12)])
    state = json.loads(json.dumps(first.state()))
    second = new_tracker()
    second.restore(state)
    frames = feed(second, [[d] for d in walk("male", (120, 70), (120, 160), 12)], start=T0 + 60)
    assert frames[-1].entered == {"male": 1, "female": 1}
    assert second.state()["entered"] == {"female": 1, "male": 1}


def test_given_a_checkpoint_when_restored_then_people_already_inside_are_not_counted_again() -> None:
    first = new_tracker()
    feed(first, [[d] for d in walk("female", (150, 70), (150, 160), 12)])
    second = new_tracker()
    second.restore(first.state())
    frames = feed(second, [[person("female", 150, 160)]] * 10, start=T0 + 3)
    assert frames[-1].entered == {"male": 0, "female": 1}


@pytest.mark.parametrize(
    "state",
    [
        {"version": 99, "entered": {}, "exited": {}, "dwell_seconds": 0, "dwell_visits": 0},
        {"version": 1, "entered": {"male": -1}, "exited": {}, "dwell_seconds": 0, "dwell_visits": 0},
        {"version": 1, "entered": {}, "exited": [], "dwell_seconds": 0, "dwell_visits": 0},
        {"version": 1, "entered": {}, "exited": {}, "dwell_seconds": "x", "dwell_visits": 0},
    ],
)
def test_given_a_malformed_checkpoint_when_restored_then_it_is_refused(state: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="tracker state"):
        new_tracker().restore(state)


def test_given_a_clip_of_five_minutes_at_five_fps_then_it_has_1500_frame_times() -> None:
    times = frames_between(T0, T0 + 300, fps=5)
    assert len(times) == 1500 and times[0] == T0 and times[-1] == pytest.approx(T0 + 299.8)


@pytest.mark.timeout(900)
def test_given_40_held_out_five_minute_clips_when_counted_at_5_fps_then_entries_are_exact_on_95_percent() -> None:
    from inference.demo.clips import CLIP_SEEDS, evaluate_clips, summary

    results = evaluate_clips(CLIP_SEEDS, workers=min(2, os.cpu_count() or 1))
    errors = [r.entry_error for r in results]
    assert len(results) == 40
    assert sum(e == 0 for e in errors) >= 38, summary(results)
    assert all(abs(e) <= 1 for e in errors), summary(results)


@pytest.mark.parametrize(
    ("line", "inside", "expected"),
    [
        (((0.0, 0.0), (10.0, 0.0)), "right", "in"),  # looking right along the image, below is on the right
        (((0.0, 0.0), (10.0, 0.0)), "left", "out"),
        (((10.0, 0.0), (0.0, 0.0)), "right", "out"),  # drawn the other way, the sides swap
    ],
)
def test_given_a_line_and_its_inside_then_a_point_below_it_is_on_the_documented_side(
    line: tuple[tuple[float, float], tuple[float, float]], inside: str, expected: str
) -> None:
    entrance = Entrance(line=line, inside="right" if inside == "right" else "left")
    assert entrance.side((5.0, 5.0)) == expected
    assert entrance.side((5.0, 0.5), margin=1.0) is None
