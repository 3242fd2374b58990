"""The synthetic shop camera: deterministic in (seed, second), with plausible ground truth."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime

import numpy as np

from inference.synthetic import (
    CLASSES,
    COUNTER_ZONE,
    DOOR_WINDOW,
    HEIGHT,
    MAX_PEOPLE,
    WIDTH,
    TruthBox,
    door_events,
    entries,
    geometry,
    render,
)

T0 = 1_700_000_000


def test_given_the_same_seed_and_second_when_rendered_twice_then_frames_and_truth_are_identical() -> None:
    first, second = render(5, T0 + 0.1), render(5, datetime.fromtimestamp(T0 + 0.9, UTC))
    assert np.array_equal(first.image, second.image)
    assert first.objects == second.objects
    assert first.image.shape == (HEIGHT, WIDTH, 3) and first.image.dtype == np.uint8


def test_given_different_seeds_when_rendered_then_scenes_differ() -> None:
    assert not np.array_equal(render(1, T0).image, render(2, T0).image)


def test_given_an_hour_of_one_camera_then_counts_stay_in_range_and_people_persist_across_seconds() -> None:
    frames = [render(11, T0 + s) for s in range(0, 3600, 1)]
    totals = [len(f.objects) for f in frames]
    assert min(totals) >= 0 and max(totals) <= MAX_PEOPLE
    assert len(set(totals)) >= 5, "the number of people varies over time"
    changes = sum(a != b for a, b in itertools.pairwise(totals))
    assert changes < len(totals) / 4, "people stay for many consecutive seconds"
    assert {o.label for f in frames for o in f.objects} == set(CLASSES)


def test_given_a_frame_then_truth_boxes_lie_inside_it_and_counts_cover_every_class() -> None:
    frame = render(3, T0 + 123)
    for obj in frame.objects:
        x1, y1, x2, y2 = obj.box
        assert 0 <= x1 < x2 <= WIDTH and 0 <= y1 < y2 <= HEIGHT
    assert set(frame.counts()) == set(CLASSES)
    assert sum(frame.counts().values()) == len(frame.objects)


def test_given_a_frame_rate_when_rendered_between_seconds_then_people_move_and_the_frame_time_is_kept() -> None:
    # given a camera sampled at 5 fps for a minute
    frames = [render(7, T0 + k / 5, fps=5) for k in range(300)]
    # then each frame has its own time, and people move a little from frame to frame
    assert [f.time for f in frames[:5]] == [T0 + k / 5 for k in range(5)]
    assert all(f.t == T0 for f in frames[:5])
    boxes = [{o.person_id: o.box for o in f.objects} for f in frames]
    steps = [
        abs(a[i][3] - b[i][3]) + abs(a[i][0] - b[i][0])
        for a, b in itertools.pairwise(boxes)
        for i in a.keys() & b.keys()
    ]
    assert max(steps) > 0 and max(steps) < 20


def test_given_a_whole_second_when_rendered_at_any_frame_rate_then_the_frame_is_the_same() -> None:
    at_five, at_one = render(7, T0 + 3, fps=5), render(7, T0 + 3.7)
    assert np.array_equal(at_five.image, at_one.image) and at_five.objects == at_one.objects


def test_given_ten_minutes_at_5_fps_then_each_person_keeps_id_and_label_and_comes_and_goes_through_the_door() -> None:
    frames = [render(13, T0 + k / 5, fps=5) for k in range(3000)]
    seen: dict[int, list[tuple[int, TruthBox]]] = {}
    for index, frame in enumerate(frames):
        for obj in frame.objects:
            seen.setdefault(obj.person_id, []).append((index, obj))
    visits = [v for v in seen.values() if v[0][0] > 0 and v[-1][0] < len(frames) - 1]  # whole visits only
    assert len(visits) >= 10
    for visit in visits:
        indices = [i for i, _ in visit]
        assert indices == list(range(indices[0], indices[-1] + 1)), "a person is in view for one stretch"
        assert len({o.label for _, o in visit}) == 1
        assert not visit[0][1].inside and not visit[-1][1].inside, "they appear and vanish beyond the line"
        assert any(o.inside for _, o in visit)


def test_given_door_events_then_each_matches_the_frames_around_it_and_the_door_serves_one_person_per_window() -> None:
    events = door_events(13, T0, T0 + 600)
    assert {e.kind for e in events} == {"entry", "exit"}
    for event in events:
        before = {o.person_id: o for o in render(13, event.t - 0.05, fps=100).objects}
        after = {o.person_id: o for o in render(13, event.t + 0.05, fps=100).objects}
        assert before[event.person_id].inside == (event.kind == "exit")
        assert after[event.person_id].inside == (event.kind == "entry")
        assert after[event.person_id].label == event.label
    windows = [math.floor(e.t / DOOR_WINDOW) for e in events]
    assert len(windows) == len(set(windows))
    assert entries(13, T0, T0 + 600) == [e for e in events if e.kind == "entry"]


def test_given_an_hour_then_people_stand_in_the_counter_zone_at_times_and_zone_counts_add_up() -> None:
    frames = [render(17, T0 + s) for s in range(0, 3600, 5)]
    occupied = [f for f in frames if sum(f.zone_counts()[COUNTER_ZONE].values())]
    assert len(occupied) >= 10
    for frame in occupied:
        assert sum(frame.zone_counts()[COUNTER_ZONE].values()) == sum(COUNTER_ZONE in o.zones for o in frame.objects)


def test_given_a_seed_then_the_entrance_line_spans_the_door_with_the_shop_below_it() -> None:
    scene = geometry(5)
    (x1, y1), (x2, y2) = scene.line
    assert y1 == y2 and x1 < x2 and scene.inside == "right"
    assert list(scene.zones) == [COUNTER_ZONE]
