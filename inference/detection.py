"""What a detector finds, in plain Python: importable without PyTorch or NumPy.

The camera registry (read by the API process), counting and the stored briefings use these; the
detectors themselves live in :mod:`inference.detectors`.
"""

from __future__ import annotations

from dataclasses import dataclass

Box = tuple[float, float, float, float]
"""``(x1, y1, x2, y2)`` in frame pixels."""

DEFAULT_CONFIDENCE = 0.25
DEFAULT_IOU = 0.45
DEMO_DETECTOR = "demo"
"""The detector spec of the bundled demo model (:mod:`inference.demo`)."""


class DetectorError(Exception):
    """A model file that cannot be loaded or understood."""


@dataclass(frozen=True, slots=True)
class Detection:
    """One detected object: class label, confidence and its box in frame pixels."""

    label: str
    score: float
    box: Box
