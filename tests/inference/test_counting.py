"""Counting per class after a camera's label mapping."""

from __future__ import annotations

import pytest

from inference.counting import LabelMap, LabelMapError, count_detections
from inference.detection import Detection

NAMES = ["person", "bicycle", "car"]
BOX = (0.0, 0.0, 1.0, 1.0)


def dets(*labels: str) -> list[Detection]:
    return [Detection(label, 0.9, BOX) for label in labels]


def test_given_no_mapping_when_counting_then_every_detector_class_appears_with_zero_when_absent() -> None:
    label_map = LabelMap.build(NAMES, None)
    assert count_detections(dets("person", "person", "car"), label_map) == {"person": 2, "bicycle": 0, "car": 1}


def test_given_a_person_only_mapping_when_counting_then_other_classes_are_dropped() -> None:
    label_map = LabelMap.build(NAMES, {"person": "person"})
    assert count_detections(dets("person", "car", "bicycle"), label_map) == {"person": 1}
    assert label_map.apply(dets("person", "car")) == dets("person")


def test_given_index_keys_when_counting_then_classes_are_renamed_and_can_merge() -> None:
    label_map = LabelMap.build(["0", "1", "2"], {"0": "male", "1": "female", "2": "female"})
    assert count_detections(dets("0", "1", "2", "2"), label_map) == {"male": 1, "female": 3}
    assert [d.label for d in label_map.apply(dets("2", "0"))] == ["female", "male"]


def test_given_a_key_by_index_when_the_detector_has_names_then_the_index_matches_too() -> None:
    label_map = LabelMap.build(["male", "female"], {"0": "man"})
    assert count_detections(dets("male", "female"), label_map) == {"man": 1}


def test_given_a_mapping_key_the_detector_lacks_when_building_then_a_clear_error_is_raised() -> None:
    with pytest.raises(LabelMapError, match="'persn' is not a detector class"):
        LabelMap.build(NAMES, {"persn": "person"})
