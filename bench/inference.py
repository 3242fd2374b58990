"""Inference throughput: bare model forward vs the whole ``detect()`` pipeline.

Run from the repository root::

    python -m bench.inference                       # the demo model
    python -m bench.inference yolo11n.torchscript   # plus any Ultralytics TorchScript export

For each model and batch size (1 and 4) it prints frames/s of ``model(x)`` on an already
letterboxed batch, frames/s of ``detect(frames)`` (letterbox + forward + decoding + NMS + box
mapping) on 320x240 synthetic frames, and their ratio; the goal is a ratio of at least 0.9, i.e.
pre- and post-processing cost under a tenth of the model itself.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from functools import partial

import torch

from core.settings import Settings
from inference.detector import Detector, letterbox, load_detector
from inference.synthetic import render

BATCHES = (1, 4)


def _rate(call: Callable[[], object], *, frames: int, seconds: float) -> float:
    for _ in range(3):  # warm-up: allocator, oneDNN kernels
        call()
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds or count < 5:
        call()
        count += 1
    return frames * count / elapsed


def bench(detector: Detector, *, seconds: float) -> list[tuple[int, float, float]]:
    """``(batch, forward fps, detect fps)`` for each batch size."""
    pool = [render(seed, 1_750_000_000 + seed).image for seed in range(max(BATCHES))]
    rows = []
    for batch in BATCHES:
        frames = pool[:batch]
        x = letterbox(frames, detector.imgsz).tensor
        forward = _rate(partial(detector.forward, x), frames=batch, seconds=seconds)
        detect = _rate(partial(detector.detect, frames), frames=batch, seconds=seconds)
        rows.append((batch, forward, detect))
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    """Print the table for the demo model and every model file given."""
    parser = argparse.ArgumentParser(description="inference throughput: forward vs detect()")
    parser.add_argument("models", nargs="*", help="Ultralytics TorchScript exports to measure too")
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per figure")
    args = parser.parse_args(argv)
    threads = Settings().torch_threads
    specs = ["demo", *args.models]
    print(f"torch {torch.__version__}, {threads or torch.get_num_threads()} CPU threads, frames 320x240")
    print(f"{'model':<28} {'imgsz':>9} {'batch':>5} {'forward f/s':>12} {'detect f/s':>11} {'ratio':>6}")
    for spec in specs:
        detector = load_detector(spec, torch_threads=threads)
        size = "x".join(map(str, detector.imgsz))
        for batch, forward, detect in bench(detector, seconds=args.seconds):
            name = detector.source[-28:]
            print(f"{name:<28} {size:>9} {batch:>5} {forward:>12.1f} {detect:>11.1f} {detect / forward:>6.2f}")


if __name__ == "__main__":
    main()
