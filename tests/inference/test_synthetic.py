"""The synthetic shop camera: deterministic in (seed, second), with plausible ground truth."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import numpy as np

from inference.synthetic import CLASSES, HEIGHT, MAX_PEOPLE, WIDTH, render

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
