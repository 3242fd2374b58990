"""Default detection thresholds, shared by the camera registry and the detector.

Kept apart from the detector so that reading the camera registry (which the API process does)
never imports PyTorch.
"""

DEFAULT_CONFIDENCE = 0.25
DEFAULT_IOU = 0.45
