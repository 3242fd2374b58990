"""The demo detector: a tiny CenterNet-style network for the synthetic shop.

The backbone downsamples to stride 16 for context, a small top-down path brings features back to
stride 4, and the head predicts per cell: one heat-map logit per class, the box size (log units
of the stride) and the sub-cell centre offset. :meth:`DemoNet.forward` turns that into the same
contract as an Ultralytics YOLO export -- ``(B, 4 + nc, N)`` with ``cx, cy, w, h`` in input
pixels and class scores in ``[0, 1]`` -- keeping only local maxima of the heat map (CenterNet's
3x3 peak extraction), so the shared decoder in :mod:`inference.detectors.runtime` handles both formats.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from inference.detection import DEMO_DETECTOR, DetectorError
from inference.detectors.runtime import Detector
from inference.synthetic import CLASSES

WEIGHTS = Path(__file__).with_name("demo.pt")
IMGSZ = (128, 160)  # height, width: a 320x240 frame is letterboxed at half resolution
STRIDE = 4
FORMAT = "bangguseok-demo/1"


def _conv(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class DemoNet(nn.Module):
    """Stride-4 CenterNet-style detector with a YOLO-export-compatible ``forward``."""

    def __init__(self, num_classes: int = len(CLASSES)) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.stem = _conv(3, 16, 2)
        self.s4 = nn.Sequential(_conv(16, 32, 2), _conv(32, 32))
        self.s8 = nn.Sequential(_conv(32, 64, 2), _conv(64, 64))
        self.s16 = nn.Sequential(_conv(64, 96, 2), _conv(96, 96))
        self.lat16 = nn.Conv2d(96, 64, 1)
        self.fuse8 = _conv(64, 64)
        self.lat8 = nn.Conv2d(64, 32, 1)
        self.fuse4 = _conv(32, 32)
        classifier = nn.Conv2d(32, num_classes + 4, 1)
        assert classifier.bias is not None
        with torch.no_grad():
            classifier.bias[:num_classes].fill_(-2.19)  # prior 0.1: stable focal-loss start
        self.head = nn.Sequential(_conv(32, 32), classifier)

    def raw(self, x: torch.Tensor) -> torch.Tensor:
        """Head output ``(B, nc + 4, H/4, W/4)``: class logits, log w, log h, offset x, offset y."""
        c4 = self.s4(self.stem(x))
        c8 = self.s8(c4)
        c16 = self.s16(c8)
        p8 = self.fuse8(c8 + nn.functional.interpolate(self.lat16(c16), scale_factor=2.0, mode="nearest"))
        p4 = self.fuse4(c4 + nn.functional.interpolate(self.lat8(p8), scale_factor=2.0, mode="nearest"))
        out: torch.Tensor = self.head(p4)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Boxes and scores in the Ultralytics export layout ``(B, 4 + nc, N)``."""
        raw = self.raw(x)
        b, _, h, w = raw.shape
        nc = self.num_classes
        heat = raw[:, :nc].sigmoid()
        peaks = heat * (nn.functional.max_pool2d(heat, 3, stride=1, padding=1) == heat)
        gy, gx = torch.meshgrid(
            torch.arange(h, dtype=raw.dtype, device=raw.device),
            torch.arange(w, dtype=raw.dtype, device=raw.device),
            indexing="ij",
        )
        cx = (gx + raw[:, nc + 2]) * STRIDE
        cy = (gy + raw[:, nc + 3]) * STRIDE
        bw = raw[:, nc].clamp(max=6.0).exp() * STRIDE
        bh = raw[:, nc + 1].clamp(max=6.0).exp() * STRIDE
        boxes = torch.stack([cx, cy, bw, bh], dim=1)
        return torch.cat([boxes, peaks], dim=1).reshape(b, 4 + nc, h * w)


def load_demo(path: Path = WEIGHTS) -> Detector:
    """Load demo-format weights (default: the bundled ``demo.pt``) as a :class:`Detector`."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise DetectorError(f"demo weights not found at {path}: run `python -m inference.demo.train`") from exc
    except (RuntimeError, ValueError, EOFError, OSError, pickle.UnpicklingError) as exc:
        raise DetectorError(f"cannot load {path.name}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise DetectorError(f"{path.name} is neither a TorchScript export nor a demo checkpoint")
    names = [str(n) for n in checkpoint["names"]]
    model = DemoNet(num_classes=len(names))
    model.load_state_dict(checkpoint["state_dict"])
    model.eval()
    fuse_batch_norm(model)
    height, width = (int(v) for v in checkpoint["imgsz"])
    return Detector(model, names=names, imgsz=(height, width), source=DEMO_DETECTOR)


def fuse_batch_norm(model: nn.Module) -> None:
    """Fold every eval-mode ``Conv2d`` + ``BatchNorm2d`` pair into the convolution (same outputs,
    one pass less per layer: about a tenth of the CPU time of inference)."""
    for module in model.modules():
        if isinstance(module, nn.Sequential) and len(module) >= 2:
            conv, norm = module[0], module[1]
            if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d):
                module[0] = fuse_conv_bn_eval(conv, norm)
                module[1] = nn.Identity()


def save_demo(model: DemoNet, path: Path = WEIGHTS) -> None:
    """Save weights in the demo checkpoint format."""
    state = model.state_dict()
    torch.save({"format": FORMAT, "names": list(CLASSES), "imgsz": list(IMGSZ), "state_dict": state}, path)
