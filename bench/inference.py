"""Inference throughput: bare model forward vs the whole ``detect()`` pipeline.

Run from the repository root::

    python -m bench.inference                       # the demo model
    python -m bench.inference yolo11n.torchscript   # plus any Ultralytics TorchScript export

For each model and batch size (1 and 4) it prints frames/s of ``model(x)`` on an already
letterboxed batch, frames/s of ``detect(frames)`` (letterbox + forward + decoding + NMS + box
mapping) on 320x240 synthetic frames, and their ratio; the goal is a ratio of at least 0.9, i.e.
pre- and post-processing cost under a tenth of the model itself. Figures are the best of many
short interleaved rounds, so a busy machine lowers both alike instead of skewing the ratio.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from functools import partial

import torch

from core.settings import Settings
from inference.detectors.registry import load_detector
from inference.detectors.runtime import Detector, letterbox
from inference.synthetic import render

BATCHES = (1, 4)
ROUND = 5


def _best_rates(calls: Sequence[Callable[[], object]], *, frames: int, seconds: float) -> list[float]:
    """Frames/s of each call, from its fastest round of a few calls. Rounds of the calls are
    interleaved, so both see the same machine; the best round filters out other load."""
    for call in calls:  # warm-up: allocator, oneDNN kernels
        for _ in range(3):
            call()
    best = [float("inf")] * len(calls)
    started = time.perf_counter()
    rounds = 0
    while time.perf_counter() - started < seconds or rounds < 5:
        for k, call in enumerate(calls):
            begin = time.perf_counter()
            for _ in range(ROUND):
                call()
            best[k] = min(best[k], (time.perf_counter() - begin) / ROUND)
        rounds += 1
    return [frames / b for b in best]


def bench(detector: Detector, *, seconds: float) -> list[tuple[int, float, float]]:
    """``(batch, forward fps, detect fps)`` for each batch size."""
    pool = [render(seed, 1_750_000_000 + seed).image for seed in range(max(BATCHES))]
    rows = []
    for batch in BATCHES:
        frames = pool[:batch]
        x = letterbox(frames, detector.imgsz).tensor
        forward, detect = _best_rates(
            [partial(detector.forward, x), partial(detector.detect, frames)], frames=batch, seconds=seconds
        )
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
