"""The bundled demo detector counts the synthetic shop exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inference.demo.model import WEIGHTS
from inference.demo.train import HELDOUT_SEEDS, TRAIN_SEEDS, evaluate, heldout_time
from inference.detectors.registry import load_detector
from inference.synthetic import render


def test_given_the_bundled_weights_then_they_are_small_and_load_as_demo() -> None:
    assert WEIGHTS.stat().st_size <= 5_000_000
    detector = load_detector("demo")
    assert detector.names == ["male", "female"]


def test_given_held_out_seeds_then_training_never_saw_them() -> None:
    assert set(HELDOUT_SEEDS).isdisjoint(TRAIN_SEEDS)


@pytest.mark.timeout(120)
def test_given_500_held_out_synthetic_frames_when_counted_then_at_least_98_percent_are_exact() -> None:
    torch.set_num_threads(max(1, torch.get_num_threads()))
    accuracy = evaluate(load_detector("demo"), HELDOUT_SEEDS)
    assert accuracy >= 0.98, f"exact per-class count accuracy {accuracy:.1%}"


def test_given_a_frame_at_another_resolution_when_detected_then_boxes_scale_with_it() -> None:
    detector = load_detector("demo")
    frame = render(HELDOUT_SEEDS[0], heldout_time(HELDOUT_SEEDS[0])).image
    bigger = np.repeat(np.repeat(frame, 2, axis=0), 2, axis=1)
    small, large = detector.detect([frame, bigger])
    assert [d.label for d in small] == [d.label for d in large]
    for a, b in zip(small, large, strict=True):
        assert np.allclose(np.array(b.box) / 2, a.box, atol=2.0)
