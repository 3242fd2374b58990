"""Train the demo detector on synthetic shop frames: ``python -m inference.demo.train``.

CPU only, fixed seed. Training frames come from cameras ``synthetic:<seed>`` with seeds in
:data:`TRAIN_SEEDS` (one frame per seed, at a time derived from the seed); evaluation uses seeds
in :data:`HELDOUT_SEEDS`, which training never sees. The metric is exact per-class count
accuracy: a frame is correct only if the number of detected ``male`` and of ``female`` people
both equal the ground truth.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from inference.counting import LabelMap, count_detections
from inference.demo.model import IMGSZ, STRIDE, WEIGHTS, DemoNet, load_demo, save_demo
from inference.detectors.runtime import Detector, letterbox
from inference.synthetic import CLASSES, SyntheticFrame, render

TRAIN_SEEDS = range(0, 100_000)
HELDOUT_SEEDS = range(1_000_000, 1_000_500)
_TRAIN_EPOCH = 1_700_000_000
_HELDOUT_EPOCH = 1_750_000_000


def train_time(seed: int) -> int:
    """The time (epoch seconds) of the training frame drawn from camera ``synthetic:<seed>``."""
    return _TRAIN_EPOCH + (seed * 7919) % 5_000_000


def heldout_time(seed: int) -> int:
    """The time of the held-out evaluation frame of camera ``synthetic:<seed>``."""
    return _HELDOUT_EPOCH + (seed * 104_729) % 5_000_000


@dataclass
class Dataset:
    """Letterboxed inputs with CenterNet targets at stride 4."""

    images: torch.Tensor  # (N, 3, H, W) float16
    heat: torch.Tensor  # (N, nc, h, w) float16 gaussian peaks
    reg: torch.Tensor  # (N, 4, h, w) log w, log h, offset x, offset y (in strides)
    mask: torch.Tensor  # (N, h, w) bool: cells where box regression is trained


def build_dataset(seeds: Sequence[int], *, chunk: int = 256) -> Dataset:
    """Render one training frame per seed and build its targets."""
    parts: list[Dataset] = []
    for start in range(0, len(seeds), chunk):
        frames = [render(s, train_time(s)) for s in seeds[start : start + chunk]]
        parts.append(_encode(frames))
    return Dataset(*(torch.cat([getattr(p, f) for p in parts]) for f in ("images", "heat", "reg", "mask")))


def _encode(frames: Sequence[SyntheticFrame]) -> Dataset:
    boxed = letterbox([f.image for f in frames], IMGSZ)
    gh, gw = IMGSZ[0] // STRIDE, IMGSZ[1] // STRIDE
    heat = torch.zeros(len(frames), len(CLASSES), gh, gw)
    reg = torch.zeros(len(frames), 4, gh, gw)
    mask = torch.zeros(len(frames), gh, gw, dtype=torch.bool)
    ys, xs = torch.meshgrid(torch.arange(gh).float(), torch.arange(gw).float(), indexing="ij")
    for i, frame in enumerate(frames):
        gain, (left, top) = float(boxed.gain[i]), boxed.pad[i].tolist()
        for obj in frame.objects:
            x1, y1, x2, y2 = obj.box
            cx, cy = ((x1 + x2) / 2 * gain + left) / STRIDE, ((y1 + y2) / 2 * gain + top) / STRIDE
            w, h = (x2 - x1) * gain / STRIDE, (y2 - y1) * gain / STRIDE
            sx, sy = max(0.6, w / 5), max(0.8, h / 6)
            ix, iy = min(gw - 1, int(cx)), min(gh - 1, int(cy))
            g = torch.exp(-((xs - ix) ** 2) / (2 * sx**2) - ((ys - iy) ** 2) / (2 * sy**2))
            c = CLASSES.index(obj.label)
            heat[i, c] = torch.maximum(heat[i, c], g)
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    jx, jy = ix + dx, iy + dy
                    if 0 <= jx < gw and 0 <= jy < gh:
                        reg[i, :, jy, jx] = torch.tensor([math.log(w), math.log(h), cx - jx, cy - jy])
                        mask[i, jy, jx] = True
    return Dataset(boxed.tensor.half(), heat.half(), reg.half(), mask)


def loss_fn(raw: torch.Tensor, heat: torch.Tensor, reg: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """CenterNet loss: penalty-reduced focal loss on the heat map, L1 on sizes and offsets."""
    nc = heat.shape[1]
    logits = raw[:, :nc].float()
    pred = logits.sigmoid().clamp(1e-4, 1 - 1e-4)
    pos = heat.eq(1).float()
    pos_loss = -(torch.log(pred) * (1 - pred) ** 2 * pos).sum()
    neg_loss = -(torch.log(1 - pred) * pred**2 * (1 - heat) ** 4 * (1 - pos)).sum()
    num_pos = pos.sum().clamp(min=1)
    focal = (pos_loss + neg_loss) / num_pos
    m = mask.unsqueeze(1).float()
    l1 = (F.l1_loss(raw[:, nc:].float(), reg, reduction="none") * m).sum() / m.sum().clamp(min=1)
    return focal + l1


def train(*, samples: int, epochs: int, batch: int, seed: int) -> DemoNet:
    """Train from scratch and return the model in eval mode."""
    torch.manual_seed(seed)
    started = time.perf_counter()
    data = build_dataset(TRAIN_SEEDS[:samples])
    print(f"dataset: {samples} frames in {time.perf_counter() - started:.0f}s", flush=True)
    model = DemoNet().to(memory_format=torch.channels_last)  # faster convolutions on CPU
    steps = epochs * math.ceil(samples / batch)
    optim = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(optim, max_lr=3e-3, total_steps=steps, pct_start=0.1)
    generator = torch.Generator().manual_seed(seed)
    step = 0
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(samples, generator=generator)
        total = 0.0
        for idx in torch.split(order, batch):
            flip = bool(torch.rand(1, generator=generator) < 0.5)
            images, heat, reg, mask = _batch(data, idx, flip=flip)
            loss = loss_fn(model.raw(images.contiguous(memory_format=torch.channels_last)), heat, reg, mask)
            optim.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            optim.step()
            sched.step()
            total += float(loss.detach())
            step += 1
        print(
            f"epoch {epoch + 1}/{epochs} loss {total / math.ceil(samples / batch):.4f} "
            f"({time.perf_counter() - started:.0f}s)",
            flush=True,
        )
    return model.eval()


def _batch(data: Dataset, idx: torch.Tensor, *, flip: bool) -> tuple[torch.Tensor, ...]:
    images, heat = data.images[idx].float(), data.heat[idx].float()
    reg, mask = data.reg[idx].float(), data.mask[idx]
    if flip:  # mirror the scene; offsets are measured from the mirrored cell's left edge
        images, heat, mask = images.flip(-1), heat.flip(-1), mask.flip(-1)
        reg = reg.flip(-1)
        reg[:, 2] = 1.0 - reg[:, 2]
    return images, heat, reg, mask


def evaluate(detector: Detector, seeds: Iterable[int] = HELDOUT_SEEDS, *, batch: int = 50) -> float:
    """Exact per-class count accuracy of ``detector`` on held-out synthetic frames."""
    seeds = list(seeds)
    label_map = LabelMap.build(detector.names, None)
    correct = 0
    for start in range(0, len(seeds), batch):
        frames = [render(s, heldout_time(s)) for s in seeds[start : start + batch]]
        results = detector.detect([f.image for f in frames])
        for frame, detections in zip(frames, results, strict=True):
            correct += count_detections(detections, label_map) == frame.counts()
    return correct / len(seeds)


def main(argv: Sequence[str] | None = None) -> None:
    """Train, save ``inference/demo/demo.pt`` and report held-out accuracy."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=12_000)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    model = train(samples=args.samples, epochs=args.epochs, batch=args.batch, seed=args.seed)
    save_demo(model.to(memory_format=torch.contiguous_format), WEIGHTS)
    print(f"saved {WEIGHTS} ({WEIGHTS.stat().st_size / 1e6:.2f} MB) after {time.perf_counter() - started:.0f}s")
    accuracy = evaluate(load_demo(WEIGHTS))
    print(f"held-out exact count accuracy: {accuracy:.2%} on {len(HELDOUT_SEEDS)} frames")
    print(f"total time {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
