"""The detector interface: Ultralytics TorchScript decoding, NMS and box mapping."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from inference.detection import Detection, DetectorError
from inference.detectors.registry import load_detector
from inference.detectors.runtime import letterbox

ROOT = Path(__file__).resolve().parents[2]

# Crafted predictions in 64x64 input pixels: (cx, cy, w, h, score class 0, score class 1).
_PREDICTIONS = [
    (20.0, 30.0, 10.0, 8.0, 0.9, 0.0),  # A: person
    (21.0, 30.0, 10.0, 8.0, 0.8, 0.1),  # B: person, IoU 0.82 with A -> suppressed
    (20.0, 30.0, 10.0, 8.0, 0.0, 0.7),  # C: bag on A -> kept (NMS is per class)
    (40.0, 10.0, 10.0, 8.0, 0.1, 0.2),  # D: below confidence 0.25
    (50.0, 40.0, 20.0, 10.0, 0.5, 0.0),  # E: person
    (62.0, 20.0, 8.0, 10.0, 0.0, 0.6),  # F: bag, partly outside the picture -> clipped
]


class _Crafted(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("out", torch.tensor(_PREDICTIONS).T.unsqueeze(0).contiguous())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        torch._assert(x.shape[1] == 3 and x.shape[2] == 64 and x.shape[3] == 64, "input must be letterboxed")
        return self.out.expand(x.shape[0], -1, -1)  # type: ignore[operator]


@pytest.fixture(scope="module")
def crafted_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "crafted.torchscript"
    config = {"names": {"0": "person", "1": "bag"}, "imgsz": [64, 64], "stride": 32, "task": "detect"}
    torch.jit.save(torch.jit.script(_Crafted()), str(path), _extra_files={"config.txt": json.dumps(config)})
    return path


def _rows(detections: list[Detection]) -> list[tuple[str, float, tuple[float, ...]]]:
    return [(d.label, round(d.score, 4), tuple(round(v, 4) for v in d.box)) for d in detections]


def test_given_a_yolo_torchscript_export_when_loaded_then_names_and_imgsz_come_from_config(
    crafted_export: Path,
) -> None:
    detector = load_detector(str(crafted_export))
    assert detector.names == ["person", "bag"]
    assert detector.imgsz == (64, 64)


def test_given_a_wide_frame_when_detecting_then_boxes_are_decoded_suppressed_and_unletterboxed(
    crafted_export: Path,
) -> None:
    detector = load_detector(str(crafted_export))
    frame = np.zeros((16, 32, 3), dtype=np.uint8)  # gain 2, letterbox pads 16 rows on top
    [detections] = detector.detect([frame])
    assert _rows(detections) == [
        ("person", 0.9, (7.5, 5.0, 12.5, 9.0)),
        ("bag", 0.7, (7.5, 5.0, 12.5, 9.0)),
        ("bag", 0.6, (29.0, 0.0, 32.0, 4.5)),
        ("person", 0.5, (20.0, 9.5, 30.0, 14.5)),
    ]


def test_given_a_batch_of_different_sizes_when_detecting_then_each_frame_gets_its_own_mapping(
    crafted_export: Path,
) -> None:
    detector = load_detector(str(crafted_export))
    wide = np.zeros((16, 32, 3), dtype=np.uint8)
    square = np.zeros((128, 128, 3), dtype=np.uint8)  # gain 0.5, no padding
    tall = np.zeros((64, 32, 3), dtype=np.uint8)  # gain 1, letterbox pads 16 columns on the left
    wide_dets, square_dets, tall_dets = detector.detect([wide, square, tall])
    assert _rows(wide_dets)[0] == ("person", 0.9, (7.5, 5.0, 12.5, 9.0))
    assert _rows(square_dets)[0] == ("person", 0.9, (30.0, 52.0, 50.0, 68.0))
    assert _rows(square_dets)[2] == ("bag", 0.6, (116.0, 30.0, 128.0, 50.0))
    assert _rows(tall_dets)[0] == ("person", 0.9, (0.0, 26.0, 9.0, 34.0))


def test_given_per_frame_thresholds_when_detecting_then_each_frame_uses_its_own(crafted_export: Path) -> None:
    detector = load_detector(str(crafted_export))
    frame = np.zeros((64, 64, 3), dtype=np.uint8)
    strict, loose = detector.detect([frame, frame], confidence=[0.65, 0.15], iou=[0.45, 0.9])
    assert [d.score for d in strict] == pytest.approx([0.9, 0.7])
    assert [d.score for d in loose] == pytest.approx([0.9, 0.8, 0.7, 0.6, 0.5, 0.2])


def test_given_a_frame_when_letterboxed_then_content_is_centred_on_pad_114() -> None:
    frame = np.full((16, 32, 3), 255, dtype=np.uint8)
    boxed = letterbox([frame], (64, 64))
    assert boxed.tensor.shape == (1, 3, 64, 64)
    assert boxed.tensor[0, :, :16].eq(114 / 255).all()
    assert boxed.tensor[0, :, 48:].eq(114 / 255).all()
    assert boxed.tensor[0, :, 16:48].eq(1.0).all()
    assert boxed.pad.tolist() == [[0.0, 16.0]]
    assert boxed.gain.tolist() == [2.0]


def test_given_a_torchscript_without_config_when_loading_then_a_clear_error_is_raised(tmp_path: Path) -> None:
    path = tmp_path / "plain.torchscript"
    torch.jit.save(torch.jit.script(_Crafted()), str(path))
    with pytest.raises(DetectorError, match=r"config\.txt"):
        load_detector(str(path))


def test_given_a_missing_file_when_loading_then_a_clear_error_is_raised(tmp_path: Path) -> None:
    with pytest.raises(DetectorError, match="not found"):
        load_detector(str(tmp_path / "nope.pt"))


def test_detecting_loads_the_nms_kernel_without_importing_the_torchvision_package() -> None:
    # given a fresh process (torchvision's package import costs seconds of worker start-up)
    script = (
        "import sys\n"
        "from datetime import UTC, datetime\n"
        "from inference.detectors.registry import load_detector\n"
        "from inference.synthetic import render\n"
        "frame = render(7, datetime(2026, 1, 1, tzinfo=UTC))\n"
        "found = load_detector('demo').detect([frame.image])[0]\n"
        "print(len(found), sum(frame.counts().values()), 'torchvision' in sys.modules)\n"
    )
    # when it detects people with the demo model
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    # then it found them through torchvision's kernel, and the torchvision package was never imported
    assert done.returncode == 0, done.stderr
    found, truth, imported = done.stdout.split()
    assert found == truth and imported == "False"
