"""The detector runtime: one interface over every model format the loaders know.

A loader (:mod:`inference.detectors.registry`) turns a model file into a :class:`Model` that takes
letterboxed RGB input at a fixed ``imgsz`` (pad 114, ``/255``, NCHW float32) and returns
``(B, 4 + nc, N)``: ``cx, cy, w, h`` in input pixels followed by per-class scores in ``[0, 1]``.
Pre- and post-processing are vectorised with torch: frames are letterboxed into one batch tensor,
candidates of the whole batch go through one class-aware, per-image ``batched_nms`` call, and boxes
are mapped back to each frame with tensor arithmetic.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray

from inference.detection import DEFAULT_CONFIDENCE, DEFAULT_IOU, Detection, DetectorError

Frame = NDArray[np.uint8]

MAX_DETECTIONS = 300
MAX_CANDIDATES = 30_000
PAD_VALUE = 114


@functools.cache
def _nms_kernel() -> Any:
    """torchvision's compiled NMS operator, loaded without importing the torchvision package.

    Importing `torchvision.ops` imports torchvision's model zoo and `torch._dynamo` (measured: 11 s
    on this project's 2-core machine under load, more than torch itself), which every worker start
    and restart paid for one function. The operator library is the same one torchvision loads."""
    spec = importlib.util.find_spec("torchvision")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in map(Path, folders):
        for library in sorted(folder.glob("_C_stable*.so")) + sorted(folder.glob("_C.*so")):
            torch.ops.load_library(str(library))  # type: ignore[no-untyped-call]
            return torch.ops.torchvision.nms
    from torchvision.ops import nms  # an unusual build: let torchvision find its kernel

    return nms


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, classes: torch.Tensor, iou: float) -> torch.Tensor:
    """Indices kept by per-class NMS, by score descending (torchvision's coordinate trick: boxes of
    different classes are moved apart so that one NMS call never suppresses across classes)."""
    if boxes.numel() == 0:
        return torch.empty((0,), dtype=torch.int64)
    offsets = classes.to(boxes) * (boxes.max() + 1)
    kept: torch.Tensor = _nms_kernel()(boxes + offsets[:, None], scores, iou)
    return kept


class Model(Protocol):
    """A callable module: a ``(B, 3, H, W)`` batch in, ``(B, 4 + nc, N)`` (or a tuple led by it) out."""

    def __call__(self, x: torch.Tensor) -> Any: ...


@dataclass(frozen=True)
class Letterboxed:
    """A batch ready for the model plus what is needed to map boxes back to each frame."""

    tensor: torch.Tensor  # (B, 3, H, W) float32 in [0, 1]
    gain: torch.Tensor  # (B,) resize factor per frame
    pad: torch.Tensor  # (B, 2) left, top padding per frame
    size: torch.Tensor  # (B, 2) frame width, height


def letterbox(frames: Sequence[Frame], imgsz: tuple[int, int]) -> Letterboxed:
    """Resize each RGB frame to fit ``imgsz`` (height, width), keep its aspect ratio, centre it
    on a pad-114 canvas and stack the batch as normalised NCHW float32 (Ultralytics' letterbox).

    Frames of the same size are resized and padded together, in uint8 like Ultralytics'
    ``cv2.resize``; the common case (all frames alike) costs four tensor operations."""
    height, width = imgsz
    gains, pads, sizes = [0.0] * len(frames), [(0, 0)] * len(frames), [(0, 0)] * len(frames)
    by_shape: dict[tuple[int, ...], list[int]] = {}
    for i, frame in enumerate(frames):
        _check_frame(frame)
        by_shape.setdefault(frame.shape, []).append(i)
    parts: list[torch.Tensor] = []
    for (h0, w0, _), group in by_shape.items():
        gain = min(height / h0, width / w0)
        new_w, new_h = round(w0 * gain), round(h0 * gain)
        left = round((width - new_w) / 2 - 0.1)
        top = round((height - new_h) / 2 - 0.1)
        stacked = np.stack([frames[i] for i in group]) if len(group) > 1 else frames[group[0]][None]
        images = torch.from_numpy(np.ascontiguousarray(stacked)).permute(0, 3, 1, 2)
        if (new_h, new_w) != (h0, w0):
            images = F.interpolate(images, size=(new_h, new_w), mode="bilinear", align_corners=False)
        border = (left, width - new_w - left, top, height - new_h - top)
        parts.append(F.pad(images, border, value=PAD_VALUE).div(255.0))
        for i in group:
            gains[i], pads[i], sizes[i] = gain, (left, top), (w0, h0)
    if len(parts) == 1:
        tensor = parts[0]
    else:
        order = torch.tensor([i for group in by_shape.values() for i in group])
        tensor = torch.empty((len(frames), 3, height, width))
        tensor[order] = torch.cat(parts)
    return Letterboxed(
        tensor=tensor,
        gain=torch.tensor(gains, dtype=torch.float32),
        pad=torch.tensor(pads, dtype=torch.float32).reshape(-1, 2),
        size=torch.tensor(sizes, dtype=torch.float32).reshape(-1, 2),
    )


def _check_frame(frame: Frame) -> None:
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"frames must be RGB uint8 HxWx3 arrays, got {frame.dtype} {frame.shape}")


def postprocess(
    output: torch.Tensor,
    boxed: Letterboxed,
    *,
    confidence: torch.Tensor,
    iou: float,
    max_detections: int = MAX_DETECTIONS,
) -> list[torch.Tensor]:
    """Decode ``(B, 4 + nc, N)`` model output into one ``(K, 6)`` tensor per frame:
    ``x1, y1, x2, y2`` in frame pixels, score, class index; sorted by score, at most
    ``max_detections`` each. ``confidence`` holds one threshold per frame."""
    batch, channels = output.shape[:2]
    output = output.float()
    scores, classes = output[:, 4:].max(dim=1)  # (B, N): reduce in the export's own layout
    keep = scores > confidence.reshape(-1, 1)
    image_idx, anchor_idx = keep.nonzero(as_tuple=True)
    if image_idx.numel() > MAX_CANDIDATES:
        top = scores[image_idx, anchor_idx].topk(MAX_CANDIDATES).indices
        image_idx, anchor_idx = image_idx[top], anchor_idx[top]
    boxes = _xywh_to_xyxy(output[:, :4].permute(0, 2, 1)[image_idx, anchor_idx])  # candidates only
    score = scores[image_idx, anchor_idx]
    cls = classes[image_idx, anchor_idx]
    nc = channels - 4
    kept = batched_nms(boxes, score, image_idx * nc + cls, iou)  # sorted by score, descending
    boxes, score, cls, image_idx = boxes[kept], score[kept], cls[kept], image_idx[kept]
    boxes = _unletterbox(boxes, boxed, image_idx)
    rows = torch.cat([boxes, score[:, None], cls[:, None].float()], dim=1)
    order = torch.sort(image_idx, stable=True).indices  # group by frame, keep score order within
    per_frame = torch.bincount(image_idx, minlength=batch).tolist()
    return [part[:max_detections] for part in torch.split(rows[order], per_frame)]


def _xywh_to_xyxy(xywh: torch.Tensor) -> torch.Tensor:
    centre, half = xywh[:, :2], xywh[:, 2:] / 2
    return torch.cat([centre - half, centre + half], dim=1)


def _unletterbox(boxes: torch.Tensor, boxed: Letterboxed, image_idx: torch.Tensor) -> torch.Tensor:
    pad = boxed.pad[image_idx].repeat(1, 2)
    gain = boxed.gain[image_idx, None]
    limit = boxed.size[image_idx].repeat(1, 2)
    mapped = (boxes - pad) / gain
    return torch.minimum(mapped.clamp(min=0), limit)


class Detector:
    """A loaded model with its class names and input size; thread-safe ``detect``."""

    def __init__(self, model: Model, *, names: Sequence[str], imgsz: tuple[int, int], source: str) -> None:
        self._model = model
        self.names: list[str] = list(names)
        self.imgsz = imgsz
        self.source = source

    def __repr__(self) -> str:
        return f"Detector({self.source!r}, classes={len(self.names)}, imgsz={self.imgsz})"

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        """The bare model call on a prepared ``(B, 3, H, W)`` batch (used by the benchmark)."""
        with torch.inference_mode():
            return first_tensor(self._model(batch))

    def detect(
        self,
        frames: Sequence[Frame],
        *,
        confidence: float | Sequence[float] = DEFAULT_CONFIDENCE,
        iou: float | Sequence[float] = DEFAULT_IOU,
    ) -> list[list[Detection]]:
        """Detect objects in RGB uint8 frames of any sizes, in one batched forward pass.

        ``confidence`` and ``iou`` are one value for all frames or one per frame. Returns, per
        frame, detections sorted by score with boxes in that frame's pixels."""
        if not frames:
            return []
        confidences = _per_frame(confidence, len(frames), "confidence")
        ious = _per_frame(iou, len(frames), "iou")
        boxed = letterbox(frames, self.imgsz)
        with torch.inference_mode():
            output = first_tensor(self._model(boxed.tensor))
            rows: list[torch.Tensor | None] = [None] * len(frames)
            for value in sorted(set(ious)):
                group = [i for i, v in enumerate(ious) if v == value]
                subset = _subset(boxed, group)
                decoded = postprocess(
                    output[group], subset, confidence=torch.tensor([confidences[i] for i in group]), iou=value
                )
                for i, tensor in zip(group, decoded, strict=True):
                    rows[i] = tensor
        return [self._to_detections(r) for r in rows if r is not None]

    def _to_detections(self, rows: torch.Tensor) -> list[Detection]:
        names = self.names
        return [Detection(label=names[int(c)], score=s, box=(x1, y1, x2, y2)) for x1, y1, x2, y2, s, c in rows.tolist()]


def _subset(boxed: Letterboxed, group: list[int]) -> Letterboxed:
    if len(group) == boxed.gain.shape[0]:
        return boxed
    return Letterboxed(boxed.tensor[group], boxed.gain[group], boxed.pad[group], boxed.size[group])


def _per_frame(value: float | Sequence[float], count: int, what: str) -> list[float]:
    if isinstance(value, int | float):
        return [float(value)] * count
    values = [float(v) for v in value]
    if len(values) != count:
        raise ValueError(f"{what}: expected {count} values (one per frame), got {len(values)}")
    return values


def first_tensor(output: Any) -> torch.Tensor:
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, list | tuple) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    raise DetectorError(f"unexpected model output type {type(output).__name__}")
